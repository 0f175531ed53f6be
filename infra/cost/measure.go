package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/metered"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// Size is one brand.
type Size struct {
	Customers int
	Members   int
	Groups    int
	DailyAdds int
	// Days is how many days are simulated; counts are scaled to MonthDays.
	Days int
}

// NightlyJobs is the nightly chain, in order (the rollup root's).
var NightlyJobs = rolluproot.NightlySteps

// MonthDays is the month every figure is scaled to.
const MonthDays = 30

// SizeFor shapes a brand of n customers: one member (sales rep) per 50
// customers, between 6 and 200; one customer group per 250 customers,
// between 4 and 100; new relationships a day ≈ 1.5% of the base.
func SizeFor(n, days int) Size {
	return Size{
		Customers: n,
		Members:   min(max(n/50, 6), 200),
		Groups:    min(max(n/250, 4), 100),
		DailyAdds: max(n*15/1000, 1),
		Days:      days,
	}
}

// Function names, as deployed (template.yaml, infra/tencent).
const (
	FnCallback = "callback"
	FnPoster   = "poster"
	FnRollup   = "rollup" // runs the nightly chain: sync → rollup → moments → report
	FnAPI      = "api"
	// FnFirstTouch is the poster too, invoked asynchronously by the
	// callback once per add or delete event (its "firsttouch" job with the
	// event's key): booked apart from the poster's ticks.
	FnFirstTouch = "first touch"
)

// Functions in table order, with the memory size each is deployed with
// (template.yaml: 128 MiB default, 256 MiB for rollup and api).
var Functions = []struct {
	Name  string
	MemMB int
	What  string
}{
	{FnCallback, 128, "each WeCom callback request"},
	{FnPoster, 128, "one tick a minute"},
	{FnRollup, 256, "nightly: sync, rollup, moments, report"},
	{FnAPI, 256, "dashboard loads and post scheduling"},
	{FnFirstTouch, 128, "poster, once per add or delete event: welcome, tags, alerts"},
}

// Usage is what one function did in a month.
type Usage struct {
	Invocations float64
	// Seconds is the in-process wall time, each invocation rounded up to
	// the millisecond as Lambda bills.
	Seconds float64
	// Requests is the store calls (each one DynamoDB round trip): Reads
	// plus Writes.
	Requests      float64
	Reads, Writes float64
	// WeComCalls is the HTTP calls to WeCom's API (and the report robot).
	WeComCalls float64
	RRU, WRU   float64
	// LogBytes is what the function's logger wrote (JSON, as on Lambda).
	LogBytes float64
	// ColdStarts is the invocations assumed to start a new environment
	// (not measured here: see ColdStartSeconds).
	ColdStarts float64
}

func (u *Usage) add(o Usage) {
	u.Invocations += o.Invocations
	u.Seconds += o.Seconds
	u.Requests += o.Requests
	u.Reads += o.Reads
	u.Writes += o.Writes
	u.WeComCalls += o.WeComCalls
	u.RRU += o.RRU
	u.WRU += o.WRU
	u.LogBytes += o.LogBytes
	u.ColdStarts += o.ColdStarts
}

func (u Usage) scaled(f float64) Usage {
	return Usage{Invocations: u.Invocations * f, Seconds: u.Seconds * f, Requests: u.Requests * f, Reads: u.Reads * f,
		Writes: u.Writes * f, WeComCalls: u.WeComCalls * f, RRU: u.RRU * f, WRU: u.WRU * f, LogBytes: u.LogBytes * f,
		ColdStarts: u.ColdStarts * f}
}

// without is u less what o did (store, WeCom and log counts; invocations,
// time and cold starts are u's own): a phase's usage less the first-touch
// work that ran inside it.
func (u Usage) without(o Usage) Usage {
	u.Requests -= o.Requests
	u.Reads -= o.Reads
	u.Writes -= o.Writes
	u.WeComCalls -= o.WeComCalls
	u.RRU -= o.RRU
	u.WRU -= o.WRU
	u.LogBytes -= o.LogBytes
	return u
}

// Tick is the measured cost of one kind of poster tick.
type Tick struct {
	N        int
	Seconds  float64
	Requests float64
	RRU, WRU float64
}

