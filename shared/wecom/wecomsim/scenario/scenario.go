// Package scenario generates a brand's life on the WeCom simulator, seeded
// and deterministic, and keeps its ground truth: members, departments,
// channels (contact ways), customer groups and tags; day after day, adds
// through the channels (campaign spikes), deletions by customers (more in
// the first days after adding), deletions by members, transfers (the two
// events at one instant or across midnight), group joins and quits, and the
// posts a brand schedules. The simulator's state moves as the scenario
// runs; the events come back to the caller, which delivers them (or loses
// them) as it likes. Truth folds the same events by the stats' definitions.
package scenario

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// Config shapes the brand and its month.
type Config struct {
	Seed      int64
	Customers int // baseline customers
	Members   int
	Groups    int
	// DailyAdds is the mean of new relationships a day (1.5 % of the
	// baseline customers by default: a growing brand).
	DailyAdds int
	// DailyChurn, when set, is the share of live relationships customers
	// end a day besides the early churn of new ones (SteadyChurn keeps a
	// brand adding 0.5 % of its customers a day about its size). Zero
	// keeps the growing brand's few.
	DailyChurn float64
	// First is the first simulated day; the baseline ends at its start.
	First calendar.Day
	Loc   *time.Location
	// OutageDay and OutageFrom place a two-hour outage (OutageDay < 0: none):
	// the callbacks of its events are lost for good. Only what the nightly
	// sync can recover happens in it: adds of new customers and deletions
	// by members, whose pairs are left alone until the next night.
	OutageDay  int
	OutageFrom time.Duration
	// PostsPerDay is how many posts the brand schedules a day.
	PostsPerDay int
}

// SteadyChurn is the DailyChurn that keeps a brand adding 0.5 % of its
// customers a day about its size.
const SteadyChurn = 0.0052

// OutageLength is how long the outage lasts.
const OutageLength = 2 * time.Hour

// Event is one callback WeCom makes.
type Event struct {
	wecom.Event
	At time.Time
	// Lost is set for an event of the outage: never delivered.
	Lost bool
	// Transfer groups the two events of one transfer (0: none); Reversed
	// asks the deliverer to send the deletion first.
	Transfer int
	Reversed bool
}

// Post is a post the brand schedules through the API.
type Post struct {
	Kind   string // "moment" or "group_message"
	SendAt time.Time
	Text   string
	Sender string // group messages
}

// Scenario is a brand being simulated.
type Scenario struct {
	Sim   *wecomsim.Sim
	cfg   Config
	rng   *rand.Rand
	truth *Truth
	// pairs are the live (two-way) relationships the generator may touch,
	// with their index for O(1) removal.
	pairs   []pair
	pairIdx map[pair]int
	// related is every pair WeCom lists (one-way ones too).
	related map[pair]bool
	frozen  map[pair]bool // outage pairs, untouchable until the next night
	members []string
	ways    []way
	groups  []string
	inGroup map[string]map[string]bool // chat → customers
	later   []planned
	seq     int
}

type pair struct{ member, customer string }

type way struct {
	configID, state string
	campaign        bool
}

type planned struct {
	at   time.Time
	kind kind
	pair pair
}

type kind uint8

const (
	kAdd kind = iota
	kCustomerDeletes
	kMemberDeletes
	kTransfer
	kTransferMidnight
	kJoin
	kQuit
)

// Channels are the brand's contact ways' states; the last two run
// campaigns with spikes on some days.
var Channels = []string{"douyin_live", "store_qr_sh", "wechat_ad", "mini_program", "spring_sale", "kol_push"}

