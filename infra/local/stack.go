package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// stack is the app plus the in-process timers that stand in for
// EventBridge Scheduler / SCF timers.
type stack struct {
	*app.App
	loc *time.Location
}

func newStack(ctx context.Context, cfg config.Config, st store.Store, logger *slog.Logger) (*stack, error) {
	a, err := app.New(ctx, cfg, st, logger)
	if err != nil {
		return nil, err
	}
	return &stack{App: a, loc: cfg.Loc}, nil
}

func (s *stack) Handler() http.Handler { return s.App.Handler() }

// timer is one cloud timer: a job and when it next fires after now.
type timer struct {
	job  string
	next func(now time.Time) time.Time
}

// everyMinute fires at the start of each minute, like rate(1 minute).
func everyMinute(now time.Time) time.Time { return now.Truncate(time.Minute).Add(time.Minute) }

// dailyAt fires at hh:mm in loc, like cron(mm hh * * ? *) with a timezone.
func dailyAt(loc *time.Location, hh, mm int) func(time.Time) time.Time {
	return func(now time.Time) time.Time {
		l := now.In(loc)
		t := time.Date(l.Year(), l.Month(), l.Day(), hh, mm, 0, 0, loc)
		if !t.After(now) {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
}

// RunTimers fires the registered jobs on the cloud schedule until ctx ends.
// A job that is not built (not registered) is skipped.
func (s *stack) RunTimers(ctx context.Context) {
	timers := []timer{
		{"poster", everyMinute},
		{"nightly", dailyAt(s.loc, 0, 5)}, // sync → rollup → moments → report
	}
	for _, t := range timers {
		if _, ok := s.Jobs[t.job]; !ok {
			continue
		}
		go func(t timer) {
			for {
				wait := time.Until(t.next(time.Now()))
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				_, _ = s.RunJob(ctx, jobs.Request{Job: t.job})
			}
		}(t)
	}
}
