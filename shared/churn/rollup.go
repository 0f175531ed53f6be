package churn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
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
// A first run reads d's event partition once: it writes each relationship
// event as a fact of its customer, keeps every customer touched, then folds
// each over their own facts. A later run first digests the partition's sort
// keys; when the day is unchanged it only folds (reading the events again to
// find the customers), otherwise it applies the new facts and folds. Nothing
// else of history is read. Memory holds per-member/channel/group tallies,
// one page of events, an 8-byte hash per customer touched and, on a first
// run, the customers themselves (bounded by keptBytes).
func (r *Rollup) Day(ctx context.Context, d calendar.Day) (DayResult, error) {
	st, err := r.prepare(ctx, d, newBudget())
	if err != nil {
		return DayResult{}, err
	}
	res, err := r.compute(ctx, d, !st.unchanged(), st.scan)
	if err != nil {
		return res, err
	}
	return res, r.markApplied(ctx, d, st.seen)
}

// applied is stored at rel#meta/applied#<day> when a run of the day has
// finished: what the day's event partition held when the run started.
type applied struct {
	Events int64  `json:"events"`
	Digest string `json:"digest"`
	// Format is factFormat of the code that ran.
	Format int `json:"format"`
}

// factFormat changes whenever the bytes of a fact or a live row derived
// from the same event change, so that a new version re-applies every day.
// 2: facts in the compact encoding (factV2) instead of JSON.
const factFormat = 2

func appliedSK(d calendar.Day) string { return "applied#" + d.String() }

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
		// Has the day changed since? Its sort keys say (they name every
		// event), without decoding a single event.
		var dg digest
		for page, err := range store.Pages(ctx, r.Store, store.Query{PK: events.PK(d), Limit: store.MaxLimit}) {
			if err != nil {
				return st, fmt.Errorf("read events of %s: %w", d, err)
			}
			for _, it := range page.Items {
				dg.add(it.SK)
			}
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

// digest names a day's events: their number and a hash of their sort keys
// in order.
type digest struct {
	h hash.Hash
	n int64
}

func (d *digest) add(sk string) {
	if d.h == nil {
		d.h = sha256.New()
	}
	d.h.Write([]byte(sk))
	d.h.Write([]byte{'\n'})
	d.n++
}

func (d *digest) applied() applied {
	if d.h == nil {
		d.h = sha256.New()
	}
	return applied{Events: d.n, Digest: hex.EncodeToString(d.h.Sum(nil)), Format: factFormat}
}

// markApplied records what the finished run of d saw.
func (r *Rollup) markApplied(ctx context.Context, d calendar.Day, seen applied) error {
	data, err := json.Marshal(seen)
	if err != nil {
		return err
	}
	if cur, err := r.Store.Get(ctx, pkMeta, appliedSK(d)); err == nil && bytes.Equal(cur.Data, data) {
		return nil
	}
	if _, err := r.Store.Put(ctx, store.Item{PK: pkMeta, SK: appliedSK(d), Data: data}, store.Always); err != nil {
		return fmt.Errorf("record the run of %s: %w", d, err)
	}
	return nil
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
		if blind {
			writes := make([]store.Write, len(items))
			for i, it := range items {
				writes[i] = store.Write{Item: it}
			}
			return store.WriteMany(ctx, r.Store, writes)
		}
		return putFacts(ctx, r.Store, items)
	})
	if err != nil {
		return fmt.Errorf("apply facts of %s: %w", d, err)
	}
	return nil
}

// compute is Day once the day's facts are written. updateLive is false
// when the day is unchanged since its last run: the live rows of its pairs
// were written then, and any later change of them came with a fact of
// another day, whose run rewrote them. scan, when it kept the day's
// customers while the facts were applied, saves reading the events again.
func (r *Rollup) compute(ctx context.Context, d calendar.Day, updateLive bool, scan *dayScan) (DayResult, error) {
	res := DayResult{Daily: Daily{Date: d.String()}}
	start, err := r.customersStart(ctx, d)
	if err != nil {
		return res, err
	}
	res.Daily.CustomersStart = start

	t := newTally(d)
	dayStart, dayEnd := d.Start(r.Loc).Unix(), d.End(r.Loc).Unix()
	fold := func(customers []string) error {
		facts, err := loadFacts(ctx, r.Store, customers)
		if err != nil {
			return err
		}
		var changes []change
		for _, customer := range customers {
			live := t.customer(facts[customer], dayStart, dayEnd)
			if updateLive {
				changes = liveChanges(changes, customer, facts[customer], live, dayStart, dayEnd)
			}
		}
		if err := applyChanges(ctx, r.Store, changes); err != nil {
			return fmt.Errorf("update live relationships: %w", err)
		}
		return nil
	}
	if scan == nil || !scan.keep {
		// Read the day's events: each page's new customers, one batch each.
		scan = newDayScan(nil)
		err = r.Log.DayPages(ctx, d, func(recs []events.Record) error { return fold(scan.add(recs)) })
	} else {
		// Applying the facts kept the customers: a batch at a time.
		err = scan.each(store.MaxLimit, fold)
	}
	if err != nil {
		return res, fmt.Errorf("rollup %s: %w", d, err)
	}
	res.Events = scan.events
	groups := scan.groups

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
		key := store.Key{PK: pkLive, SK: liveSK(customer, f.Member)}
		if p, ok := live[f.Member]; ok {
			out = append(out, change{key: key, data: liveRow{Member: f.Member, Customer: customer, Channel: p.channel, Since: p.start}.encode()})
		} else {
			out = append(out, change{key: key, del: true})
		}
	}
	return out
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
// Rows whose bytes did not change are not written again (a nightly run
// re-runs a month of days, most of them unchanged), and rows the new run no
// longer has are deleted.
func (r *Rollup) store(ctx context.Context, d calendar.Day, res DayResult) error {
	day := d.String()
	var changes []change
	want := func(pk, sk string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode %s/%s: %w", pk, sk, err)
		}
		changes = append(changes, change{key: store.Key{PK: pk, SK: sk}, data: data})
		return nil
	}
	// A day's rows of one partition: the ones of the earlier run that the new
	// run lacks are deleted.
	replace := func(pk string, rows map[string]any) error {
		old, err := store.QueryAll(ctx, r.Store, store.Query{PK: pk, Prefix: day + "#", Limit: store.MaxLimit})
		if err != nil {
			return fmt.Errorf("read %s/%s#*: %w", pk, day, err)
		}
		for _, it := range old {
			if _, ok := rows[it.SK]; !ok {
				changes = append(changes, change{key: store.Key{PK: pk, SK: it.SK}, del: true})
			}
		}
		sks := make([]string, 0, len(rows))
		for sk := range rows {
			sks = append(sks, sk)
		}
		sort.Strings(sks)
		for _, sk := range sks {
			if err := want(pk, sk, rows[sk]); err != nil {
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
	if err := want(pkCohort, day, res.Cohort); err != nil {
		return err
	}
	if err := applyChanges(ctx, r.Store, changes); err != nil {
		return fmt.Errorf("store results: %w", err)
	}
	if err := r.markLiveAsOf(ctx, d); err != nil {
		return err
	}
	// The daily row last: its presence means the day is complete.
	changes = changes[:0]
	if err := want(pkDaily, day, res.Daily); err != nil {
		return err
	}
	if err := applyChanges(ctx, r.Store, changes); err != nil {
		return fmt.Errorf("store results: %w", err)
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