// New seeds the simulator with the brand as it was at the start of
// cfg.First, creates its contact ways and tags through the simulator's
// API, and starts the truth from that baseline. The simulator must not
// call back (SetCallbackURL("")): the caller delivers.
func New(ctx context.Context, sim *wecomsim.Sim, cfg Config) (*Scenario, error) {
	cfg.Members = cmp.Or(cfg.Members, 6)
	cfg.Customers = cmp.Or(cfg.Customers, 300)
	cfg.Groups = cmp.Or(cfg.Groups, 4)
	cfg.DailyAdds = cmp.Or(cfg.DailyAdds, max(cfg.Customers*15/1000, 4))
	if cfg.Loc == nil {
		cfg.Loc = wecom.Beijing
	}
	s := &Scenario{Sim: sim, cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d6f6e7468)),
		truth: newTruth(cfg.Loc), pairIdx: map[pair]int{}, related: map[pair]bool{}, frozen: map[pair]bool{},
		inGroup: map[string]map[string]bool{}}
	sim.Seed(wecomsim.SeedConfig{Customers: cfg.Customers, Members: cfg.Members, Groups: cfg.Groups,
		Channels: Channels[:4], Until: cfg.First.Start(cfg.Loc), DailyAdds: cfg.DailyAdds})
	for _, m := range sim.Members() {
		s.members = append(s.members, m.UserID)
	}
	for _, r := range sim.Relationships() {
		p := pair{r.UserID, r.ExternalUserID}
		s.related[p] = true
		if !r.OneWay {
			s.addPair(p)
			s.truth.baseline(r.UserID, r.ExternalUserID, r.State)
		}
	}
	for _, g := range sim.Groups() {
		s.groups = append(s.groups, g.ChatID)
		set := map[string]bool{}
		for _, m := range g.Members {
			if m.Type == wecom.GroupMemberCustomer {
				set[m.UserID] = true
			}
		}
		s.inGroup[g.ChatID] = set
		s.truth.groups[g.ChatID] = int64(len(g.Members))
	}
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(), MaxRetries: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i, st := range Channels {
		users := []string{s.members[i%len(s.members)]}
		typ := wecom.ContactWaySingle
		if i%2 == 1 && len(s.members) > 1 {
			users = append(users, s.members[(i+1)%len(s.members)])
			typ = wecom.ContactWayMulti
		}
		ans, err := client.AddContactWay(ctx, wecom.ContactWay{Type: typ, Scene: 2, SkipVerify: true, State: st, User: users, Remark: st})
		if err != nil {
			return nil, fmt.Errorf("scenario: contact way %s: %w", st, err)
		}
		s.ways = append(s.ways, way{configID: ans.ConfigID, state: st, campaign: i >= 4})
	}
	sim.AddTags("et_vip", "et_new", "et_live")
	return s, nil
}

// Truth is the ground truth so far.
func (s *Scenario) Truth() *Truth { return s.truth }

// Members lists the brand's members.
func (s *Scenario) Members() []string { return slices.Clone(s.members) }

func (s *Scenario) addPair(p pair) {
	s.pairIdx[p] = len(s.pairs)
	s.pairs = append(s.pairs, p)
}

func (s *Scenario) dropPair(p pair) {
	i, ok := s.pairIdx[p]
	if !ok {
		return
	}
	last := s.pairs[len(s.pairs)-1]
	s.pairs[i] = last
	s.pairIdx[last] = i
	s.pairs = s.pairs[:len(s.pairs)-1]
	delete(s.pairIdx, p)
}

// pick draws a live pair that is not frozen.
func (s *Scenario) pick() (pair, bool) {
	for range 20 {
		if len(s.pairs) == 0 {
			return pair{}, false
		}
		p := s.pairs[s.rng.IntN(len(s.pairs))]
		if !s.frozen[p] {
			return p, true
		}
	}
	return pair{}, false
}

// window is the span a day's events fall in: from 00:06 to 00:05 the next
// day, so the nightly run at 00:05 sees the whole day and nothing after.
func (s *Scenario) window(i int) (from, to time.Time) {
	d := s.cfg.First.AddDays(i)
	return d.Start(s.cfg.Loc).Add(6 * time.Minute), d.AddDays(1).Start(s.cfg.Loc).Add(5 * time.Minute)
}

// NightlyAt is when the nightly run after day i runs.
func (s *Scenario) NightlyAt(i int) time.Time {
	return s.cfg.First.AddDays(i + 1).Start(s.cfg.Loc).Add(5 * time.Minute)
}

