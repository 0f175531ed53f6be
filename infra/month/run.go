package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/testutil"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim/scenario"
)

// Options shape a run.
type Options struct {
	Seed      int64
	Customers int
	Days      int
	// First is the first simulated day (the baseline ends at its start).
	First calendar.Day
	// Steady lives a brand that keeps its size (adds of 0.5 % of its
	// customers a day balanced by churn) instead of one growing 1.5 % a
	// day: a year "at 10^5 customers" stays at 10^5.
	Steady bool
	// Faults turns on every fault: duplicates, concurrent and late
	// replays, failing store writes, the outage, dying poster ticks, token
	// expiry and WeCom errors.
	Faults bool
	// WelcomesSent checks that every fresh welcome code was greeted exactly
	// once; off until the stack sends welcomes (at most once is always
	// checked).
	WelcomesSent bool
	// Child, when set, starts the stack in a child process for the kill
	// phases (see child.go); nil runs everything in process.
	Child func(ctx context.Context, env map[string]string, stderr io.Writer) (*Child, error)
	// Kills is how many times the child is killed (each on its own day).
	Kills int
	// Progress, if set, is told when each day is done.
	Progress func(day int, f Figures)
	Logger   *slog.Logger
	// Clock is the one clock (the store's expiry must read it too); a new
	// one at the start of First when nil.
	Clock *testclock.Clock
}

// Figures are what a run prints.
type Figures struct {
	Customers          int
	Days               int
	Events             int // distinct callbacks WeCom made
	Delivered          int // POSTs that answered 200
	Duplicates         int // extra deliveries of an event already stored
	Concurrent         int // duplicates sent at the same time as another copy
	Replayed           int // duplicates replayed hours later
	Failures           int // store writes failed on purpose
	Retries5xx         int // callbacks answered 5xx and retried
	Unexpected5xx      int // 5xx without an injected failure
	Kills              int
	Lost               int // callbacks lost in the outage
	Reconciled         int // events the nightly sync recovered
	PostsScheduled     int
	PostsSent          int
	TicksDied          int
	WeComErrors        int // -1 and 45009 injected
	TokenExpiries      int
	WelcomesSent       int
	Mismatches         int
	Panics             int
	NightlyMax         time.Duration
	NightlyTotal       time.Duration
	NightlyRequestsMax int64 // store calls (a batch call counts once)
	NightlyItemsMax    int64 // items read and written
	NightlyRequests    int64 // over every night
	NightlyItems       int64
	NightlyWeComCalls  int64 // over every night
	NightlyLast        time.Duration
	// NightlySteps splits the nightly figures by step, over every night.
	NightlySteps    map[string]Step
	NightlyPeakHeap uint64
	Wall            time.Duration
	// Where the wall time went: building the brand and the baseline sync,
	// delivering callbacks (with the first-touch work behind them), poster
	// ticks, and the final check (nightly runs are NightlyTotal).
	SetupTime, DeliverTime, TickTime, CheckTime time.Duration
	MismatchList                                []string
}

// Step is one nightly step's figures summed over the nights.
type Step struct {
	Time       time.Duration
	Items      int64
	WeComCalls int64
}

const adminToken = "month-admin-token"

// run is one simulated month (or year) through the stack's handlers.
type run struct {
	opts    Options
	clk     *testclock.Clock
	sim     *wecomsim.Sim
	sc      *scenario.Scenario
	fs      *faultStore
	st      *stack.Stack
	loc     *time.Location
	url     atomic.Value // base URL callbacks and API calls go to
	inproc  string
	hc      *http.Client
	rng     *rand.Rand
	fig     Figures
	mu      sync.Mutex
	replays []replay
	logs    *testutil.SyncBuffer
	posts   []postRef
	child   *Child
	// injectedOn is the day (1-based) WeCom errors were last injected.
	injectedOn int
}

type replay struct {
	at time.Time
	ev wecom.Event
}

