package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sort"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
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
func New(s store.Store, loc *time.Location, logger *slog.Logger) *Rollup {
	if logger == nil {
		logger = slog.Default()
	}
	return &Rollup{Store: s, Log: events.NewLog(s, loc), Loc: loc, Now: time.Now, Logger: logger}
}

// DayResult is what one day's rollup stored.
type DayResult struct {
	Daily    Daily
	Members  []Flows
	Channels []Flows
	Cohort   Cohort
	Groups   []GroupDay
	Events   int64
}

// Day computes day d and stores its results, replacing any earlier run of
// the same day. customers_start comes from the previous day's stored
// customers_end (or the baseline), so days must be run in order; Run does
// that.
//
// It reads d's event partition twice — once to write each relationship
// event as a fact of its customer (ApplyFacts), once to fold every customer
// touched that day over their own facts — and nothing else of history.
// Memory holds per-member/channel/group tallies and an 8-byte hash per
// customer touched.
func (r *Rollup) Day(ctx context.Context, d calendar.Day) (DayResult, error) {
	if _, err := r.ApplyFacts(ctx, d); err != nil {
		return DayResult{}, err
	}
	return r.compute(ctx, d)
}

// ApplyFacts writes every relationship event of day d as a fact of its
// customer and returns how many events the day has. It is idempotent. Run
// applies the facts of all its days before computing any, so a cohort sees
// the losses of later days in the same run.
func (r *Rollup) ApplyFacts(ctx context.Context, d calendar.Day) (int64, error) {
	var n int64
	err := r.Log.Day(ctx, d, func(rec events.Record) error {
		n++
		if customer, f, ok := factOf(rec); ok {
			return putFact(ctx, r.Store, customer, f)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("apply facts of %s: %w", d, err)
	}
	return n, nil
}

// compute is Day once the day's facts are written.
func (r *Rollup) compute(ctx context.Context, d calendar.Day) (DayResult, error) {
	res := DayResult{Daily: Daily{Date: d.String()}}
	start, err := r.customersStart(ctx, d)
	if err != nil {
		return res, err
	}
	res.Daily.CustomersStart = start

	// Every touched customer once, in the order first seen.
	seed := maphash.MakeSeed()
	done := map[uint64]struct{}{}
	groups := map[string]*groupTally{}
	t := newTally(d)
	dayStart, dayEnd := d.Start(r.Loc).Unix(), d.End(r.Loc).Unix()
	err = r.Log.Day(ctx, d, func(rec events.Record) error {
		res.Events++
		customer, _, ok := factOf(rec)
		if !ok {
			addGroupEvent(groups, rec)
			return nil
		}
		h := maphash.String(seed, customer)
		if _, ok := done[h]; ok {
			return nil
		}
		done[h] = struct{}{}
		facts, err := loadFacts(ctx, r.Store, customer)
		if err != nil {
			return err
		}
		live := t.customer(facts, dayStart, dayEnd)
		return r.updateLive(ctx, customer, facts, live, dayStart, dayEnd)
	})
	if err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}
	done = nil

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
	res.Cohort.Rate1d = ratio(t.cohort.Lost1d, t.cohort.NewCustomers)
	res.Cohort.Rate7d = ratio(t.cohort.Lost7d, t.cohort.NewCustomers)
	res.Cohort.Rate30d = ratio(t.cohort.Lost30d, t.cohort.NewCustomers)

	if res.Groups, err = groupDays(ctx, r.Store, d, groups); err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].ChatID < res.Groups[j].ChatID })

	if err := r.store(ctx, d, res); err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}
	return res, nil
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