// Outage is the outage's span (zero when there is none).
func (s *Scenario) Outage() (from, to time.Time) {
	if s.cfg.OutageDay < 0 {
		return time.Time{}, time.Time{}
	}
	from = s.cfg.First.AddDays(s.cfg.OutageDay).Start(s.cfg.Loc).Add(s.cfg.OutageFrom)
	return from, from.Add(OutageLength)
}

func (s *Scenario) inOutage(at time.Time) bool {
	from, to := s.Outage()
	return !from.IsZero() && !at.Before(from) && at.Before(to)
}

// at draws an instant of the day's window: mostly business hours.
func (s *Scenario) at(i int) time.Time {
	from, to := s.window(i)
	day := s.cfg.First.AddDays(i).Start(s.cfg.Loc)
	var h time.Duration
	switch r := s.rng.IntN(100); {
	case r < 8:
		h = time.Duration(s.rng.IntN(9)) * time.Hour
	case r < 30:
		h = time.Duration(11+s.rng.IntN(3)) * time.Hour
	case r < 60:
		h = time.Duration(19+s.rng.IntN(5)) * time.Hour
	default:
		h = time.Duration(9+s.rng.IntN(13)) * time.Hour
	}
	t := day.Add(h + time.Duration(s.rng.IntN(3600))*time.Second)
	if t.Before(from) {
		t = from.Add(time.Duration(s.rng.IntN(600)) * time.Second)
	}
	if !t.Before(to) {
		t = to.Add(-time.Minute)
	}
	return t
}

// Day plays day i (0-based): it moves the simulator's state, folds the
// truth, and returns the day's callbacks in time order. Events of the
// outage come back marked Lost; the truth counts them when the nightly
// sync after day i finds them.
func (s *Scenario) Day(i int) []Event {
	from, to := s.window(i)
	// Outage pairs were recovered by last night's sync.
	clear(s.frozen)
	var plan []planned
	add := func(k kind, n int) {
		for range n {
			plan = append(plan, planned{at: s.at(i), kind: k})
		}
	}
	mean := s.cfg.DailyAdds
	if wd := s.cfg.First.AddDays(i).Start(s.cfg.Loc).Weekday(); wd == time.Saturday || wd == time.Sunday {
		mean += mean / 3
	}
	add(kAdd, mean/2+s.rng.IntN(mean+1))
	if s.rng.IntN(5) == 0 { // a campaign day: a spike through the campaign ways
		add(kAdd, mean)
	}
	if s.cfg.DailyChurn > 0 {
		n := s.cfg.DailyChurn * float64(len(s.pairs))
		add(kCustomerDeletes, int(n*0.8)+s.rng.IntN(int(n*0.4)+1))
	} else {
		add(kCustomerDeletes, max(1, mean/10)+s.rng.IntN(3))
	}
	add(kMemberDeletes, s.rng.IntN(max(2, mean/20)))
	add(kTransfer, s.rng.IntN(3))
	if s.rng.IntN(3) == 0 {
		plan = append(plan, planned{at: from.Add(24*time.Hour - 6*time.Minute - 2*time.Second), kind: kTransferMidnight})
	}
	if len(s.groups) > 0 {
		add(kJoin, 1+s.rng.IntN(4))
		add(kQuit, s.rng.IntN(3))
	}
	if oFrom, _ := s.Outage(); i == s.cfg.OutageDay && !oFrom.IsZero() {
		for range 3 + mean/4 {
			plan = append(plan, planned{at: oFrom.Add(time.Duration(s.rng.IntN(7200)) * time.Second), kind: kAdd})
		}
		plan = append(plan, planned{at: oFrom.Add(time.Duration(s.rng.IntN(7200)) * time.Second), kind: kMemberDeletes})
	}
	// Follow-ups planned by earlier days (early churn) that fall today.
	var keep []planned
	for _, p := range s.later {
		if p.at.Before(to) {
			plan = append(plan, p)
		} else {
			keep = append(keep, p)
		}
	}
	s.later = keep
	slices.SortStableFunc(plan, func(a, b planned) int { return a.at.Compare(b.at) })

	var out []Event
	for _, p := range plan {
		if p.at.Before(from) {
			p.at = from
		}
		evs := s.play(p)
		out = append(out, evs...)
	}
	// The truth in time order (a transfer across midnight put an event of
	// tomorrow before the rest of today): lost events count when the sync
	// finds them.
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	night := s.NightlyAt(i)
	var lost []Event
	for _, ev := range out {
		if ev.Lost {
			lost = append(lost, ev)
			continue
		}
		s.truth.Apply(ev.Event, ev.At, false)
	}
	for _, ev := range lost {
		e := ev.Event
		if e.ChangeType == wecom.ChangeDelExternalContact {
			e.Source = ""
		}
		s.truth.Apply(e, night, true)
	}
	for _, ev := range out {
		if ev.ChangeType == wecom.ChangeAddExternalContact && ev.WelcomeCode != "" {
			s.truth.Welcomes[ev.WelcomeCode] = Welcome{Code: ev.WelcomeCode, Member: ev.UserID, Customer: ev.ExternalUserID, At: ev.At, Lost: ev.Lost}
		}
	}
	s.truth.CloseThrough(s.cfg.First.AddDays(i))
	return out
}

