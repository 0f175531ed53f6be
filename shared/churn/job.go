package churn

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// Job is the "rollup" job: Run as a jobs.Func.
func (r *Rollup) Job() jobs.Func { return r.Run }

// Run is the rollup job.
//
// Without a date it is the nightly run: yesterday, and the CohortDays days
// before it again (their cohorts are still filling and late events may have
// landed in them), oldest first, so every carried customers_start stays
// consistent.
//
// With a date or from/to it is a backfill of those days; then every later
// day that is already stored is re-run too, because its customers_start is
// carried from the days just recomputed. Either way, when the first day's
// previous day was never computed, the missing days back to the last stored
// day (or to the baseline day) are computed first; with nothing stored and
// no baseline the first day starts from 0.
//
// Each day logs one progress line.
func (r *Rollup) Run(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	now := r.Now()
	asked, err := req.Days(now, r.Loc)
	if err != nil {
		return nil, err
	}
	yesterday := calendar.Of(now, r.Loc).AddDays(-1)
	from, to := asked[0], asked[len(asked)-1]
	nightly := req.Date == "" && req.From == "" && req.To == ""
	if nightly {
		from = to.AddDays(-CohortDays)
		if b, ok, err := readBaseline(ctx, r.Store); err != nil {
			return nil, err
		} else if ok {
			if bd, err := calendar.Parse(b.Day); err == nil && from.Before(bd) && !to.Before(bd) {
				from = bd // nothing to count before Siyu was switched on
			}
		}
	} else if last, ok, err := r.lastStored(ctx, yesterday); err != nil {
		return nil, err
	} else if ok && last.After(to) {
		to = last
	}
	if from, err = r.firstNeeded(ctx, from); err != nil {
		return nil, err
	}
	if n := from.DaysUntil(to) + 1; n > jobs.MaxDays {
		return nil, &jobs.BadRequestError{Msg: fmt.Sprintf("the rollup would need %d days (%s to %s), more than %d: backfill in steps, oldest first", n, from, to, jobs.MaxDays)}
	}

	states := make([]dayState, 0, from.DaysUntil(to)+1)
	b := newBudget()
	for d := from; !d.After(to); d = d.AddDays(1) {
		st, err := r.prepare(ctx, d, b)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	rc, err := r.newRunCtx(ctx)
	if err != nil {
		return nil, err
	}
	var total DayResult
	var lastDaily Daily
	days := 0
	for d := from; !d.After(to); d = d.AddDays(1) {
		start := time.Now()
		st := states[from.DaysUntil(d)]
		res, err := r.compute(ctx, d, st, rc)
		states[from.DaysUntil(d)].scan = nil // let its memory go
		if err != nil {
			return nil, err
		}
		if err := r.markApplied(ctx, d, st.seen); err != nil {
			return nil, err
		}
		days++
		total.Events += res.Events
		total.Daily.NewCustomers += res.Daily.NewCustomers
		total.Daily.LostCustomers += res.Daily.LostCustomers
		total.Daily.RemovedCustomers += res.Daily.RemovedCustomers
		total.Daily.Reconciled += res.Daily.Reconciled
		lastDaily = res.Daily
		r.Logger.LogAttrs(ctx, slog.LevelInfo, "rollup day",
			slog.String("day", d.String()), slog.Int64("events", res.Events),
			slog.Int64("customers_start", res.Daily.CustomersStart), slog.Int64("new", res.Daily.NewCustomers),
			slog.Int64("lost", res.Daily.LostCustomers), slog.Int64("removed", res.Daily.RemovedCustomers),
			slog.Int64("customers_end", res.Daily.CustomersEnd), slog.Int("groups", len(res.Groups)),
			slog.Duration("took", time.Since(start)))
	}
	return jobs.Result{
		"job": "rollup", "from": from.String(), "to": to.String(), "days": days, "events": total.Events,
		"new_customers": total.Daily.NewCustomers, "lost_customers": total.Daily.LostCustomers,
		"removed_customers": total.Daily.RemovedCustomers, "reconciled": total.Daily.Reconciled,
		"customers_end": lastDaily.CustomersEnd,
	}, nil
}

// lastStored is the latest day with stored stats on or before d.
func (r *Rollup) lastStored(ctx context.Context, d calendar.Day) (calendar.Day, bool, error) {
	page, err := r.Store.Query(ctx, store.Query{PK: pkDaily, To: d.String(), Desc: true, Limit: 1})
	if err != nil {
		return calendar.Day{}, false, fmt.Errorf("find the last rolled day: %w", err)
	}
	if len(page.Items) == 0 {
		return calendar.Day{}, false, nil
	}
	day, err := calendar.Parse(page.Items[0].SK)
	return day, err == nil, err
}

// firstNeeded moves from back over never-computed days its start depends on.
func (r *Rollup) firstNeeded(ctx context.Context, from calendar.Day) (calendar.Day, error) {
	b, hasBase, err := readBaseline(ctx, r.Store)
	if err != nil {
		return from, err
	}
	var base calendar.Day
	if hasBase {
		if base, err = calendar.Parse(b.Day); err != nil {
			return from, fmt.Errorf("baseline day: %w", err)
		}
		if base == from {
			return from, nil // its start is the baseline
		}
	}
	last, ok, err := r.lastStored(ctx, from.AddDays(-1))
	if err != nil {
		return from, err
	}
	switch {
	case ok && hasBase && last.Before(base) && base.Before(from):
		return base, nil
	case ok:
		return last.AddDays(1), nil
	case hasBase && base.Before(from):
		return base, nil
	}
	return from, nil
}