// updateLive rewrites the rel#live rows of the pairs that had facts on the
// day, from the customer's whole fold (the latest state Siyu knows).
func (r *Rollup) updateLive(ctx context.Context, customer string, facts []fact, live map[string]pair, dayStart, dayEnd int64) error {
	done := map[string]bool{}
	for _, f := range facts {
		if f.Time < dayStart || f.Time >= dayEnd || done[f.Member] {
			continue
		}
		done[f.Member] = true
		if p, ok := live[f.Member]; ok {
			if err := putLive(ctx, r.Store, liveRow{Member: f.Member, Customer: customer, Channel: p.channel, Since: p.start}); err != nil {
				return err
			}
			continue
		}
		if _, err := r.Store.Get(ctx, pkLive, liveSK(customer, f.Member)); errors.Is(err, store.ErrNotFound) {
			continue // already absent: skip the write
		}
		if err := r.Store.Delete(ctx, pkLive, liveSK(customer, f.Member), store.Always); err != nil {
			return fmt.Errorf("drop live relationship %s/%s: %w", f.Member, customer, err)
		}
	}
	return nil
}

// tally accumulates a day's numbers over its customers.
type tally struct {
	date     string
	daily    Flows
	members  map[string]*Flows
	channels map[string]*Flows
	cohort   Cohort
}

func newTally(d calendar.Day) *tally {
	return &tally{date: d.String(), daily: Flows{Date: d.String()}, members: map[string]*Flows{},
		channels: map[string]*Flows{}, cohort: Cohort{Date: d.String()}}
}

// rows returns the brand, member and channel rows one event is charged to.
func (t *tally) rows(member, channel string) [3]*Flows {
	m := t.members[member]
	if m == nil {
		m = &Flows{Date: t.date, Member: member}
		t.members[member] = m
	}
	c := t.channels[channel]
	if c == nil {
		ch := channel
		c = &Flows{Date: t.date, Channel: &ch}
		t.channels[channel] = c
	}
	return [3]*Flows{&t.daily, m, c}
}

type charge struct {
	at              int64
	kind            string
	member, channel string
}

// customer folds one customer's facts, adds the day's numbers to t and
// returns the live relationships after all facts.
func (t *tally) customer(facts []fact, dayStart, dayEnd int64) map[string]pair {
	c := newFold()
	i := 0
	for ; i < len(facts) && facts[i].Time < dayStart; i++ {
		c.apply(facts[i])
	}
	startLive := c.customerLive()
	var firstGain, lastDrop, dropAfterGain *charge
	dropped := false
	for ; i < len(facts) && facts[i].Time < dayEnd; i++ {
		f := facts[i]
		st := c.apply(f)
		if st.counted {
			for _, row := range t.rows(f.Member, st.channel) {
				switch f.Kind {
				case kindAdd, kindHalf:
					row.Relationships.Added++
				case kindDelCust:
					row.Relationships.DeletedByCustomer++
				case kindDelMem:
					row.Relationships.DeletedByMember++
				case kindTransfer:
					row.Transferred++
				}
				if f.Origin == events.OriginReconciled {
					row.Reconciled++
				}
			}
		}
		ch := &charge{at: f.Time, kind: f.Kind, member: f.Member, channel: st.channel}
		if st.gained && firstGain == nil {
			firstGain = ch
		}
		if st.dropped {
			dropped = true
			lastDrop = ch
			if firstGain != nil && dropAfterGain == nil {
				dropAfterGain = ch
			}
		}
	}
	endLive := c.customerLive()

	// At most one new and one loss per customer and day, chosen so that
	// customers_end = start + new - lost - removed holds: a customer added
	// and lost the same day is new and lost; one lost and won back is lost
	// and new; cycles in between collapse.
	var isNew, isLoss bool
	switch {
	case !startLive && endLive:
		isNew = true
	case startLive && !endLive:
		isLoss = true
	case !startLive && !endLive:
		isNew, isLoss = firstGain != nil, firstGain != nil
	default:
		isNew, isLoss = dropped, dropped
	}
	if isNew {
		for _, row := range t.rows(firstGain.member, firstGain.channel) {
			row.NewCustomers++
		}
	}
	if isLoss {
		for _, row := range t.rows(lastDrop.member, lastDrop.channel) {
			if lastDrop.kind == kindDelCust {
				row.LostCustomers++
			} else {
				row.RemovedCustomers++
			}
		}
	}

	// Later facts (already stored by later days' runs) close the cohort and
	// give the latest live state.
	for ; i < len(facts); i++ {
		st := c.apply(facts[i])
		if st.dropped && firstGain != nil && dropAfterGain == nil {
			dropAfterGain = &charge{at: facts[i].Time, kind: facts[i].Kind}
		}
	}
	if isNew {
		t.cohort.NewCustomers++
		if d := dropAfterGain; d != nil && d.kind == kindDelCust {
			after := time.Duration(d.at-firstGain.at) * time.Second
			if after < 24*time.Hour {
				t.cohort.Lost1d++
			}
			if after < 7*24*time.Hour {
				t.cohort.Lost7d++
			}
			if after < CohortDays*24*time.Hour {
				t.cohort.Lost30d++
			}
		}
	}
	return c.live
}

