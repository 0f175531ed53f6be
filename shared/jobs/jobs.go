// Package jobs names Siyu's timed work (rollup, sync, poster, moments) and
// the request every trigger hands it: a cloud timer's explicit Input, an SCF
// timer's message, or POST /api/jobs/{name} for backfills.
package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
)

// Request is what a trigger passes. With neither Date nor From/To a job
// works on its default (yesterday for day jobs, now for the poster).
type Request struct {
	Job  string `json:"job,omitempty"`
	Date string `json:"date,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Result is a job's summary, returned as JSON by the API and logged by timers.
type Result map[string]any

// Func runs one job.
type Func func(ctx context.Context, req Request) (Result, error)

// MaxDays bounds a backfill range.
const MaxDays = 400

// BadRequestError is a request the caller must fix (the API answers 400).
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

func badf(format string, a ...any) error { return &BadRequestError{fmt.Sprintf(format, a...)} }

// Days resolves the request to a list of business days in loc, defaulting to
// yesterday. Days in the future are refused.
func (r Request) Days(now time.Time, loc *time.Location) ([]calendar.Day, error) {
	today := calendar.Of(now, loc)
	var from, to calendar.Day
	switch {
	case r.Date != "" && (r.From != "" || r.To != ""):
		return nil, badf("give either date or from/to, not both")
	case r.Date != "":
		d, err := calendar.Parse(r.Date)
		if err != nil {
			return nil, badf("date: %v", err)
		}
		from, to = d, d
	case r.From != "" || r.To != "":
		if r.From == "" || r.To == "" {
			return nil, badf("from and to go together")
		}
		var err error
		if from, err = calendar.Parse(r.From); err != nil {
			return nil, badf("from: %v", err)
		}
		if to, err = calendar.Parse(r.To); err != nil {
			return nil, badf("to: %v", err)
		}
	default:
		y := today.AddDays(-1)
		from, to = y, y
	}
	if to.Before(from) {
		return nil, badf("from %s is after to %s", from, to)
	}
	if n := from.DaysUntil(to) + 1; n > MaxDays {
		return nil, badf("range of %d days exceeds %d", n, MaxDays)
	}
	if to.After(today) {
		return nil, badf("%s is in the future (today is %s in %s)", to, today, loc)
	}
	days := make([]calendar.Day, 0, from.DaysUntil(to)+1)
	for d := from; !d.After(to); d = d.AddDays(1) {
		days = append(days, d)
	}
	return days, nil
}
