package scenario

import (
	"sort"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Truth is what really happened, folded by the stats' definitions
// independently of Siyu's code: a customer is live while they have at
// least one relationship no deletion ended; a day is a calendar day in Loc.
// Events are applied in time order.
type Truth struct {
	Loc *time.Location
	// live is customer → member → channel of each live relationship.
	live     map[string]map[string]string
	nLive    int64
	cur      calendar.Day
	Days     map[string]*Day
	Members  map[string]map[string]*Flows // date → member → flows
	Channels map[string]map[string]*Flows // date → channel → flows
	// newAt and lostAt are when a customer last became new and was lost.
	newAt  map[string]time.Time
	lostAt map[string]time.Time
	// groups is chat → member count now; GroupDays date → chat → day.
	groups    map[string]int64
	GroupDays map[string]map[string]*GroupDay
	// Welcomes are the welcome codes of add events, by code.
	Welcomes map[string]Welcome
}

// Welcome is a welcome code an add event carried.
type Welcome struct {
	Code, Member, Customer string
	At                     time.Time
	// Lost: its callback never reached Siyu (the code cannot be used).
	Lost bool
}

// Relationships counts relationship events.
type Relationships struct {
	Added             int64 `json:"added"`
	DeletedByCustomer int64 `json:"deleted_by_customer"`
	DeletedByMember   int64 `json:"deleted_by_member"`
}

// Day is the brand's day.
type Day struct {
	Date             string        `json:"date"`
	CustomersStart   int64         `json:"customers_start"`
	NewCustomers     int64         `json:"new_customers"`
	LostCustomers    int64         `json:"lost_customers"`
	RemovedCustomers int64         `json:"removed_customers"`
	CustomersEnd     int64         `json:"customers_end"`
	Relationships    Relationships `json:"relationships"`
	Reconciled       int64         `json:"reconciled"`
}

// Flows is a member's or a channel's day.
type Flows struct {
	NewCustomers     int64         `json:"new_customers"`
	LostCustomers    int64         `json:"lost_customers"`
	RemovedCustomers int64         `json:"removed_customers"`
	Relationships    Relationships `json:"relationships"`
	Reconciled       int64         `json:"reconciled"`
}

// Cohort is the early churn of one day's new customers.
type Cohort struct {
	Date         string `json:"date"`
	NewCustomers int64  `json:"new_customers"`
	Lost1d       int64  `json:"lost_1d"`
	Lost7d       int64  `json:"lost_7d"`
	Lost30d      int64  `json:"lost_30d"`
}

// GroupDay is one customer group's day.
type GroupDay struct {
	MembersStart int64 `json:"members_start"`
	Joins        int64 `json:"joins"`
	QuitsSelf    int64 `json:"quits_self"`
	QuitsRemoved int64 `json:"quits_removed"`
	MembersEnd   int64 `json:"members_end"`
}

func newTruth(loc *time.Location) *Truth {
	return &Truth{Loc: loc, live: map[string]map[string]string{}, Days: map[string]*Day{},
		Members: map[string]map[string]*Flows{}, Channels: map[string]map[string]*Flows{},
		newAt: map[string]time.Time{}, lostAt: map[string]time.Time{},
		groups: map[string]int64{}, GroupDays: map[string]map[string]*GroupDay{}, Welcomes: map[string]Welcome{}}
}

// baseline sets a relationship that existed before the first day.
func (t *Truth) baseline(member, customer, channel string) {
	if len(t.live[customer]) == 0 {
		t.nLive++
		t.live[customer] = map[string]string{}
	}
	t.live[customer][member] = channel
}

// day returns date's row, opening every day up to it.
func (t *Truth) day(at time.Time) *Day {
	d := calendar.Of(at, t.Loc)
	if t.cur.IsZero() {
		t.cur = d
		t.open(d)
	}
	for t.cur.Before(d) {
		t.cur = t.cur.AddDays(1)
		t.open(t.cur)
	}
	return t.Days[d.String()]
}

func (t *Truth) open(d calendar.Day) {
	k := d.String()
	t.Days[k] = &Day{Date: k, CustomersStart: t.nLive, CustomersEnd: t.nLive}
	gd := map[string]*GroupDay{}
	for chat, n := range t.groups {
		gd[chat] = &GroupDay{MembersStart: n, MembersEnd: n}
	}
	t.GroupDays[k] = gd
}

// CloseThrough opens every day through d (days without events).
func (t *Truth) CloseThrough(d calendar.Day) { t.day(d.Start(t.Loc)) }

func flows(m map[string]map[string]*Flows, date, key string) *Flows {
	if m[date] == nil {
		m[date] = map[string]*Flows{}
	}
	if m[date][key] == nil {
		m[date][key] = &Flows{}
	}
	return m[date][key]
}

// Apply folds one event that took effect at at (its CreateTime, or the
// nightly sync's time for a reconciled one).
func (t *Truth) Apply(ev wecom.Event, at time.Time, reconciled bool) {
	d := t.day(at)
	date := d.Date
	if ev.Event == wecom.EventExternalChat {
		g := t.GroupDays[date][ev.ChatID]
		if g == nil {
			g = &GroupDay{}
			t.GroupDays[date][ev.ChatID] = g
		}
		switch ev.UpdateDetail {
		case wecom.DetailAddMember:
			g.Joins++
			t.groups[ev.ChatID]++
		case wecom.DetailDelMember:
			if ev.QuitScene == 1 {
				g.QuitsRemoved++
			} else {
				g.QuitsSelf++
			}
			t.groups[ev.ChatID]--
		}
		g.MembersEnd = t.groups[ev.ChatID]
		return
	}
	m, c := ev.UserID, ev.ExternalUserID
	rels := t.live[c]
	switch ev.ChangeType {
	case wecom.ChangeAddExternalContact:
		if _, ok := rels[m]; ok {
			return
		}
		if len(rels) == 0 {
			rels = map[string]string{}
			t.live[c] = rels
		}
		wasLive := len(rels) > 0
		rels[m] = ev.State
		mf, cf := flows(t.Members, date, m), flows(t.Channels, date, ev.State)
		d.Relationships.Added++
		mf.Relationships.Added++
		cf.Relationships.Added++
		if reconciled {
			d.Reconciled++
			mf.Reconciled++
			cf.Reconciled++
		}
		if !wasLive {
			t.nLive++
			d.NewCustomers++
			mf.NewCustomers++
			cf.NewCustomers++
			t.newAt[c] = at
			delete(t.lostAt, c)
		}
	case wecom.ChangeDelFollowUser, wecom.ChangeDelExternalContact:
		ch, ok := rels[m]
		if !ok {
			return
		}
		delete(rels, m)
		transfer := ev.Source == wecom.SourceDeleteByTransfer
		byCustomer := ev.ChangeType == wecom.ChangeDelFollowUser
		mf, cf := flows(t.Members, date, m), flows(t.Channels, date, ch)
		switch {
		case transfer:
		case byCustomer:
			d.Relationships.DeletedByCustomer++
			mf.Relationships.DeletedByCustomer++
			cf.Relationships.DeletedByCustomer++
		default:
			d.Relationships.DeletedByMember++
			mf.Relationships.DeletedByMember++
			cf.Relationships.DeletedByMember++
		}
		if reconciled {
			d.Reconciled++
			mf.Reconciled++
			cf.Reconciled++
		}
		if len(rels) > 0 || transfer {
			return
		}
		t.nLive--
		if byCustomer {
			d.LostCustomers++
			mf.LostCustomers++
			cf.LostCustomers++
			t.lostAt[c] = at
		} else {
			d.RemovedCustomers++
			mf.RemovedCustomers++
			cf.RemovedCustomers++
		}
	}
	d.CustomersEnd = t.nLive
}

// Cohorts is the early churn of each day's new customers, counting the
// losses before until (the end of the last day rolled up: a loss in the
// minutes after midnight belongs to a day not rolled up yet).
func (t *Truth) Cohorts(until time.Time) map[string]*Cohort {
	out := map[string]*Cohort{}
	for date := range t.Days {
		out[date] = &Cohort{Date: date}
	}
	for c, at := range t.newAt {
		date := calendar.Of(at, t.Loc).String()
		co := out[date]
		if co == nil {
			continue
		}
		co.NewCustomers++
		lost, ok := t.lostAt[c]
		if !ok || !lost.Before(until) {
			continue
		}
		age := lost.Sub(at)
		if age < 24*time.Hour {
			co.Lost1d++
		}
		if age < 7*24*time.Hour {
			co.Lost7d++
		}
		if age < 30*24*time.Hour {
			co.Lost30d++
		}
	}
	return out
}

// Dates lists the days applied, oldest first.
func (t *Truth) Dates() []string {
	out := make([]string, 0, len(t.Days))
	for d := range t.Days {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// LiveCustomers is how many customers have a live relationship now.
func (t *Truth) LiveCustomers() int64 { return t.nLive }

// LiveMembers is the members (and the channel of each) a customer has a
// live relationship with now; empty when the customer is not live.
func (t *Truth) LiveMembers(customer string) map[string]string { return t.live[customer] }

// EachLive calls fn for every customer live now.
func (t *Truth) EachLive(fn func(customer string)) {
	for c, rels := range t.live {
		if len(rels) > 0 {
			fn(c)
		}
	}
}
