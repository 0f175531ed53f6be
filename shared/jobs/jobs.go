// Package jobs is Siyu's timed work: the request every trigger hands a job
// (a cloud timer's explicit Input, an SCF timer's message, or
// POST /api/jobs/{name} for backfills), the Registry of a function's jobs
// that its timers and the API run alike, and the date-range rules
// (Range) requests are read by.
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
	// Key names one item of work (the event whose first-touch work the
	// callback's asynchronous invoke asks for); empty for timers.
	Key string `json:"key,omitempty"`
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

// BadRequest is what the caller is told (the HTTP layer's 400 message).
func (e *BadRequestError) BadRequest() string { return e.Msg }

func badf(format string, a ...any) error { return &BadRequestError{fmt.Sprintf(format, a...)} }

// JobRange is the from/to rule of jobs and of the stats routes: both
// bounds or neither (yesterday), at most MaxDays days, none in the future.
var JobRange = Range{MaxDays: MaxDays, Default: func(today calendar.Day) (calendar.Day, calendar.Day) {
	y := today.AddDays(-1)
	return y, y
}}

// Range is the from/to rule of one family of requests: the one parser of
// date ranges, with a limit per family.
type Range struct {
	// MaxDays is the longest range, in days counted inclusively.
	MaxDays int
	// Future allows days after today (a posting calendar); otherwise
	// they are refused.
	Future bool
	// Alone lets one bound come without the other, which then keeps its
	// default; otherwise from and to go together.
	Alone bool
	// Default is the range when neither bound is given.
	Default func(today calendar.Day) (from, to calendar.Day)
}

// Parse reads from and to (YYYY-MM-DD, empty when absent) against today
// in loc. A request outside the rule is a *BadRequestError that says why.
func (rg Range) Parse(fromS, toS string, today calendar.Day, loc *time.Location) (from, to calendar.Day, err error) {
	from, to = rg.Default(today)
	if !rg.Alone && (fromS == "") != (toS == "") {
		return from, to, badf("from and to go together")
	}
	if fromS != "" {
		if from, err = calendar.Parse(fromS); err != nil {
			return from, to, badf("from: %v", err)
		}
	}
	if toS != "" {
		if to, err = calendar.Parse(toS); err != nil {
			return from, to, badf("to: %v", err)
		}
	}
	return from, to, rg.check(from, to, today, loc)
}

func (rg Range) check(from, to, today calendar.Day, loc *time.Location) error {
	if to.Before(from) {
		return badf("from %s is after to %s", from, to)
	}
	if n := from.DaysUntil(to) + 1; n > rg.MaxDays {
		return badf("range of %d days exceeds %d", n, rg.MaxDays)
	}
	if !rg.Future && to.After(today) {
		return badf("%s is in the future (today is %s in %s)", to, today, loc)
	}
	return nil
}

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
	default:
		var err error
		from, to, err = JobRange.Parse(r.From, r.To, today, loc)
		if err != nil {
			return nil, err
		}
	}
	if err := JobRange.check(from, to, today, loc); err != nil {
		return nil, err
	}
	days := make([]calendar.Day, 0, from.DaysUntil(to)+1)
	for d := from; !d.After(to); d = d.AddDays(1) {
		days = append(days, d)
	}
	return days, nil
}
