package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn/liverel"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
)

// Relationship is one live member–customer relationship.
type Relationship struct {
	Member   string
	Customer string
	// Channel is the State of the add (the contact way that brought them).
	Channel string
	// Since is when the relationship started (WeCom's follow createtime for
	// the baseline, the add event's time otherwise).
	Since time.Time
}

// baselineMeta is stored at rel#meta/baseline.
type baselineMeta struct {
	Day       string `json:"day"`
	At        int64  `json:"at"`
	Customers int64  `json:"customers"`
}

// SetBaseline records the customers that existed before Siyu was switched
// on, from the first sync of WeCom's follow lists taken at at. The baseline
// day is the day of at in loc; its customers_start is the number of distinct
// customers in rels. Each relationship becomes a "baseline" fact dated one
// second before that day starts, so it is live at 00:00 and never counted as
// an add.
//
// It is idempotent: a retry with the same at (after a crash midway) finishes
// the work; once the baseline is complete, calling again with the same day
// does nothing, and with another day is an error (the baseline is set once).
func SetBaseline(ctx context.Context, s store.Store, loc *time.Location, at time.Time, rels []Relationship) error {
	day := calendar.Of(at, loc)
	if prev, ok, err := readBaseline(ctx, s); err != nil {
		return err
	} else if ok {
		if prev.Day == day.String() {
			return nil
		}
		return fmt.Errorf("baseline already set for %s (asked for %s)", prev.Day, day)
	}
	t := day.Start(loc).Unix() - 1
	customers := map[string]bool{}
	var facts []store.Item
	var live []change
	flush := func() error {
		if err := putFacts(ctx, s, facts); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		if err := applyChanges(ctx, s, live); err != nil {
			return fmt.Errorf("baseline: store live relationships: %w", err)
		}
		facts, live = facts[:0], live[:0]
		return nil
	}
	for _, r := range rels {
		if r.Member == "" || r.Customer == "" {
			return fmt.Errorf("baseline relationship %+v lacks a member or customer", r)
		}
		customers[r.Customer] = true
		it, err := fact{Member: r.Member, Time: t, Kind: kindBaseline, Channel: r.Channel, Key: "baseline"}.item(r.Customer)
		if err != nil {
			return err
		}
		facts = append(facts, it)
		since := r.Since.Unix()
		if r.Since.IsZero() {
			since = t
		}
		row := liverel.Row{Member: r.Member, Customer: r.Customer, Channel: r.Channel, Since: since}
		live = append(live, change{key: store.Key{PK: liverel.PK, SK: liverel.SK(r.Customer, r.Member)}, data: row.Encode()})
		if len(facts) == store.MaxLimit {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	data, _ := json.Marshal(baselineMeta{Day: day.String(), At: at.Unix(), Customers: int64(len(customers))})
	if _, err := s.Put(ctx, store.Item{PK: pkMeta, SK: "baseline", Data: data}, store.Always); err != nil {
		return fmt.Errorf("store baseline: %w", err)
	}
	return nil
}

func readBaseline(ctx context.Context, s store.Store) (baselineMeta, bool, error) {
	var m baselineMeta
	it, err := s.Get(ctx, pkMeta, "baseline")
	if errors.Is(err, store.ErrNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read baseline: %w", err)
	}
	if err := json.Unmarshal(it.Data, &m); err != nil {
		return m, false, fmt.Errorf("decode baseline: %w", err)
	}
	return m, true, nil
}

// liveAsOf is the last day whose facts are folded into rel#live.
func liveAsOf(ctx context.Context, s store.Store) (calendar.Day, error) {
	it, err := s.Get(ctx, pkMeta, "live_asof")
	if errors.Is(err, store.ErrNotFound) {
		return calendar.Day{}, nil
	}
	if err != nil {
		return calendar.Day{}, fmt.Errorf("read live index day: %w", err)
	}
	return calendar.Parse(string(it.Data))
}

// maxOverlayDays bounds how many days of events Live replays on top of the
// index; beyond that the rollup has not run for too long.
const maxOverlayDays = 40

// Live returns the relationships Siyu believes live at now, sorted by
// customer then member: the rel#live index the rollup keeps (one partition,
// read page by page), with the events of the days the rollup has not folded
// yet (usually today, before the nightly run) replayed on top. It is what
// the nightly sync diffs against WeCom's follow lists; a difference is
// written back as a reconciled event.
func Live(ctx context.Context, s store.Store, loc *time.Location, now time.Time) ([]Relationship, error) {
	rows := map[string]liverel.Row{}
	for page, err := range store.Pages(ctx, s, store.Query{PK: liverel.PK, Limit: store.MaxLimit}) {
		if err != nil {
			return nil, fmt.Errorf("read live relationships: %w", err)
		}
		for _, it := range page.Items {
			var r liverel.Row
			if err := json.Unmarshal(it.Data, &r); err != nil {
				return nil, fmt.Errorf("decode live relationship %s: %w", it.SK, err)
			}
			rows[it.SK] = r
		}
	}

	from, err := liveAsOf(ctx, s)
	if err != nil {
		return nil, err
	}
	if from.IsZero() {
		b, ok, err := readBaseline(ctx, s)
		if err != nil {
			return nil, err
		}
		if ok {
			from, _ = calendar.Parse(b.Day)
			from = from.AddDays(-1)
		}
	}
	today := calendar.Of(now, loc)
	if !from.IsZero() {
		if n := from.DaysUntil(today); n > maxOverlayDays {
			return nil, fmt.Errorf("the rollup last folded %s, %d days ago: run the rollup before diffing live relationships", from, n)
		}
		log := events.NewLog(s, loc, nil)
		for d := from.AddDays(1); !d.After(today); d = d.AddDays(1) {
			err := log.Day(ctx, d, func(rec events.Record) error {
				customer, f, ok := factOf(rec)
				if !ok || f.Time > now.Unix() {
					return nil
				}
				sk := liverel.SK(customer, f.Member)
				switch f.Kind {
				case kindAdd, kindHalf:
					if _, ok := rows[sk]; !ok {
						rows[sk] = liverel.Row{Member: f.Member, Customer: customer, Channel: f.Channel, Since: f.Time}
					}
				default:
					delete(rows, sk)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}

	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Relationship, 0, len(keys))
	for _, k := range keys {
		r := rows[k]
		out = append(out, Relationship{Member: r.Member, Customer: r.Customer, Channel: r.Channel, Since: time.Unix(r.Since, 0)})
	}
	return out, nil
}

// SetGroupBaseline records the member counts of customer groups at at (from
// the sync's group list): members_start of the day of at, and of every later
// day until the group has events, starts from these counts instead of from
// zero. Idempotent (one item per chat, rewritten with the same bytes).
func SetGroupBaseline(ctx context.Context, s store.Store, loc *time.Location, at time.Time, members map[string]int) error {
	day := calendar.Of(at, loc)
	for chat, n := range members {
		data, _ := json.Marshal(groupCarry{Day: day.String(), Members: int64(n)})
		if _, err := s.Put(ctx, store.Item{PK: chatPK(chat), SK: groupBaseSK, Data: data}, store.Always); err != nil {
			return fmt.Errorf("store group baseline of %s: %w", chat, err)
		}
	}
	return nil
}
