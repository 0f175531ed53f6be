package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// MountStats adds the churn routes, reading what the rollup stored in st:
//
//	GET /api/stats/daily?from=YYYY-MM-DD&to=YYYY-MM-DD[&by=member|channel]
//	GET /api/stats/cohorts?from=…&to=…
//	GET /api/stats/groups?from=…&to=…
//
// Without from and to, the last 30 days up to yesterday. Each answers JSON,
// or CSV (a header row, one row per day or per day and key) when the client
// sends Accept: text/csv.
func MountStats(s *Server, st store.Store) {
	h := statsHandler{s: s, st: st}
	s.Handle("GET /api/stats/daily", h.daily)
	s.Handle("GET /api/stats/cohorts", h.cohorts)
	s.Handle("GET /api/stats/groups", h.groups)
}

type statsHandler struct {
	s  *Server
	st store.Store
}

// DefaultStatsDays is the range shown when from/to are absent.
const DefaultStatsDays = 30

// dailyRow is the public shape of a brand-level day (DESIGN.md "Public
// contract"), plus the count of reconciled events behind it.
type dailyRow struct {
	Date             string              `json:"date"`
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
	Date             string              `json:"date"`
	Member           *string             `json:"member,omitempty"`
	Channel          *string             `json:"channel,omitempty"`
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

func (h statsHandler) rangeOf(w http.ResponseWriter, r *http.Request) (from, to calendar.Day, ok bool) {
	q := r.URL.Query()
	req := jobs.Request{From: q.Get("from"), To: q.Get("to")}
	if req.From == "" && req.To == "" {
		y := calendar.Of(h.s.Now(), h.s.Loc).AddDays(-1)
		req.From, req.To = y.AddDays(-(DefaultStatsDays - 1)).String(), y.String()
	}
	days, err := req.Days(h.s.Now(), h.s.Loc)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return from, to, false
	}
	return days[0], days[len(days)-1], true
}

func wantsCSV(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/csv")
}

func (h statsHandler) daily(w http.ResponseWriter, r *http.Request) {
	from, to, ok := h.rangeOf(w, r)
	if !ok {
		return
	}
	by := r.URL.Query().Get("by")
	switch by {
	case "":
		days, err := churn.DailyRange(r.Context(), h.st, from, to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
		}
		rows := make([]dailyRow, len(days))
		for i, d := range days {
			rows[i] = dailyRow{d.Date, d.CustomersStart, d.NewCustomers, d.LostCustomers, d.RemovedCustomers,
				d.CustomersEnd, d.ChurnRate, d.Relationships, d.Reconciled}
		}
		if wantsCSV(r) {
			out := [][]any{{"date", "customers_start", "new_customers", "lost_customers", "removed_customers",
				"customers_end", "churn_rate", "added", "deleted_by_customer", "deleted_by_member", "reconciled"}}
			for _, d := range rows {
				out = append(out, []any{d.Date, d.CustomersStart, d.NewCustomers, d.LostCustomers,
					d.RemovedCustomers, d.CustomersEnd, d.ChurnRate, d.Relationships.Added,
					d.Relationships.DeletedByCustomer, d.Relationships.DeletedByMember, d.Reconciled})
			}
			writeCSV(w, "daily", out)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "days": rows})
	case "member", "channel":
		read := churn.MemberRange
		if by == "channel" {
			read = churn.ChannelRange
		}
		flows, err := read(r.Context(), h.st, from, to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
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
				rows[i].Channel = &c
			}
		}
		if by == "member" {
			beh, err := contactsync.BehaviorRange(r.Context(), h.st, from, to)
			if err != nil {
				WriteError(w, r, h.s.Logger, err)
				return
			}
			rows = withBehavior(rows, beh)
		}
		if wantsCSV(r) {
			head := []any{"date", by, "new_customers", "lost_customers", "removed_customers",
				"added", "deleted_by_customer", "deleted_by_member", "reconciled"}
			if by == "member" {
				head = append(head, "wecom_new_contact_cnt", "wecom_negative_feedback_cnt")
			}
			out := [][]any{head}
			for _, f := range rows {
				key := f.Member
				if key == nil {
					key = f.Channel
				}
				row := []any{f.Date, *key, f.NewCustomers, f.LostCustomers, f.RemovedCustomers,
					f.Relationships.Added, f.Relationships.DeletedByCustomer, f.Relationships.DeletedByMember,
					f.Reconciled}
				if by == "member" {
					row = append(row, f.WeComNewContactCnt, f.WeComNegativeFeedbackCnt)
				}
				out = append(out, row)
			}
			writeCSV(w, "daily-by-"+by, out)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "by": by, "days": rows})
	default:
		httpx.Error(w, http.StatusBadRequest, "bad_request", "by must be member or channel, not "+strconv.Quote(by))
	}
}

func (h statsHandler) cohorts(w http.ResponseWriter, r *http.Request) {
	from, to, ok := h.rangeOf(w, r)
	if !ok {
		return
	}
	rows, err := churn.CohortRange(r.Context(), h.st, from, to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	if wantsCSV(r) {
		out := [][]any{{"date", "new_customers", "lost_1d", "lost_7d", "lost_30d", "rate_1d", "rate_7d", "rate_30d"}}
		for _, c := range rows {
			out = append(out, []any{c.Date, c.NewCustomers, c.Lost1d, c.Lost7d, c.Lost30d, c.Rate1d, c.Rate7d, c.Rate30d})
		}
		writeCSV(w, "cohorts", out)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "cohorts": rows})
}

func (h statsHandler) groups(w http.ResponseWriter, r *http.Request) {
	from, to, ok := h.rangeOf(w, r)
	if !ok {
		return
	}
	rows, err := churn.GroupRange(r.Context(), h.st, from, to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	if rows == nil {
		rows = []churn.GroupDay{}
	}
	if wantsCSV(r) {
		out := [][]any{{"date", "chat_id", "members_start", "joins", "quits_self", "quits_removed", "members_end", "quit_rate", "dismissed"}}
		for _, g := range rows {
			out = append(out, []any{g.Date, g.ChatID, g.MembersStart, g.Joins, g.QuitsSelf,
				g.QuitsRemoved, g.MembersEnd, g.QuitRate, g.Dismissed})
		}
		writeCSV(w, "groups", out)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "groups": rows})
}
