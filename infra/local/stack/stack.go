// Package stack is every Siyu function in one process, for the local stack
// and the cost model: the callback's and the api's composition roots on one
// handler, in-process timers standing in for EventBridge Scheduler and SCF
// timers over the same job registry, and an in-process queue standing in
// for the callback's asynchronous invoke of the poster (first touch).
package stack

import (
	"context"
	"net/http"
	"time"

	apiroot "github.com/siyuhq/siyu/functions/api/root"
	callbackroot "github.com/siyuhq/siyu/functions/callback/root"
	posterroot "github.com/siyuhq/siyu/functions/poster/root"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
)

// Stack is the composed functions.
type Stack struct {
	// Callback is nil without callback credentials.
	Callback *callback.Handler
	// Posts schedules posts (the demo creates its own).
	Posts *posts.Service
	// Moments syncs engagement (the demo runs it quietly every minute).
	Moments *moments.Service
	// Channels makes channels and tags (the demo makes two).
	Channels *channels.Service
	// Store and Loc are the stack's store and the brand's zone.
	Store store.Store
	Loc   *time.Location
	// Jobs are every job, as the timers and POST /api/jobs/{job} run them.
	Jobs *jobs.Registry
	// FirstTouch is the queue the callback hands add and delete events
	// to; RunTimers runs its workers. What it drops, the poster's sweep does.
	FirstTouch *firsttouch.Queue
	handler    http.Handler
	d          start.Deps
}

// New composes the stack over d.
func New(d start.Deps) (*Stack, error) {
	s := &Stack{d: d, Store: d.Store, Loc: d.Config.Loc}
	mux := http.NewServeMux()
	// The first-touch steps after the welcome and the tags (the alerts):
	// posterroot.Steps, so the poster on Lambda and SCF runs the same ones.
	steps := posterroot.Steps(d, d.WeCom())
	a := apiroot.BuildWith(d, steps...)
	s.Posts, s.Moments, s.Channels, s.Jobs = a.Posts, a.Moments, a.Channels, a.Jobs
	s.FirstTouch = firsttouch.NewQueue(a.FirstTouch, firstTouchQueue)
	s.FirstTouch.Workers = firstTouchWorkers
	if d.Config.HasWeCom() {
		h, err := callbackroot.Handler(d)
		if err != nil {
			return nil, err
		}
		h.FirstTouch = pending.Marker{Store: d.Store, Dispatch: s.FirstTouch.Dispatch}
		s.Callback = h
		mux.Handle(callbackroot.Path, h)
	}
	mux.Handle("/", a.Handler)
	s.handler = httpx.NoFraming(mux)
	return s, nil
}

// Handler serves every route: the WeCom callback and the API/dashboard.
func (s *Stack) Handler() http.Handler { return s.handler }

// RunJob runs a job now, as a timer would.
func (s *Stack) RunJob(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	return s.Jobs.Run(ctx, req)
}

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

// firstTouchQueue bounds the events waiting for the first-touch workers;
// firstTouchWorkers greet that many customers at once (a burst of adds
// must not wait in line past their welcome codes' 20 seconds).
const (
	firstTouchQueue   = 1024
	firstTouchWorkers = 4
)

// RunTimers fires the jobs on the cloud schedule, and runs the first-touch
// worker, until ctx ends.
func (s *Stack) RunTimers(ctx context.Context) {
	s.FirstTouch.Start(ctx)
	timers := []timer{
		{"poster", everyMinute},
		{"nightly", dailyAt(s.Loc, 0, 5)}, // sync → rollup → moments → report
	}
	for _, t := range timers {
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