// Month is a brand's measured month, scaled to MonthDays.
type Month struct {
	Size Size
	// Deliveries and CallbackRequests are raw (unscaled) counts over the
	// simulated days: each delivery is one POST, so they must be equal.
	Deliveries       int
	CallbackRequests int
	Fn               map[string]Usage
	// PosterIdle and PosterActive split the measured poster day's ticks.
	PosterIdle, PosterActive Tick
	// DashboardLoad is one measured dashboard load (several requests).
	DashboardLoad Usage
	// TableBytes estimates the DynamoDB table size after the month (item
	// sizes as metered.ItemSize plus DynamoDB's 100 bytes per item).
	TableBytes int64
	Items      int64
	// SchedulerInvocations is the timers' fires in the month.
	SchedulerInvocations float64
	// Nightly splits the rollup function's usage by job (unscaled: over
	// the simulated days).
	Nightly map[string]Usage
	// NightlyErrors counts nightly jobs that reported an error.
	NightlyErrors int
	// ExtrapolatedFrom is the measured size this month was scaled from
	// (0: measured).
	ExtrapolatedFrom int

	// FirstTouchEvents is the events the callback dispatched to first
	// touch over the simulated days (raw): one poster invocation each.
	// FirstTouchErrors counts those whose job answered an error.
	FirstTouchEvents, FirstTouchErrors int
	// FirstTouchDue is the delivered events that call for first touch
	// (adds and deletes, pending.Needs): each must have been dispatched.
	FirstTouchDue int
	// Arrivals is the adds through the brand's contact way (raw), each
	// with a fresh welcome code, a welcome and two tags; Welcomed is their
	// first-touch invocations' usage alone (raw).
	Arrivals int
	Welcomed Usage
	// WelcomesSent is the welcomes WeCom (the simulator) accepted; Tagged
	// the arrivals that had both tags right after their first touch.
	WelcomesSent, Tagged int
}

// Extrapolate scales a measured month to a brand of n customers: the
// callbacks, the nightly run and the table grow with the customers (new
// relationships a day are a share of the base; the sync pages through every
// relationship), the poster and the api do not depend on the brand's size.
func Extrapolate(m Month, n int) Month {
	f := float64(n) / float64(m.Size.Customers)
	out := m
	out.Size = SizeFor(n, m.Size.Days)
	out.ExtrapolatedFrom = m.Size.Customers
	out.Deliveries = int(math.Round(float64(m.Deliveries) * f))
	out.CallbackRequests = int(math.Round(float64(m.CallbackRequests) * f))
	out.Fn = map[string]Usage{}
	for k, u := range m.Fn {
		if k == FnCallback || k == FnRollup || k == FnFirstTouch {
			inv := u.Invocations
			u = u.scaled(f)
			if k == FnRollup {
				u.Invocations, u.ColdStarts = inv, inv // still one run a night
			}
		}
		out.Fn[k] = u
	}
	out.Nightly = map[string]Usage{}
	for k, u := range m.Nightly {
		out.Nightly[k] = u.scaled(f)
	}
	scale := func(n int) int { return int(math.Round(float64(n) * f)) }
	out.FirstTouchEvents, out.FirstTouchErrors, out.FirstTouchDue = scale(m.FirstTouchEvents), scale(m.FirstTouchErrors), scale(m.FirstTouchDue)
	out.Arrivals, out.WelcomesSent, out.Tagged = scale(m.Arrivals), scale(m.WelcomesSent), scale(m.Tagged)
	out.Welcomed = m.Welcomed.scaled(f)
	out.TableBytes = int64(float64(m.TableBytes) * f)
	out.Items = int64(float64(m.Items) * f)
	return out
}

// Options tunes Measure.
type Options struct {
	// Verbose copies the app's logs to stderr.
	Verbose bool
	// Dir holds the SQLite file; a temporary directory by default.
	Dir string
	// Progress, if set, is told when each simulated day is done.
	Progress func(day int, deliveries int, took time.Duration)
}

// Usage assumptions of the month (stated in the rendered output).
const (
	DashboardLoadsPerDay = 5
	PostsPerDay          = 2
)

// counter counts bytes written (the log volume) and HTTP calls made.
type counter struct{ n atomic.Int64 }