func sortedFlows(m map[string]*Flows) []Flows {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Flows, 0, len(keys))
	for _, k := range keys {
		out = append(out, *m[k])
	}
	return out
}

// store writes the day's results, replacing every row of an earlier run.
func (r *Rollup) store(ctx context.Context, d calendar.Day, res DayResult) error {
	day := d.String()
	put := func(pk, sk string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s/%s: %w", pk, sk, err)
		}
		if _, err := r.Store.Put(ctx, store.Item{PK: pk, SK: sk, Data: data}, store.Always); err != nil {
			return fmt.Errorf("store %s/%s: %w", pk, sk, err)
		}
		return nil
	}
	replace := func(pk string, rows map[string]any) error {
		if err := r.dropStale(ctx, pk, day+"#", rows); err != nil {
			return err
		}
		for sk, v := range rows {
			if err := put(pk, sk, v); err != nil {
				return err
			}
		}
		return nil
	}
	members := map[string]any{}
	for _, f := range res.Members {
		members[day+"#"+f.Member] = f
	}
	channels := map[string]any{}
	for _, f := range res.Channels {
		channels[day+"#"+*f.Channel] = f
	}
	groups := map[string]any{}
	for _, g := range res.Groups {
		groups[day+"#"+g.ChatID] = g
	}
	if err := replace(pkMember, members); err != nil {
		return err
	}
	if err := replace(pkChannel, channels); err != nil {
		return err
	}
	if err := replace(pkGroup, groups); err != nil {
		return err
	}
	if err := put(pkCohort, day, res.Cohort); err != nil {
		return err
	}
	if err := r.markLiveAsOf(ctx, d); err != nil {
		return err
	}
	// The daily row last: its presence means the day is complete.
	return put(pkDaily, day, res.Daily)
}

// dropStale deletes rows under prefix that the new run no longer has.
func (r *Rollup) dropStale(ctx context.Context, pk, prefix string, keep map[string]any) error {
	q := store.Query{PK: pk, Prefix: prefix, Limit: store.MaxLimit}
	var stale []string
	for {
		page, err := r.Store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("read %s/%s*: %w", pk, prefix, err)
		}
		for _, it := range page.Items {
			if _, ok := keep[it.SK]; !ok {
				stale = append(stale, it.SK)
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	for _, sk := range stale {
		if err := r.Store.Delete(ctx, pk, sk, store.Always); err != nil {
			return fmt.Errorf("drop stale %s/%s: %w", pk, sk, err)
		}
	}
	return nil
}

func (r *Rollup) markLiveAsOf(ctx context.Context, d calendar.Day) error {
	cur, err := liveAsOf(ctx, r.Store)
	if err != nil {
		return err
	}
	if !cur.IsZero() && !cur.Before(d) {
		return nil
	}
	if _, err := r.Store.Put(ctx, store.Item{PK: pkMeta, SK: "live_asof", Data: []byte(d.String())}, store.Always); err != nil {
		return fmt.Errorf("store live index day: %w", err)
	}
	return nil
}

// GetDaily reads one stored day.
func GetDaily(ctx context.Context, s store.Store, d calendar.Day) (Daily, bool, error) {
	var out Daily
	it, err := s.Get(ctx, pkDaily, d.String())
	if errors.Is(err, store.ErrNotFound) {
		return out, false, nil
	}
	if err != nil {
		return out, false, fmt.Errorf("read stats of %s: %w", d, err)
	}
	if err := json.Unmarshal(it.Data, &out); err != nil {
		return out, false, fmt.Errorf("decode stats of %s: %w", d, err)
	}
	return out, true, nil
}
