package churn

import (
	"context"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
)

// Readers for the nightly sync (shared/contactsync), which diffs WeCom's
// follow lists against what Siyu knows.

// BaselineDay returns the day the baseline was set, and false before the
// first sync completed.
func BaselineDay(ctx context.Context, s store.Store) (calendar.Day, bool, error) {
	b, ok, err := readBaseline(ctx, s)
	if err != nil || !ok {
		return calendar.Day{}, false, err
	}
	d, err := calendar.Parse(b.Day)
	if err != nil {
		return calendar.Day{}, false, fmt.Errorf("baseline day: %w", err)
	}
	return d, true, nil
}

// Pair is one member–customer relationship, live or not.
type Pair struct {
	Member   string
	Customer string
}

// CustomerEnded returns, for each of pairs, when Siyu last saw the customer
// end it (del_follow_user) with no add of the same pair after that, as of
// now; pairs without such an ending are absent from the map.
//
// WeCom keeps a one-way relationship after a customer deletes a member, and
// its follow lists keep returning it; a pair in this map that WeCom still
// lists is that one-way relationship, not a lost add. It reads each
// customer's facts (what the rollup has folded) and the events of the days
// the rollup has not folded yet, the same overlay Live replays.
func CustomerEnded(ctx context.Context, s store.Store, loc *time.Location, now time.Time, pairs []Pair) (map[Pair]time.Time, error) {
	out := map[Pair]time.Time{}
	if len(pairs) == 0 {
		return out, nil
	}
	want := map[Pair]bool{}
	byCustomer := map[string][]string{}
	for _, p := range pairs {
		if !want[p] {
			want[p] = true
			byCustomer[p.Customer] = append(byCustomer[p.Customer], p.Member)
		}
	}
	// last[pair] is the latest relationship fact of the pair seen so far.
	type last struct {
		at   int64
		kind string
	}
	latest := map[Pair]last{}
	see := func(p Pair, f fact) {
		if !want[p] || f.Time > now.Unix() {
			return
		}
		if l, ok := latest[p]; !ok || f.Time >= l.at {
			latest[p] = last{at: f.Time, kind: f.Kind}
		}
	}
	customers := make([]string, 0, len(byCustomer))
	for customer := range byCustomer {
		customers = append(customers, customer)
	}
	for len(customers) > 0 {
		batch := customers[:min(len(customers), store.MaxLimit)]
		customers = customers[len(batch):]
		facts, err := loadFacts(ctx, s, batch)
		if err != nil {
			return nil, err
		}
		for customer, fs := range facts {
			for _, f := range fs {
				see(Pair{Member: f.Member, Customer: customer}, f)
			}
		}
	}

	from, err := liveAsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		if b, ok, err := BaselineDay(ctx, s); err != nil {
			return nil, err
		} else if ok {
			from = b.AddDays(-1)
		}
	}
	today := calendar.Of(now, loc)
	if from.IsZero() {
		from = today.AddDays(-1)
	}
	if n := from.DaysUntil(today); n > maxOverlayDays {
		return nil, fmt.Errorf("the rollup last folded %s, %d days ago: run the rollup before reconciling", from, n)
	}
	log := events.NewLog(s, loc, nil)
	for d := from.AddDays(1); !d.After(today); d = d.AddDays(1) {
		err := log.Day(ctx, d, func(rec events.Record) error {
			if customer, f, ok := factOf(rec); ok {
				see(Pair{Member: f.Member, Customer: customer}, f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for p, l := range latest {
		if l.kind == kindDelCust {
			out[p] = time.Unix(l.at, 0)
		}
	}
	return out, nil
}