// play runs one planned change on the simulator.
func (s *Scenario) play(p planned) []Event {
	outage := s.inOutage(p.at)
	ev := func(e wecom.Event) Event { return Event{Event: e, At: p.at, Lost: outage} }
	switch p.kind {
	case kAdd:
		return s.playAdd(p, outage)
	case kCustomerDeletes:
		if outage {
			return nil
		}
		pr := p.pair
		if pr.customer == "" {
			var ok bool
			if pr, ok = s.pick(); !ok {
				return nil
			}
		} else if _, live := s.pairIdx[pr]; !live || s.frozen[pr] {
			return nil
		}
		e, err := s.Sim.CustomerDeletesMember(context.Background(), pr.member, pr.customer, p.at)
		if err != nil {
			return nil
		}
		s.dropPair(pr)
		return []Event{ev(e)}
	case kMemberDeletes:
		pr, ok := s.pick()
		if !ok {
			return nil
		}
		e, err := s.Sim.MemberDeletesCustomer(context.Background(), pr.member, pr.customer, false, p.at)
		if err != nil {
			return nil
		}
		s.dropPair(pr)
		delete(s.related, pr)
		if outage {
			s.frozen[pr] = true
		}
		return []Event{ev(e)}
	case kTransfer, kTransferMidnight:
		if outage {
			return nil
		}
		pr, ok := s.pick()
		if !ok {
			return nil
		}
		var to string
		for _, m := range s.rng.Perm(len(s.members)) {
			if c := s.members[m]; c != pr.member && !s.related[pair{c, pr.customer}] {
				to = c
				break
			}
		}
		if to == "" {
			return nil
		}
		evs, err := s.Sim.TransferCustomer(context.Background(), pr.member, to, pr.customer, p.at)
		if err != nil || len(evs) != 2 {
			return nil
		}
		s.dropPair(pr)
		delete(s.related, pr)
		np := pair{to, pr.customer}
		s.addPair(np)
		s.related[np] = true
		s.seq++
		out := []Event{ev(evs[0]), ev(evs[1])}
		for j := range out {
			out[j].Transfer = s.seq
			out[j].Reversed = s.seq%2 == 0
		}
		if p.kind == kTransferMidnight { // the deletion comes a few seconds after midnight
			out[1].At = p.at.Add(4 * time.Second)
			out[1].CreateTime = out[1].At.Unix()
		}
		return out
	case kJoin:
		if outage {
			return nil
		}
		chat := s.groups[s.rng.IntN(len(s.groups))]
		pr, ok := s.pick()
		if !ok || s.inGroup[chat][pr.customer] {
			return nil
		}
		scene := []int{wecom.GroupJoinInvite, wecom.GroupJoinLink, wecom.GroupJoinQRCode}[s.rng.IntN(3)]
		e, err := s.Sim.JoinGroup(context.Background(), chat, pr.customer, scene, p.at)
		if err != nil {
			return nil
		}
		s.inGroup[chat][pr.customer] = true
		return []Event{ev(e)}
	case kQuit:
		if outage {
			return nil
		}
		chat := s.groups[s.rng.IntN(len(s.groups))]
		var custs []string
		for c := range s.inGroup[chat] {
			custs = append(custs, c)
		}
		if len(custs) == 0 {
			return nil
		}
		slices.Sort(custs)
		c := custs[s.rng.IntN(len(custs))]
		quit := 0
		if s.rng.IntN(5) == 0 {
			quit = 1
		}
		e, err := s.Sim.QuitGroup(context.Background(), chat, c, quit, p.at)
		if err != nil {
			return nil
		}
		delete(s.inGroup[chat], c)
		return []Event{ev(e)}
	}
	return nil
}