func (c *counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

type countingTransport struct {
	base  http.RoundTripper
	calls atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	return t.base.RoundTrip(r)
}

// wecomCalls counts the app's calls to WeCom: the wecom client uses
// http.DefaultTransport; the simulator's callbacks use their own.
var wecomCalls = func() *countingTransport {
	t := &countingTransport{base: http.DefaultTransport}
	http.DefaultTransport = t
	return t
}()

// meter snapshots every counter before a phase and books the difference.
type meter struct {
	st   *metered.Store
	logs *counter
}

type snapshot struct {
	c     metered.Counts
	logs  int64
	wecom int64
}

func (m *meter) snap() snapshot {
	return snapshot{c: m.st.Counts(), logs: m.logs.n.Load(), wecom: wecomCalls.calls.Load()}
}

// since is the usage from s to now, for invocations calls taking d.
func (m *meter) since(s snapshot, invocations int, billed time.Duration) Usage {
	now := m.snap()
	return Usage{
		Invocations: float64(invocations),
		Seconds:     billed.Seconds(),
		Requests:    float64((now.c.Reads + now.c.Writes) - (s.c.Reads + s.c.Writes)),
		Reads:       float64(now.c.Reads - s.c.Reads),
		Writes:      float64(now.c.Writes - s.c.Writes),
		WeComCalls:  float64(now.wecom - s.wecom),
		RRU:         now.c.ReadUnits - s.c.ReadUnits,
		WRU:         now.c.WriteUnits - s.c.WriteUnits,
		LogBytes:    float64(now.logs - s.logs),
	}
}

// sub is a - b, counter by counter.
func sub(a, b Usage) Usage {
	out := a.without(b)
	out.Invocations -= b.Invocations
	out.Seconds -= b.Seconds
	out.ColdStarts -= b.ColdStarts
	return out
}

// billedMs rounds d up to the millisecond, as Lambda bills (1 ms minimum).
func billedMs(d time.Duration) time.Duration {
	ms := math.Ceil(float64(d) / float64(time.Millisecond))
	return time.Duration(max(ms, 1)) * time.Millisecond
}

// timed wraps h, adding each request's billed duration to *total and
// counting requests per path prefix. After each callback it runs after
// (the first-touch invocations the callback dispatched), unbilled to it.
type timed struct {
	h     http.Handler
	mu    sync.Mutex
	total map[string]time.Duration
	n     map[string]int
	after func()
}

func route(path string) string {
	if strings.HasPrefix(path, "/wecom/callback") {
		return FnCallback
	}
	return FnAPI
}

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := billedMs(time.Since(start))
	t.mu.Lock()
	t.total[route(r.URL.Path)] += d
	t.n[route(r.URL.Path)]++
	t.mu.Unlock()
	if t.after != nil && route(r.URL.Path) == FnCallback {
		t.after()
	}
}

func (t *timed) take(fn string) (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, d := t.n[fn], t.total[fn]
	t.n[fn], t.total[fn] = 0, 0
	return n, d
}

const adminToken = "cost-model-token"