type postRef struct {
	id   string
	plan scenario.Post
}

// Run simulates opts.Days days of a brand of opts.Customers customers on
// st, checks every figure against the ground truth and returns the figures.
func Run(ctx context.Context, st store.Store, opts Options) (Figures, error) {
	began := time.Now()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	loc := wecom.Beijing
	r := &run{opts: opts, loc: loc, rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0xde11)), logs: &testutil.SyncBuffer{}}
	r.fig.Customers, r.fig.Days = opts.Customers, opts.Days
	r.clk = opts.Clock
	if r.clk == nil {
		r.clk = testclock.New(opts.First.Start(loc))
	}
	r.clk.Set(opts.First.Start(loc))
	r.sim = wecomsim.New(wecomsim.Options{Seed: opts.Seed, Now: r.clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer r.sim.Close()
	r.sim.SetCallbackURL("") // the run delivers
	r.sim.SetMomentJobDelay(2 * time.Minute)

	perMille := 0
	if opts.Faults {
		perMille = 10
	}
	r.fs = newFaultStore(st, opts.Seed, perMille)
	watch.store.Store(r.fs)
	defer watch.store.Store(nil)

	cfg, err := config.Load(func(k string) string { return r.env()[k] })
	if err != nil {
		return r.fig, err
	}
	logger := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r.st, err = stack.New(start.Deps{Config: cfg, Store: r.fs.wrap(), Logger: logger, Now: r.clk.Now})
	if err != nil {
		return r.fig, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return r.fig, err
	}
	srv := &http.Server{Handler: r.st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	r.inproc = "http://" + ln.Addr().String()
	r.url.Store(r.inproc)
	r.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}

	outageDay := -1
	if opts.Faults && opts.Days >= 3 {
		outageDay = opts.Days / 3
	}
	var adds int
	var churn float64
	if opts.Steady {
		adds, churn = max(opts.Customers/200, 4), scenario.SteadyChurn
	}
	r.sc, err = scenario.New(ctx, r.sim, scenario.Config{Seed: opts.Seed, Customers: opts.Customers, DailyAdds: adds, DailyChurn: churn,
		Members: min(max(opts.Customers/50, 6), 200), Groups: min(max(opts.Customers/250, 4), 100),
		First: opts.First, Loc: loc, OutageDay: outageDay, OutageFrom: 10 * time.Hour, PostsPerDay: 3})
	if err != nil {
		return r.fig, err
	}
	// First touch: the queue's worker greets behind each stored add (the
	// clock waits for it, see advance), with the brand's default welcome.
	r.st.FirstTouch.RetryAfter = firstTouchRetry
	r.st.FirstTouch.Start(ctx)
	if opts.WelcomesSent {
		settings := map[string]any{"default_welcome": map[string]any{"text": "%NICKNAME%，欢迎关注！"},
			"churn_alert": map[string]any{"enabled": true}, "deletion_alert": map[string]any{"enabled": true, "threshold": 10, "window_minutes": 60}}
		if err := r.api(ctx, http.MethodPut, "/api/settings", settings, nil); err != nil {
			return r.fig, fmt.Errorf("settings: %w", err)
		}
	}
	// The baseline: the first sync, at the start of the first day.
	if _, err := r.st.RunJob(ctx, jobs.Request{Job: "sync"}); err != nil {
		return r.fig, fmt.Errorf("baseline sync: %w", err)
	}
	r.fig.SetupTime = time.Since(began)
	killDays := map[int]bool{}
	if opts.Child != nil {
		for k := range opts.Kills {
			killDays[1+k*max(1, (opts.Days-2)/max(1, opts.Kills))] = true
		}
	}
	for i := range opts.Days {
		if err := ctx.Err(); err != nil {
			return r.fig, err
		}
		if err := r.day(ctx, i, killDays[i]); err != nil {
			return r.fig, fmt.Errorf("day %d: %w", i+1, err)
		}
		if opts.Progress != nil {
			opts.Progress(i, r.fig)
		}
	}
	r.flushReplays(ctx, time.Time{})
	checkBegan := time.Now()
	if err := r.check(ctx); err != nil {
		return r.fig, err
	}
	r.fig.CheckTime = time.Since(checkBegan)
	r.fig.Failures = int(r.fs.injected.Load())
	r.fig.TicksDied = int(r.fs.died.Load())
	r.fig.Panics = strings.Count(r.logs.String(), "panic")
	r.fig.Wall = time.Since(began)
	return r.fig, nil
}

func (r *run) env() map[string]string {
	return map[string]string{
		"WECOM_CORP_ID": r.sim.CorpID(), "WECOM_SECRET": r.sim.Secret(), "WECOM_CALLBACK_TOKEN": r.sim.Token(),
		"WECOM_ENCODING_AES_KEY": r.sim.EncodingAESKey(), "WECOM_API_BASE": r.sim.URL, "WECOM_AGENT_ID": "1000002",
		"SIYU_ADMIN_TOKEN": adminToken, "SIYU_PUBLIC_URL": "https://brand.example/s",
		"SIYU_REPORT_WEBHOOK": r.sim.URL + "/cgi-bin/webhook/send?key=month",
	}
}

// advance moves the one clock forward to t (never back).
func (r *run) advance(t time.Time) {
	if t.After(r.clk.Now()) {
		// The first-touch work of what was delivered happens "now", as it
		// would within milliseconds live, before the clock moves on.
		// The child's clock endpoint waits for its queue the same way.
		r.st.FirstTouch.Idle(context.Background())
		r.childClock(context.Background())
		r.clk.Set(t)
		r.childClock(context.Background())
	}
}

// step is one thing that happens at an instant of the day.
type step struct {
	at   time.Time
	ev   *scenario.Event
	tick bool
}

// day plays day i: schedules its posts, delivers its callbacks with every
// fault, ticks the poster around the posts' times, and runs the nightly
// chain at 00:05 the next day.
func (r *run) day(ctx context.Context, i int, kill bool) error {
	dayStart := r.opts.First.AddDays(i).Start(r.loc)
	r.advance(dayStart.Add(time.Minute))
	evs := r.sc.Day(i)
	// Posts are scheduled through the API in the first minutes of the day.
	var steps []step
	ticks := map[time.Time]bool{}
	for _, p := range r.sc.Posts(i) {
		id, err := r.createPost(ctx, p)
		if err != nil {
			return err
		}
		r.posts = append(r.posts, postRef{id: id, plan: p})
		r.fig.PostsScheduled++
		for m := -1; m <= 12; m++ {
			ticks[p.SendAt.Truncate(time.Minute).Add(time.Duration(m)*time.Minute)] = true
		}
	}
	for t := range ticks {
		steps = append(steps, step{at: t, tick: true})
	}
	// Transfers delivered deletion first: swap the pair in delivery order.
	for j := 0; j+1 < len(evs); j++ {
		if evs[j].Transfer != 0 && evs[j].Reversed && evs[j+1].Transfer == evs[j].Transfer {
			evs[j], evs[j+1] = evs[j+1], evs[j]
			j++
		}
	}
	for j := range evs {
		steps = append(steps, step{at: evs[j].At, ev: &evs[j]})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })

	// Faults of the day: the token expires at noon; WeCom answers -1 and
	// 45009 once each on a send.
	noon := dayStart.Add(12 * time.Hour)
	expired := false
	killAt := -1
	if kill && len(evs) > 4 {
		killAt = len(evs) / 2
		if err := r.startChild(ctx); err != nil {
			return err
		}
	}
	delivered := 0
	// Callbacks come in bursts: those of the next burstWindow arrive at
	// once, the clock at the first one's instant (no code is older than
	// the clock, so none expires on the way), each customer's in order.
	var burst []wecom.Event
	var burstAt time.Time
	flush := func() error {
		if len(burst) == 0 {
			return nil
		}
		stepBegan := time.Now()
		if r.opts.Faults && !expired && !burstAt.Before(noon) {
			r.sim.ExpireTokens()
			r.fig.TokenExpiries++
			expired = true
		}
		r.advance(burstAt)
		r.flushReplays(ctx, burstAt)
		if delivered == killAt && r.child != nil {
			// Mid-stream: copies of this event are in flight when the
			// child dies; WeCom's retries reach the restarted one.
			if err := r.killChild(ctx, burst[0]); err != nil {
				return err
			}
		}
		err := r.deliverBurst(ctx, burst)
		r.fig.DeliverTime += time.Since(stepBegan)
		delivered += len(burst)
		burst = burst[:0]
		return err
	}
	for _, s := range steps {
		if s.tick {
			if err := flush(); err != nil {
				return err
			}
			stepBegan := time.Now()
			if r.opts.Faults && !expired && !s.at.Before(noon) {
				r.sim.ExpireTokens()
				r.fig.TokenExpiries++
				expired = true
			}
			r.advance(s.at)
			r.flushReplays(ctx, s.at)
			err := r.tick(ctx, i)
			r.fig.TickTime += time.Since(stepBegan)
			if err != nil {
				return err
			}
			continue
		}
		r.fig.Events++
		if s.ev.Lost {
			r.fig.Lost++
			continue
		}
		if len(burst) > 0 && (!s.at.Before(burstAt.Add(burstWindow)) || len(burst) == maxBurst ||
			(r.opts.Faults && !expired && !s.at.Before(noon)) || delivered+len(burst) == killAt) {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(burst) == 0 {
			burstAt = s.at
		}
		burst = append(burst, s.ev.Event)
	}
	if err := flush(); err != nil {
		return err
	}
	if r.child != nil {
		r.stopChild()
	}
	// The nightly chain at 00:05.
	r.advance(r.sc.NightlyAt(i))
	r.flushReplays(ctx, r.sc.NightlyAt(i))
	if r.opts.Faults && i%10 == 4 {
		r.sim.Inject("/cgi-bin/externalcontact/batch/get_by_user", wecom.CodeBusy, 1)
		r.fig.WeComErrors++
	}
	return r.nightly(ctx)
}

// nightly runs the 00:05 chain, timing it and counting its store requests
// and peak heap. A failed chain runs again (the next timer would).
func (r *run) nightly(ctx context.Context) error {
	r.fs.on.Store(false)
	reqs := r.fs.reads.Load() + r.fs.writes.Load()
	items := r.fs.items.Load()
	calls := watch.calls.Load()
	// The heap the nightly adds over what is live before it (the
	// simulator, the scenario and its truth share the process), collected
	// as the cloud's runtime would (GOGC=100).
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	began := time.Now()
	var err error
	// The chain's steps one by one (what the "nightly" job runs), each
	// booked apart; a failed step runs again, as the next timer would.
	for _, job := range rolluproot.NightlySteps {
		stepBegan, stepItems, stepCalls := time.Now(), r.fs.items.Load(), watch.calls.Load()
		for try := range 3 {
			if _, err = r.st.RunJob(ctx, jobs.Request{Job: job}); err == nil {
				break
			}
			r.opts.Logger.Warn("nightly step failed; running it again", "job", job, "try", try+1, "err", err)
		}
		if r.fig.NightlySteps == nil {
			r.fig.NightlySteps = map[string]Step{}
		}
		st := r.fig.NightlySteps[job]
		st.Time += time.Since(stepBegan)
		st.Items += r.fs.items.Load() - stepItems
		st.WeComCalls += watch.calls.Load() - stepCalls
		r.fig.NightlySteps[job] = st
		if err != nil {
			break
		}
	}
	took := time.Since(began)
	close(done)
	r.fig.NightlyTotal += took
	r.fig.NightlyMax = max(r.fig.NightlyMax, took)
	reqs = r.fs.reads.Load() + r.fs.writes.Load() - reqs
	items = r.fs.items.Load() - items
	r.fig.NightlyRequestsMax = max(r.fig.NightlyRequestsMax, reqs)
	r.fig.NightlyItemsMax = max(r.fig.NightlyItemsMax, items)
	r.fig.NightlyRequests += reqs
	r.fig.NightlyItems += items
	r.fig.NightlyWeComCalls += watch.calls.Load() - calls
	r.fig.NightlyLast = took
	if p := peak.Load(); p > base.HeapInuse {
		r.fig.NightlyPeakHeap = max(r.fig.NightlyPeakHeap, p-base.HeapInuse)
	}
	if err != nil {
		return fmt.Errorf("nightly: %w", err)
	}
	return nil
}

// tick runs the poster as the every-minute timer does, twice at once (two
// overlapping runs). On the first day's first send, a tick dies between
// its WeCom call and its state write; WeCom answers -1 or 45009 now and then.
func (r *run) tick(ctx context.Context, day int) error {
	r.fs.on.Store(r.opts.Faults)
	defer r.fs.on.Store(false)
	if r.opts.Faults {
		switch {
		case day == 0 && r.fs.died.Load() == 0:
			r.fs.sent.Store(false)
			r.fs.dieAfterSend.Store(true)
		case r.injectedOn != day+1 && day%5 == 1:
			// Now and then WeCom answers -1 to a send, and once a month
			// 45009 to a job poll. The client backs off in real time
			// (45009 waits 5 s), so not every day.
			r.injectedOn = day + 1
			r.sim.Inject("/cgi-bin/externalcontact/add_moment_task", wecom.CodeBusy, 1)
			r.fig.WeComErrors++
			if day%30 == 1 {
				r.sim.Inject("/cgi-bin/externalcontact/get_moment_task_result", wecom.CodeRateLimited, 1)
				r.fig.WeComErrors++
			}
		}
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = r.st.RunJob(ctx, jobs.Request{Job: "poster"})
		}()
	}
	wg.Wait()
	r.fs.dieAfterSend.Store(false)
	return nil
}

