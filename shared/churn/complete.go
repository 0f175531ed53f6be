package churn

import (
	"context"
	"fmt"
	"strings"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
)

// CompleteDays returns the days of from..to whose numbers are complete: a
// run of the rollup finished the day (its applied mark) and the day is not
// before the baseline day (before it, customers Siyu never saw are missing).
// Without a baseline, the rollup's marks alone decide. Today (and later) is
// never complete, even if a backfill ran it: the day is not over.
func CompleteDays(ctx context.Context, s store.Store, from, to, today calendar.Day) (map[string]bool, error) {
	base, hasBase, err := BaselineDay(ctx, s)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	marks, err := store.QueryAll(ctx, s, store.Query{PK: pkMeta, From: appliedSK(from), To: appliedSK(to), Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("read rollup marks: %w", err)
	}
	for _, it := range marks {
		d, err := calendar.Parse(strings.TrimPrefix(it.SK, "applied#"))
		if err != nil || (hasBase && d.Before(base)) || !d.Before(today) {
			continue
		}
		out[d.String()] = true
	}
	return out, nil
}