// Measure simulates size's month and returns its counts scaled to MonthDays.
//
// The brand is seeded as it was a month ago and the baseline sync runs then
// (onboarding, not counted). Day 0 is also the poster's measured day: two
// posts are scheduled through the API and 1440 real ticks run with the clock
// stepping a minute each. Then for each day the simulator delivers the day's
// callbacks to the app over HTTP, each with the clock at its event's time,
// the day's arrivals through the brand's QR code follow, and each add or
// delete event's first touch runs as its own poster invocation right after
// its callback; the nightly chain runs at 00:05 the next day. Finally one
// dashboard load is measured.
func Measure(ctx context.Context, size Size, opts Options) (Month, error) {
	m := Month{Size: size, Fn: map[string]Usage{}, Nightly: map[string]Usage{}}
	if size.Days <= 0 {
		return m, fmt.Errorf("size %d: no days to simulate", size.Customers)
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "siyu-cost-*"); err != nil {
			return m, err
		}
		defer os.RemoveAll(dir)
	}
	clk := testclock.New(time.Time{}) // the one clock of the simulator, the store and every function
	// Items expire on the simulated clock (pending first-touch work,
	// claims), as DynamoDB's TTL would have them then.
	sq, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("cost-%d.db", size.Customers)), store.WithClock(clk.Now))
	if err != nil {
		return m, fmt.Errorf("open sqlite: %w", err)
	}
	defer sq.Close()
	st := metered.Wrap(sq)

	logs := &counter{}
	var logw io.Writer = logs
	if opts.Verbose {
		logw = io.MultiWriter(logs, os.Stderr)
	}
	logger := slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mt := &meter{st: st, logs: logs}

	loc, err := calendar.Zone(calendar.DefaultZone)
	if err != nil {
		return m, err
	}
	first := calendar.Of(time.Now(), loc).AddDays(-size.Days - 1)
	since := first.Start(loc)
	clk.Set(since)
	sim := wecomsim.New(wecomsim.Options{Seed: 20261124, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		HTTPClient: &http.Client{Transport: &http.Transport{}}, CallbackTimeout: 30 * time.Second,
		// Each callback is received at its event's time, and its first
		// touch runs then: welcome codes fresh, events young.
		BeforeDeliver: func(ev wecom.Event) {
			if ev.CreateTime > 0 {
				clk.Set(time.Unix(ev.CreateTime, 0).Add(DeliveryLag))
			}
		}})
	defer sim.Close()

	env := map[string]string{
		"WECOM_CORP_ID": sim.CorpID(), "WECOM_SECRET": sim.Secret(), "WECOM_CALLBACK_TOKEN": sim.Token(),
		"WECOM_ENCODING_AES_KEY": sim.EncodingAESKey(), "WECOM_API_BASE": sim.URL, "WECOM_AGENT_ID": "1000002",
		"SIYU_ADMIN_TOKEN": adminToken, "SIYU_PUBLIC_URL": "https://brand.example/s",
		"SIYU_REPORT_WEBHOOK": sim.URL + "/cgi-bin/webhook/send?key=cost",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return m, err
	}
	a, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: logger, Now: clk.Now})
	if err != nil {
		return m, fmt.Errorf("stack: %w", err)
	}
	// The callback hands each add and delete event to first touch as on
	// Lambda: one asynchronous poster invocation per event, run here once
	// the callback has answered (the local stack's queue is not started).
	ft := &firstTouch{ctx: ctx, a: a, mt: mt}
	a.Callback.FirstTouch = pending.Marker{Store: st, Dispatch: ft.dispatch}
	th := &timed{h: a.Handler(), total: map[string]time.Duration{}, n: map[string]int{}, after: ft.run}
	srv := httptest.NewServer(th)
	defer srv.Close()
	sim.SetCallbackURL(srv.URL + "/wecom/callback")

	// Onboarding: the brand as it was, the baseline sync and its QR code.
	// Not counted. ChannelShare of the adds arrive through the QR code,
	// the rest are the simulator's.
	simAdds, arrivals := splitAdds(size.DailyAdds)
	sim.Seed(wecomsim.SeedConfig{Customers: size.Customers, Members: size.Members, Groups: size.Groups,
		DailyAdds: simAdds, Until: since})
	if _, err := a.RunJob(ctx, jobs.Request{Job: "sync"}); err != nil {
		return m, fmt.Errorf("baseline sync: %w", err)
	}
	way, err := makeChannel(ctx, a, sim)
	if err != nil {
		return m, err
	}

	raw := map[string]Usage{}
	// The poster's day: two posts scheduled through the API, 1440 ticks.
	clk.Set(since.Add(time.Minute))
	s0 := mt.snap()
	if err := schedulePosts(ctx, srv.URL, since, sim); err != nil {
		return m, err
	}
	n, d := th.take(FnAPI)
	raw[FnAPI] = mt.since(s0, n, d)
	posterDay, idle, active, err := posterTicks(ctx, a, clk, mt, since)
	if err != nil {
		return m, err
	}
	m.PosterIdle, m.PosterActive = idle, active

	for i := range size.Days {
		dayStarted := time.Now()
		dayStart := first.AddDays(i).Start(loc)
		dayEnd := first.AddDays(i + 1).Start(loc)
		clk.Set(dayStart)
		s := mt.snap()
		ft0 := ft.usage()
		before := len(sim.Deliveries())
		if err := sim.Simulate(ctx, dayStart, dayEnd, true); err != nil {
			return m, fmt.Errorf("simulate day %d: %w", i, err)
		}
		// Then the day's arrivals through the QR code, each at its time
		// (after the simulator's traffic of the day, not interleaved).
		ft.setWelcomed(true)
		for _, at := range arrivalTimes(dayStart, arrivals) {
			ev, err := sim.ArriveThroughContactWay(ctx, way.ConfigID, sim.NewCustomerID(), at)
			if err != nil {
				ft.setWelcomed(false)
				return m, fmt.Errorf("day %d: arrival at %s: %w", i, at.Format(time.DateTime), err)
			}
			m.Arrivals++
			if len(sim.TagsOf(ev.UserID, ev.ExternalUserID)) == len(way.Tags) {
				m.Tagged++
			}
		}
		ft.setWelcomed(false)
		m.Deliveries += len(sim.Deliveries()) - before
		n, d := th.take(FnCallback)
		m.CallbackRequests += n
		u := raw[FnCallback]
		u.add(mt.since(s, n, d).without(sub(ft.usage(), ft0)))
		raw[FnCallback] = u

		// The nightly chain (app's "nightly": sync → rollup → moments →
		// report), its jobs run one by one so each is booked apart; on the
		// cloud the chain is one invocation.
		clk.Set(dayEnd.Add(5 * time.Minute))
		var night time.Duration
		for _, job := range NightlyJobs {
			s = mt.snap()
			start := time.Now()
			if _, err := a.RunJob(ctx, jobs.Request{Job: job}); err != nil {
				m.NightlyErrors++
			}
			d := time.Since(start)
			night += d
			u := mt.since(s, 0, d)
			j := m.Nightly[job]
			j.add(u)
			m.Nightly[job] = j
			nu := raw[FnRollup]
			nu.add(u)
			raw[FnRollup] = nu
		}
		nu := raw[FnRollup]
		nu.Invocations++
		nu.Seconds += billedMs(night).Seconds() - night.Seconds()
		raw[FnRollup] = nu
		if opts.Progress != nil {
			opts.Progress(i, m.Deliveries, time.Since(dayStarted))
		}
	}

	// One dashboard load, measured after the month (stats exist).
	s := mt.snap()
	to := first.AddDays(size.Days - 1)
	if err := dashboardLoad(ctx, srv.URL, first.String(), to.String()); err != nil {
		return m, err
	}
	n, d = th.take(FnAPI)
	m.DashboardLoad = mt.since(s, n, d)

	m.FirstTouchEvents, m.FirstTouchErrors = ft.events, ft.errors
	for _, d := range sim.Deliveries() {
		if d.Delivered && pending.Needs(d.Event) {
			m.FirstTouchDue++
		}
	}
	m.Welcomed = ft.welcomedU
	m.WelcomesSent = len(sim.Welcomes())

	// Scale to the month.
	f := float64(MonthDays) / float64(size.Days)
	m.Fn[FnCallback] = raw[FnCallback].scaled(f)
	m.Fn[FnFirstTouch] = ft.usage().scaled(f)
	m.Fn[FnRollup] = raw[FnRollup].scaled(f)
	m.Fn[FnPoster] = posterDay.scaled(MonthDays)
	api := raw[FnAPI].scaled(MonthDays) // post scheduling, per day
	api.add(m.DashboardLoad.scaled(DashboardLoadsPerDay * MonthDays))
	m.Fn[FnAPI] = api
	m.SchedulerInvocations = (24*60 + 1) * MonthDays
	// Cold starts, an upper bound: every callback, api request, nightly
	// run and first-touch invoke starts a new environment (an invoke may
	// find the poster's warm one, or not); the poster's ticks, every
	// minute, stay warm but are recycled once an hour.
	for _, fn := range []string{FnCallback, FnAPI, FnRollup, FnFirstTouch} {
		u := m.Fn[fn]
		u.ColdStarts = u.Invocations
		m.Fn[fn] = u
	}
	pu := m.Fn[FnPoster]
	pu.ColdStarts = 24 * MonthDays
	m.Fn[FnPoster] = pu

	m.Items, m.TableBytes, err = tableSize(ctx, sq.DB())
	if err != nil {
		return m, err
	}
	return m, nil
}
