package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// MountStats adds the churn routes, reading what the rollup stored in st:
//
//	GET /api/stats/daily?from=YYYY-MM-DD&to=YYYY-MM-DD[&by=member|channel]
//	GET /api/stats/cohorts?from=…&to=…[&by=channel]
//	GET /api/stats/groups?from=…&to=…   (rows carry the group's name)
//	GET /api/charts/{churn|net|cohorts}?from=…&to=…   (SVG, for the console)
//
// Without from and to, the last 30 days up to yesterday. Each answers JSON,
// or CSV (a header row, one row per day or per day and key) when the client
// sends Accept: text/csv.
//
// A day is complete once the rollup has run it and it is not before the
// baseline (churn.CompleteDays). Its rows carry "complete": true. A day that
// is not (today, a day not rolled up yet, a day before the data began) is
// one row of its date with "complete": false and every number null (in CSV:
// empty cells, complete false), never zeros that read like a day on which
// nobody came.
func MountStats(s *Server, st store.Store) {
	h := statsHandler{s: s, st: st}
	s.Admin("GET /api/stats/daily", h.daily)
	s.Admin("GET /api/stats/cohorts", h.cohorts)
	s.Admin("GET /api/stats/groups", h.groups)
	s.Admin("GET /api/charts/{name}", h.chart)
}

type statsHandler struct {
	s  *Server
	st store.Store
}

// DefaultStatsDays is the range shown when from/to are absent.
const DefaultStatsDays = 30

// dailyRow is the public shape of a brand-level day (the README's "Routes"
// section), plus the count of reconciled events behind it.
type dailyRow struct {
	Date             string              `json:"date"`
	Complete         bool                `json:"complete"`
	CustomersStart   int64               `json:"customers_start"`
	NewCustomers     int64               `json:"new_customers"`
	LostCustomers    int64               `json:"lost_customers"`
	RemovedCustomers int64               `json:"removed_customers"`
	CustomersEnd     int64               `json:"customers_end"`
	ChurnRate        float64             `json:"churn_rate"`
	Relationships    churn.Relationships `json:"relationships"`
	Reconciled       int64               `json:"reconciled"`
}

// flowRow is a day of one member or channel. Customers at start and end are
// not split by member or channel (a customer with two members belongs to
// both), so these rows carry the day's flows only.
type flowRow struct {
	Date     string  `json:"date"`
	Complete bool    `json:"complete"`
	Member   *string `json:"member,omitempty"`
	Channel  *string `json:"channel,omitempty"`
	// ChannelName is the name of the channel owning the state (empty when
	// none does or it is unnamed); rows by channel only.
	ChannelName      *string             `json:"channel_name,omitempty"`
	NewCustomers     int64               `json:"new_customers"`
	LostCustomers    int64               `json:"lost_customers"`
	RemovedCustomers int64               `json:"removed_customers"`
	Relationships    churn.Relationships `json:"relationships"`
	Reconciled       int64               `json:"reconciled"`
	// WeCom's own per-member statistics of the day (get_user_behavior_data,
	// read by the nightly sync), beside Siyu's counts so that disagreements
	// — such as a lost del_follow_user callback — are visible. Absent when
	// the sync has not read that day.
	WeComNewContactCnt       *int64 `json:"wecom_new_contact_cnt,omitempty"`
	WeComNegativeFeedbackCnt *int64 `json:"wecom_negative_feedback_cnt,omitempty"`
}

// withBehavior puts WeCom's per-member numbers beside Siyu's member rows,
// adding zero rows for members only WeCom counted that day.
func withBehavior(rows []flowRow, beh []contactsync.Behavior) []flowRow {
	idx := map[[2]string]int{}
	for i, r := range rows {
		idx[[2]string{r.Date, *r.Member}] = i
	}
	for _, b := range beh {
		nc, nf := b.NewContactCnt, b.NegativeFeedbackCnt
		i, ok := idx[[2]string{b.Date, b.Member}]
		if !ok {
			m := b.Member
			rows = append(rows, flowRow{Date: b.Date, Member: &m})
			i = len(rows) - 1
		}
		rows[i].WeComNewContactCnt, rows[i].WeComNegativeFeedbackCnt = &nc, &nf
	}
	slices.SortStableFunc(rows, func(a, b flowRow) int {
		if c := strings.Compare(a.Date, b.Date); c != 0 {
			return c
		}
		return strings.Compare(*a.Member, *b.Member)
	})
	return rows
}

// span is the asked range and which of its days are complete.
type span struct {
	from, to calendar.Day
	complete map[string]bool
}

func (h statsHandler) span(w http.ResponseWriter, r *http.Request) (span, bool) {
	from, to, ok := h.rangeOf(w, r)
	if !ok {
		return span{}, false
	}
	complete, err := churn.CompleteDays(r.Context(), h.st, from, to, calendar.Of(h.s.Now(), h.s.Loc))
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return span{}, false
	}
	return span{from, to, complete}, true
}

