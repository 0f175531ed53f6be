package churn

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
)

// Writing a day's results over those of an earlier run.

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
	chanCohorts := map[string]any{}
	for _, c := range res.ChannelCohorts {
		chanCohorts[day+"#"+c.Channel] = c
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
	if err := replace(pkChanCoh, chanCohorts); err != nil {
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