// playAdd has a customer arrive: mostly a new one through a channel, some
// without one, some an existing customer adding a second member.
func (s *Scenario) playAdd(p planned, outage bool) []Event {
	ctx := context.Background()
	var e wecom.Event
	var err error
	switch r := s.rng.IntN(10); {
	case r == 0 && !outage: // a second member
		pr, ok := s.pick()
		if !ok {
			return nil
		}
		m := s.members[s.rng.IntN(len(s.members))]
		if s.related[pair{m, pr.customer}] {
			return nil
		}
		e, err = s.Sim.AddCustomer(ctx, m, pr.customer, "", p.at)
	case r == 1: // no channel
		m := s.members[s.rng.IntN(len(s.members))]
		e, err = s.Sim.AddCustomer(ctx, m, s.Sim.NewCustomerID(), "", p.at)
	default:
		w := s.ways[s.rng.IntN(4)]
		if s.rng.IntN(3) == 0 {
			w = s.ways[4+s.rng.IntN(len(s.ways)-4)]
		}
		e, err = s.Sim.ArriveThroughContactWay(ctx, w.configID, s.Sim.NewCustomerID(), p.at)
	}
	if err != nil {
		return nil
	}
	pr := pair{e.UserID, e.ExternalUserID}
	s.addPair(pr)
	s.related[pr] = true
	if outage {
		s.frozen[pr] = true
		return []Event{{Event: e, At: p.at, Lost: true}}
	}
	// Early churn: a share of new customers leave within a day, fewer
	// within the week.
	switch r := s.rng.IntN(100); {
	case r < 10:
		s.later = append(s.later, planned{at: p.at.Add(time.Duration(20+s.rng.IntN(20*60)) * time.Minute), kind: kCustomerDeletes, pair: pr})
	case r < 15:
		s.later = append(s.later, planned{at: p.at.Add(time.Duration(1+s.rng.IntN(6))*24*time.Hour + time.Duration(s.rng.IntN(3600))*time.Second), kind: kCustomerDeletes, pair: pr})
	}
	return []Event{{Event: e, At: p.at}}
}

// Posts are the posts scheduled for day i: Moments in the morning and the
// evening, a group message at noon.
func (s *Scenario) Posts(i int) []Post {
	d := s.cfg.First.AddDays(i).Start(s.cfg.Loc)
	var out []Post
	for j := range s.cfg.PostsPerDay {
		at := d.Add(time.Duration(8+j*6)*time.Hour + time.Duration(s.rng.IntN(30))*time.Minute)
		p := Post{Kind: "moment", SendAt: at, Text: fmt.Sprintf("第%d天的第%d条朋友圈：本周好物推荐 #%d-%d", i+1, j+1, i, j)}
		if j%3 == 1 {
			p.Kind = "group_message"
			p.Sender = s.members[s.rng.IntN(len(s.members))]
			p.Text = fmt.Sprintf("第%d天的群发：会员日福利 #%d-%d", i+1, i, j)
		}
		out = append(out, p)
	}
	return out
}
