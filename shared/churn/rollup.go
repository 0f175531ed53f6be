package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn/liverel"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
)

// CohortDays is how long a cohort of new customers stays open: the nightly
// run re-runs that many past days so their early churn keeps filling, and
// every day after them so carried counts stay consistent.
const CohortDays = 30

// Rollup computes and stores daily churn.
type Rollup struct {
	Store  store.Store
	Log    *events.Log
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns a rollup over s, with days in loc.
func New(s store.Store, loc *time.Location, logger *slog.Logger, now func() time.Time) *Rollup {
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Rollup{Store: s, Log: events.NewLog(s, loc, now), Loc: loc, Now: now, Logger: logger}
}

// DayResult is what one day's rollup stored.
type DayResult struct {
	Daily    Daily
	Members  []Flows
	Channels []Flows
	Cohort   Cohort
	// ChannelCohorts split Cohort by the channel of each new customer.
	ChannelCohorts []ChannelCohort
	Groups         []GroupDay
	Events         int64
}

// Day computes day d and stores its results, replacing any earlier run of
// the same day. customers_start comes from the previous day's stored
// customers_end (or the baseline), so days must be run in order; Run does
// that.
//
// A first run reads d's event partition once: it writes each relationship
// event as a fact of its customer (after an entry naming the customers),
// keeps every customer touched, then folds each over their own facts and
// keeps the day's summary (summary.go). A later run first digests the
// partition's keys; when the day changed it applies the new facts. Either
// way it then re-folds only the day's customers named by entries written
// since the summary, and sums. Nothing else of history is read. Memory
// holds per-member/channel/group tallies, one page of events, the day's
// summary, an 8-byte hash per customer touched and, on a first run, the
// customers themselves (bounded by keptBytes).
func (r *Rollup) Day(ctx context.Context, d calendar.Day) (DayResult, error) {
	st, err := r.prepare(ctx, d, newBudget())
	if err != nil {
		return DayResult{}, err
	}
	rc, err := r.newRunCtx(ctx)
	if err != nil {
		return DayResult{}, err
	}
	res, err := r.compute(ctx, d, st, rc)
	if err != nil {
		return res, err
	}
	return res, r.markApplied(ctx, d, st.seen)
}

// dayState is what a run found of a day before applying its facts.
type dayState struct {
	seen, last applied
	// ran: a run of the day finished before (last is what it saw).
	ran bool
	// scan is what applying the facts saw of the day (nil when unchanged).
	scan *dayScan
}

// unchanged: the day's events are exactly those of the last finished run,
// so its facts and the live rows of its pairs are already written.
func (s dayState) unchanged() bool { return s.ran && s.last == s.seen }

// prepare digests d's event partition (its sort keys, which name every
// event) and writes the day's facts unless the day is unchanged since its
// last finished run. Without a finished run the facts are written blindly
// (a first run finds none; a run cut short rewrites the same bytes);
// after late events they are compared first so only the new ones are
// written.
func (r *Rollup) prepare(ctx context.Context, d calendar.Day, b *budget) (dayState, error) {
	var st dayState
	it, err := r.Store.Get(ctx, pkMeta, appliedSK(d))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return st, fmt.Errorf("read what the last run of %s saw: %w", d, err)
	default:
		if err := json.Unmarshal(it.Data, &st.last); err != nil {
			return st, fmt.Errorf("decode what the last run of %s saw: %w", d, err)
		}
		st.ran = true
	}
	if st.ran {
		// Has the day changed since? The events' keys say.
		var dg digest
		if err := r.Log.DayKeys(ctx, d, func(sks []string) error {
			for _, sk := range sks {
				dg.add(sk)
			}
			return nil
		}); err != nil {
			return st, err
		}
		if st.seen = dg.applied(); st.unchanged() {
			return st, nil
		}
	}
	st.scan = newDayScan(b)
	if err := r.applyFacts(ctx, d, !st.ran, st.scan); err != nil {
		return st, err
	}
	st.seen = st.scan.digest.applied() // exactly the events whose facts were applied
	st.scan.done = nil                 // only the kept list is needed from here on
	return st, nil
}

// applyFacts writes every relationship event of day d as a fact of its
// customer, a page of events at a time; blind skips reading what is stored.
// scan sees every page.
// It is idempotent. Run applies the facts of all its days before computing
// any, so a cohort sees the losses of later days in the same run.
func (r *Rollup) applyFacts(ctx context.Context, d calendar.Day, blind bool, scan *dayScan) error {
	err := r.Log.DayPages(ctx, d, func(recs []events.Record) error {
		scan.add(recs)
		items := make([]store.Item, 0, len(recs))
		for _, rec := range recs {
			if customer, f, ok := factOf(rec); ok {
				it, err := f.item(customer)
				if err != nil {
					return err
				}
				items = append(items, it)
			}
		}
		return r.writeFacts(ctx, items, blind)
	})
	if err != nil {
		return fmt.Errorf("apply facts of %s: %w", d, err)
	}
	return nil
}