// firstTouchRetry is the first-touch workers' pause before trying an
// event again. The fault store fails calls at random, not for a while, so
// the stack's 200 ms (meant for a store in trouble) would only idle the
// run: 1 % of an add's ~10 writes is a pause for one add in ten.
const firstTouchRetry = 2 * time.Millisecond

// burstWindow and maxBurst shape the bursts callbacks come in.
const (
	burstWindow = 3 * time.Minute
	maxBurst    = 32
)

// copyPlan is how one callback is delivered: its first copy until it is
// stored, then `now` copies at the same time and `after` right after it
// (the replays hours later are queued when the plan is drawn).
type copyPlan struct {
	ev         wecom.Event
	now, after int
}

// deliverBurst delivers evs at once: each callback 1–4 times (the first
// copy until it is stored, a 5xx retried as WeCom does, the others at the
// same time, right after, or hours later), each customer's callbacks in
// order, different customers' side by side. The copies are drawn before
// any is sent, so a seed plays the same faults.
func (r *run) deliverBurst(ctx context.Context, evs []wecom.Event) error {
	var lanes [][]copyPlan
	lane := map[string]int{}
	for _, ev := range evs {
		p := copyPlan{ev: ev}
		if r.opts.Faults {
			for range r.rng.IntN(4) {
				switch r.rng.IntN(3) {
				case 0:
					r.fig.Concurrent++
					r.fig.Duplicates++
					p.now++
				case 1:
					r.fig.Duplicates++
					p.after++
				default:
					r.mu.Lock()
					r.replays = append(r.replays, replay{at: r.clk.Now().Add(time.Duration(2+r.rng.IntN(5)) * time.Hour), ev: ev})
					r.mu.Unlock()
				}
			}
		}
		k, ok := lane[ev.ExternalUserID]
		if !ok || ev.ExternalUserID == "" {
			k = len(lanes)
			lane[ev.ExternalUserID] = k
			lanes = append(lanes, nil)
		}
		lanes[k] = append(lanes[k], p)
	}
	r.fs.on.Store(r.opts.Faults)
	defer r.fs.on.Store(false)
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for k, plans := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range plans {
				if err := r.deliverCopies(ctx, p); err != nil {
					errs[k] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deliverCopies sends p's copies: the first until it is stored, some at
// the same time, some right after.
func (r *run) deliverCopies(ctx context.Context, p copyPlan) error {
	var wg sync.WaitGroup
	for range p.now {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.post(ctx, p.ev)
		}()
	}
	err := r.post(ctx, p.ev)
	wg.Wait()
	for range p.after {
		_ = r.post(ctx, p.ev)
	}
	return err
}

// post delivers one copy until it answers 200, as WeCom retries.
func (r *run) post(ctx context.Context, ev wecom.Event) error {
	var last error
	for try := range 12 {
		before := r.fs.injected.Load()
		status, err := r.postOnce(ctx, ev)
		if err == nil && status == http.StatusOK {
			r.mu.Lock()
			r.fig.Delivered++
			r.mu.Unlock()
			return nil
		}
		r.mu.Lock()
		r.fig.Retries5xx++
		if err == nil && r.fs.injected.Load() == before && r.child == nil {
			r.fig.Unexpected5xx++
		}
		r.mu.Unlock()
		last = fmt.Errorf("try %d: status %d: %v", try+1, status, err)
		if err != nil { // the child died: wait for the next one
			time.Sleep(50 * time.Millisecond)
		}
	}
	return fmt.Errorf("callback %s/%s %s never stored: %w", ev.ChangeType, ev.UpdateDetail, ev.ExternalUserID, last)
}

func (r *run) postOnce(ctx context.Context, ev wecom.Event) (int, error) {
	ts := strconv.FormatInt(r.clk.Now().Unix(), 10)
	r.mu.Lock()
	nonce := strconv.FormatUint(r.rng.Uint64()%1e10, 10)
	r.mu.Unlock()
	body, sig, err := r.sim.Crypter().Seal(wecomsim.EventXML(ev), ts, nonce)
	if err != nil {
		return 0, err
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url.Load().(string)+"/wecom/callback?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// flushReplays delivers the replays due by t (all of them for a zero t).
func (r *run) flushReplays(ctx context.Context, t time.Time) {
	r.mu.Lock()
	var due, keep []replay
	for _, rp := range r.replays {
		if t.IsZero() || !rp.at.After(t) {
			due = append(due, rp)
		} else {
			keep = append(keep, rp)
		}
	}
	r.replays = keep
	r.mu.Unlock()
	// Replays are copies of stored callbacks: they come side by side.
	r.fig.Replayed += len(due)
	r.fig.Duplicates += len(due)
	sem := make(chan struct{}, maxBurst)
	var wg sync.WaitGroup
	for _, rp := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_ = r.post(ctx, rp.ev)
		}()
	}
	wg.Wait()
}

// api calls the admin API with the bearer token.
func (r *run) api(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.inproc+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createPost schedules p through POST /api/posts.
func (r *run) createPost(ctx context.Context, p scenario.Post) (string, error) {
	in := map[string]any{"kind": p.Kind, "send_at": p.SendAt.Format(time.RFC3339), "text": p.Text}
	if p.Kind == "group_message" {
		in["chat_type"] = "single"
		in["sender"] = p.Sender
	} else {
		in["visible_range"] = map[string]any{"members": r.sc.Members()[:2]}
		in["if_full"] = "next_free_slot"
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := r.api(ctx, http.MethodPost, "/api/posts", in, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}