// daysTable lays rows out day by day over sp, for JSON and CSV alike: a
// complete day gives its rows (done marks them complete; line is the CSV
// line under head), an incomplete day one row saying so. The CSV gets a
// last "complete" column.
func daysTable[T any](sp span, head []any, rows []T, date func(T) string, done func(T) any, line func(T) []any) ([]any, [][]any) {
	byDay := map[string][]T{}
	for _, r := range rows {
		byDay[date(r)] = append(byDay[date(r)], r)
	}
	out := []any{}
	csvRows := [][]any{append(slices.Clone(head), "complete")}
	for d := sp.from; !d.After(sp.to); d = d.AddDays(1) {
		day := d.String()
		if !sp.complete[day] {
			out = append(out, incomplete[T](day))
			empty := make([]any, len(head)+1)
			empty[0], empty[len(head)] = day, false
			csvRows = append(csvRows, empty)
			continue
		}
		for _, r := range byDay[day] {
			out = append(out, done(r))
			csvRows = append(csvRows, append(line(r), true))
		}
	}
	return out, csvRows
}

// incomplete is the JSON row of a day without complete numbers: T's keys,
// each null, with the date and "complete": false.
func incomplete[T any](date string) map[string]any {
	var zero T
	b, _ := json.Marshal(zero)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k := range m {
		m[k] = nil
	}
	m["date"], m["complete"] = date, false
	return m
}

// statsRange is the stats routes' from/to rule: the jobs' rule (both or
// neither, no future, at most jobs.MaxDays) with the last DefaultStatsDays
// days up to yesterday by default.
var statsRange = jobs.Range{MaxDays: jobs.MaxDays, Default: func(today calendar.Day) (calendar.Day, calendar.Day) {
	y := today.AddDays(-1)
	return y.AddDays(-(DefaultStatsDays - 1)), y
}}

func (h statsHandler) rangeOf(w http.ResponseWriter, r *http.Request) (from, to calendar.Day, ok bool) {
	return h.s.dayRange(w, r, statsRange)
}

func wantsCSV(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/csv")
}

func (h statsHandler) daily(w http.ResponseWriter, r *http.Request) {
	sp, ok := h.span(w, r)
	if !ok {
		return
	}
	by := r.URL.Query().Get("by")
	switch by {
	case "":
		days, err := churn.DailyRange(r.Context(), h.st, sp.from, sp.to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
		}
		rows := make([]dailyRow, len(days))
		for i, d := range days {
			rows[i] = dailyRow{Date: d.Date, CustomersStart: d.CustomersStart, NewCustomers: d.NewCustomers, LostCustomers: d.LostCustomers,
				RemovedCustomers: d.RemovedCustomers, CustomersEnd: d.CustomersEnd, ChurnRate: d.ChurnRate, Relationships: d.Relationships,
				Reconciled: d.Reconciled}
		}
		out, lines := daysTable(sp, []any{"date", "customers_start", "new_customers", "lost_customers", "removed_customers",
			"customers_end", "churn_rate", "added", "deleted_by_customer", "deleted_by_member", "reconciled"}, rows,
			func(d dailyRow) string { return d.Date },
			func(d dailyRow) any { d.Complete = true; return d },
			func(d dailyRow) []any {
				return []any{d.Date, d.CustomersStart, d.NewCustomers, d.LostCustomers,
					d.RemovedCustomers, d.CustomersEnd, d.ChurnRate, d.Relationships.Added,
					d.Relationships.DeletedByCustomer, d.Relationships.DeletedByMember, d.Reconciled}
			})
		if wantsCSV(r) {
			writeCSV(w, "daily", lines)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "days": out})
	case "member", "channel":
		read := churn.MemberRange
		if by == "channel" {
			read = churn.ChannelRange
		}
		flows, err := read(r.Context(), h.st, sp.from, sp.to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
		}
		var names map[string]string
		if by == "channel" {
			if names, err = channels.Names(r.Context(), h.st); err != nil {
				WriteError(w, r, h.s.Logger, err)
				return
			}
		}
		rows := make([]flowRow, len(flows))
		for i, f := range flows {
			rows[i] = flowRow{Date: f.Date, NewCustomers: f.NewCustomers, LostCustomers: f.LostCustomers,
				RemovedCustomers: f.RemovedCustomers, Relationships: f.Relationships, Reconciled: f.Reconciled}
			if by == "member" {
				m := f.Member
				rows[i].Member = &m
			} else {
				c := ""
				if f.Channel != nil {
					c = *f.Channel
				}
				n := names[c]
				rows[i].Channel, rows[i].ChannelName = &c, &n
			}
		}
		head := []any{"date", by}
		if by == "channel" {
			head = append(head, "channel_name")
		}
		head = append(head, "new_customers", "lost_customers", "removed_customers",
			"added", "deleted_by_customer", "deleted_by_member", "reconciled")
		if by == "member" {
			beh, err := contactsync.BehaviorRange(r.Context(), h.st, sp.from, sp.to)
			if err != nil {
				WriteError(w, r, h.s.Logger, err)
				return
			}
			rows = withBehavior(rows, beh)
			head = append(head, "wecom_new_contact_cnt", "wecom_negative_feedback_cnt")
		}
		out, lines := daysTable(sp, head, rows,
			func(f flowRow) string { return f.Date },
			func(f flowRow) any { f.Complete = true; return f },
			func(f flowRow) []any {
				key := f.Member
				if key == nil {
					key = f.Channel
				}
				row := []any{f.Date, *key}
				if f.ChannelName != nil {
					row = append(row, *f.ChannelName)
				}
				row = append(row, f.NewCustomers, f.LostCustomers, f.RemovedCustomers,
					f.Relationships.Added, f.Relationships.DeletedByCustomer, f.Relationships.DeletedByMember,
					f.Reconciled)
				if by == "member" {
					row = append(row, f.WeComNewContactCnt, f.WeComNegativeFeedbackCnt)
				}
				return row
			})
		if wantsCSV(r) {
			writeCSV(w, "daily-by-"+by, lines)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "by": by, "days": out})
	default:
		httpx.Error(w, http.StatusBadRequest, "bad_request", "by must be member or channel, not "+strconv.Quote(by))
	}
}