// writeFacts writes the facts among items that are not stored yet (all of
// them when blind), after an entry naming their customers.
func (r *Rollup) writeFacts(ctx context.Context, items []store.Item, blind bool) error {
	writes := make([]store.Write, len(items))
	for i, it := range items {
		writes[i] = store.Write{Item: it}
	}
	if !blind {
		changes := make([]change, len(items))
		for i, it := range items {
			changes[i] = change{key: store.Key{PK: it.PK, SK: it.SK}, data: it.Data}
		}
		var err error
		if writes, err = pendingWrites(ctx, r.Store, changes); err != nil {
			return fmt.Errorf("store facts: %w", err)
		}
	}
	if len(writes) == 0 {
		return nil
	}
	var customers []string
	seen := map[string]bool{}
	for _, w := range writes {
		if c := strings.TrimPrefix(w.Item.PK, custPK("")); !seen[c] {
			seen[c] = true
			customers = append(customers, c)
		}
	}
	if err := r.noteTouched(ctx, customers); err != nil {
		return err
	}
	if err := store.WriteMany(ctx, r.Store, writes); err != nil {
		return fmt.Errorf("store facts: %w", err)
	}
	return nil
}

// compute is Day once the day's facts are written. The day's live rows are
// updated only when it changed: the live rows of its pairs were written by
// its last run, and any later change of them came with a fact of another
// day, whose run rewrote them. scan, when it kept the day's customers
// while the facts were applied, saves reading the events again.
func (r *Rollup) compute(ctx context.Context, d calendar.Day, st dayState, rc *runCtx) (DayResult, error) {
	res := DayResult{Daily: Daily{Date: d.String()}}
	start, err := r.customersStart(ctx, d)
	if err != nil {
		return res, err
	}
	res.Daily.CustomersStart = start

	old, usable, err := loadSummary(ctx, r.Store, d, rc)
	if err != nil {
		return res, err
	}
	changed, scan := !st.unchanged(), st.scan
	t := newTally(d)
	next := &summary{}
	var groups map[string]*groupTally
	if usable && (!changed || scan != nil && scan.keep) {
		groups, res.Events, err = r.foldTouched(ctx, d, changed, scan, old, rc, t, next)
	} else {
		groups, res.Events, err = r.foldAll(ctx, d, changed, scan, t, next)
	}
	if err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}

	res.Daily.NewCustomers = t.daily.NewCustomers
	res.Daily.LostCustomers = t.daily.LostCustomers
	res.Daily.RemovedCustomers = t.daily.RemovedCustomers
	res.Daily.Relationships = t.daily.Relationships
	res.Daily.Transferred = t.daily.Transferred
	res.Daily.Reconciled = t.daily.Reconciled
	res.Daily.CustomersEnd = start + t.daily.NewCustomers - t.daily.LostCustomers - t.daily.RemovedCustomers
	res.Daily.ChurnRate = ratio(t.daily.LostCustomers, start+t.daily.NewCustomers)
	res.Members = sortedFlows(t.members)
	res.Channels = sortedFlows(t.channels)
	res.Cohort = t.cohort
	res.Cohort.rates()
	res.ChannelCohorts = sortedCohorts(t.chanCohorts)

	if res.Groups, err = groupDays(ctx, r.Store, d, groups); err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].ChatID < res.Groups[j].ChatID })

	hash := resultsHash(res)
	if !usable || old.hdr.Results != hash {
		if err := r.store(ctx, d, res); err != nil {
			return res, fmt.Errorf("rollup %s: %w", d, err)
		}
	}
	if len(next.customers) > summaryMaxCustomers {
		return res, old.drop(ctx, r.Store, d)
	}
	next.hdr = sumHeader{Format: summaryFormat, Gen: rc.touched.now, At: rc.now.Unix(), Baseline: rc.baseline,
		Events: res.Events, Groups: groupsOf(groups), Results: hash}
	return res, old.save(ctx, r.Store, d, next, usable)
}