// cohortRow and groupRow are churn's rows with their day's completeness.
type cohortRow struct {
	churn.Cohort
	Complete bool `json:"complete"`
}

type groupRow struct {
	churn.GroupDay
	// Name is the group's name as the sync last read it (empty when unknown).
	Name     string `json:"name"`
	Complete bool   `json:"complete"`
}

// channelCohortRow is a channel's part of a day's cohort, with its name.
type channelCohortRow struct {
	churn.ChannelCohort
	ChannelName string `json:"channel_name"`
	Complete    bool   `json:"complete"`
}

func (h statsHandler) cohorts(w http.ResponseWriter, r *http.Request) {
	by := r.URL.Query().Get("by")
	if by != "" && by != "channel" {
		httpx.Error(w, http.StatusBadRequest, "bad_request", "by must be channel or absent, not "+strconv.Quote(by))
		return
	}
	sp, ok := h.span(w, r)
	if !ok {
		return
	}
	if by == "channel" {
		h.channelCohorts(w, r, sp)
		return
	}
	rows, err := churn.CohortRange(r.Context(), h.st, sp.from, sp.to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	out, lines := daysTable(sp, []any{"date", "new_customers", "lost_1d", "lost_7d", "lost_30d", "rate_1d", "rate_7d", "rate_30d"}, rows,
		func(c churn.Cohort) string { return c.Date },
		func(c churn.Cohort) any { return cohortRow{c, true} },
		func(c churn.Cohort) []any {
			return []any{c.Date, c.NewCustomers, c.Lost1d, c.Lost7d, c.Lost30d, c.Rate1d, c.Rate7d, c.Rate30d}
		})
	if wantsCSV(r) {
		writeCSV(w, "cohorts", lines)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "cohorts": out})
}

func (h statsHandler) channelCohorts(w http.ResponseWriter, r *http.Request, sp span) {
	cohorts, err := churn.ChannelCohortRange(r.Context(), h.st, sp.from, sp.to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	names, err := channels.Names(r.Context(), h.st)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	rows := make([]channelCohortRow, len(cohorts))
	for i, c := range cohorts {
		rows[i] = channelCohortRow{ChannelCohort: c, ChannelName: names[c.Channel]}
	}
	out, lines := daysTable(sp, []any{"date", "channel", "channel_name", "new_customers", "lost_1d", "lost_7d", "lost_30d",
		"rate_1d", "rate_7d", "rate_30d"}, rows,
		func(c channelCohortRow) string { return c.Date },
		func(c channelCohortRow) any { c.Complete = true; return c },
		func(c channelCohortRow) []any {
			return []any{c.Date, c.Channel, c.ChannelName, c.NewCustomers, c.Lost1d, c.Lost7d, c.Lost30d, c.Rate1d, c.Rate7d, c.Rate30d}
		})
	if wantsCSV(r) {
		writeCSV(w, "cohorts-by-channel", lines)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "by": "channel", "cohorts": out})
}

func (h statsHandler) groups(w http.ResponseWriter, r *http.Request) {
	sp, ok := h.span(w, r)
	if !ok {
		return
	}
	days, err := churn.GroupRange(r.Context(), h.st, sp.from, sp.to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	names, err := contactsync.GroupNames(r.Context(), h.st)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	rows := make([]groupRow, len(days))
	for i, g := range days {
		rows[i] = groupRow{GroupDay: g, Name: names[g.ChatID]}
	}
	out, lines := daysTable(sp, []any{"date", "chat_id", "name", "members_start", "joins", "quits_self", "quits_removed", "members_end", "quit_rate", "dismissed"}, rows,
		func(g groupRow) string { return g.Date },
		func(g groupRow) any { g.Complete = true; return g },
		func(g groupRow) []any {
			return []any{g.Date, g.ChatID, g.Name, g.MembersStart, g.Joins, g.QuitsSelf,
				g.QuitsRemoved, g.MembersEnd, g.QuitRate, g.Dismissed}
		})
	if wantsCSV(r) {
		writeCSV(w, "groups", lines)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "groups": out})
}