// foldAll folds every customer of day d into t and next, from the
// customers scan kept or else from the day's events.
func (r *Rollup) foldAll(ctx context.Context, d calendar.Day, updateLive bool, scan *dayScan, t *tally, next *summary) (map[string]*groupTally, int64, error) {
	dayStart, dayEnd := d.Start(r.Loc).Unix(), d.End(r.Loc).Unix()
	fold := func(customers []string) error {
		facts, err := loadFacts(ctx, r.Store, customers)
		if err != nil {
			return err
		}
		var changes []change
		for _, customer := range customers {
			ops, live := t.customer(nil, facts[customer], dayStart, dayEnd)
			if len(next.customers) <= summaryMaxCustomers {
				next.customers, next.ops = append(next.customers, customer), append(next.ops, ops)
			}
			if updateLive {
				changes = liveChanges(changes, customer, facts[customer], live, dayStart, dayEnd)
			}
		}
		if err := applyChanges(ctx, r.Store, changes); err != nil {
			return fmt.Errorf("update live relationships: %w", err)
		}
		return nil
	}
	var err error
	if scan == nil || !scan.keep {
		// Read the day's events: each page's new customers, one batch each.
		scan = newDayScan(nil)
		err = r.Log.DayPages(ctx, d, func(recs []events.Record) error { return fold(scan.add(recs)) })
	} else {
		// Applying the facts kept the customers: a batch at a time.
		err = scan.each(store.MaxLimit, fold)
	}
	return scan.groups, scan.events, err
}

// foldTouched brings the day's usable summary old up to date into next:
// the customers named by entries since it (and, when the day changed, its
// new customers, which scan kept) are folded again; the others keep their
// ops. Then every op is counted into t.
func (r *Rollup) foldTouched(ctx context.Context, d calendar.Day, changed bool, scan *dayScan, old *summary, rc *runCtx, t *tally, next *summary) (map[string]*groupTally, int64, error) {
	touched, err := rc.touched.since(ctx, r.Store, old.hdr.Gen)
	if err != nil {
		return nil, 0, err
	}
	next.customers = append([]string(nil), old.customers...)
	next.ops = append([][]op(nil), old.ops...)
	var again []int // indexes of the customers to fold again
	for i, c := range next.customers {
		if _, ok := touched[c]; ok {
			again = append(again, i)
		}
	}
	groups, events := groupsFrom(old.hdr.Groups), old.hdr.Events
	if changed {
		known := make(map[string]struct{}, len(old.customers))
		for _, c := range old.customers {
			known[c] = struct{}{}
		}
		if err := scan.each(store.MaxLimit, func(cs []string) error {
			for _, c := range cs {
				if _, ok := known[c]; !ok {
					again = append(again, len(next.customers))
					next.customers, next.ops = append(next.customers, c), append(next.ops, nil)
				}
			}
			return nil
		}); err != nil {
			return nil, 0, err
		}
		groups, events = scan.groups, scan.events
	}

	dayStart, dayEnd := d.Start(r.Loc).Unix(), d.End(r.Loc).Unix()
	for lo := 0; lo < len(again); lo += store.MaxLimit {
		batch := again[lo:min(lo+store.MaxLimit, len(again))]
		customers := make([]string, len(batch))
		for j, i := range batch {
			customers[j] = next.customers[i]
		}
		facts, err := loadFacts(ctx, r.Store, customers)
		if err != nil {
			return nil, 0, err
		}
		var changes []change
		for j, i := range batch {
			ops, live := customerOps(nil, facts[customers[j]], dayStart, dayEnd)
			next.ops[i] = ops
			if changed {
				changes = liveChanges(changes, customers[j], facts[customers[j]], live, dayStart, dayEnd)
			}
		}
		if err := applyChanges(ctx, r.Store, changes); err != nil {
			return nil, 0, fmt.Errorf("update live relationships: %w", err)
		}
	}
	for _, ops := range next.ops {
		for _, o := range ops {
			t.add(o)
		}
	}
	return groups, events, nil
}

// customersStart carries the previous day's customers_end, or the baseline
// on the baseline day, or 0 when nothing is known before d.
func (r *Rollup) customersStart(ctx context.Context, d calendar.Day) (int64, error) {
	b, ok, err := readBaseline(ctx, r.Store)
	if err != nil {
		return 0, err
	}
	if ok && b.Day == d.String() {
		return b.Customers, nil
	}
	prev, found, err := GetDaily(ctx, r.Store, d.AddDays(-1))
	if err != nil || !found {
		return 0, err
	}
	return prev.CustomersEnd, nil
}

// liveChanges appends the wanted rel#live rows of the pairs that had facts
// on the day, from the customer's whole fold (the latest state Siyu knows).
func liveChanges(out []change, customer string, facts []fact, live map[string]pair, dayStart, dayEnd int64) []change {
	var done map[string]bool
	for _, f := range facts {
		if f.Time < dayStart || f.Time >= dayEnd || done[f.Member] {
			continue
		}
		if done == nil {
			done = map[string]bool{}
		}
		done[f.Member] = true
		key := store.Key{PK: liverel.PK, SK: liverel.SK(customer, f.Member)}
		if p, ok := live[f.Member]; ok {
			out = append(out, change{key: key, data: liverel.Row{Member: f.Member, Customer: customer, Channel: p.channel, Since: p.start}.Encode()})
		} else {
			out = append(out, change{key: key, del: true})
		}
	}
	return out
}
