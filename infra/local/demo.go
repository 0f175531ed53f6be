package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// demoSettings persist across runs so a second `make run` replays the same
// brand into the same store (duplicates are ignored by the event log).
type demoSettings struct {
	Seed  int64     `json:"seed"`
	Since time.Time `json:"since"`
}

// demo is the WeCom simulator standing in for a brand's WeCom.
type demo struct {
	sim      *wecomsim.Sim
	settings demoSettings
	// logger prints the demo's phases; the components log through the
	// stack's quiet logger.
	logger *slog.Logger
	clock  *clock
	// lastMoments is when the live loop last synced Moments engagement.
	lastMoments time.Time
	// lastArrival is when a customer last arrived through a demo channel;
	// arrivals counts them, so they alternate between the channels.
	lastArrival time.Time
	arrivals    int
	// arrivalFailed keeps a failing channel to one warning until it works.
	arrivalFailed bool
	// callbacks carries the simulator's callbacks to the stack.
	callbacks *http.Transport
}

// clock is the demo's shared clock: the simulator and the app read it, so
// the baseline sync can run "at" the start of the replayed month.
type clock struct {
	mu  sync.Mutex
	set time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set.IsZero() {
		return time.Now()
	}
	return c.set
}

// Travel pins the clock at t; a zero t returns to real time.
func (c *clock) Travel(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = t
}

// DemoDays is how much history the demo plays on first start.
const DemoDays = 30

// LiveEvery is how often the demo's brand produces live events.
const LiveEvery = 20 * time.Second

// ArriveEvery is how often a new customer arrives through one of the demo's
// channels, in turn: the first-touch pipeline welcomes and tags them live.
const ArriveEvery = time.Minute

// MomentsEvery is how often the demo syncs Moments engagement (the cloud
// does it nightly; the demo's Moments move within minutes).
const MomentsEvery = time.Minute

// DemoEngagement makes members publish the demo's Moments within two
// minutes, customers see them within five and react within five more: the
// funnel fills while someone watches. A real brand's take hours
// (wecomsim.DefaultEngagement).
var DemoEngagement = wecomsim.Engagement{PublishPercent: 85, PublishWithin: 2 * time.Minute, ReachWithin: 5 * time.Minute,
	LikePercent: 10, CommentPercent: 4, ReactWithin: 5 * time.Minute, CapPercent: 5}

// startDemo starts the simulator of the demo's brand and points cfg at it.
// What the brand published and its channels and tags survive restarts in
// dir (as WeCom keeps them), so a second run still follows the Moments of
// the first and customers still arrive through its channels.
func startDemo(cfg *config.Config, dir string, logger, components *slog.Logger) (*demo, error) {
	path := filepath.Join(dir, "demo.json")
	var set demoSettings
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to start a fresh demo)", path, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		set = demoSettings{Seed: 20261124, Since: calendar.Of(time.Now(), cfg.Loc).AddDays(-DemoDays).Start(cfg.Loc)}
		b, _ := json.MarshalIndent(set, "", "  ")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	clk := &clock{}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	sim := wecomsim.New(wecomsim.Options{Seed: set.Seed, Now: clk.Now, Logger: components.With("component", "wecomsim"),
		CallbackTimeout: 5 * time.Second, StateFile: filepath.Join(dir, "wecomsim.json"),
		HTTPClient: &http.Client{Transport: transport}})
	sim.SetEngagement(DemoEngagement)
	cfg.CorpID, cfg.Secret = sim.CorpID(), sim.Secret()
	cfg.CallbackToken, cfg.EncodingAESKey = sim.Token(), sim.EncodingAESKey()
	cfg.APIBase = sim.URL
	if cfg.AgentID == "" {
		cfg.AgentID = "1000002"
	}
	if cfg.ReportWebhook == "" {
		cfg.ReportWebhook = sim.URL + "/cgi-bin/webhook/send?key=demo"
	}
	logger.Info("demo mode: no WeCom credentials, using the built-in WeCom simulator", "wecom_api", sim.URL, "corp", sim.CorpID())
	return &demo{sim: sim, settings: set, logger: logger, clock: clk, callbacks: transport}, nil
}

func (d *demo) Close() { d.sim.Close() }

// CloseIdle closes the callback client's idle connections to the stack.
func (d *demo) CloseIdle() { d.callbacks.CloseIdleConnections() }

// Play runs the demo's start with the components quiet (one line per
// phase), then keeps a live trickle of events going until ctx ends.
func (d *demo) Play(ctx context.Context, callbackURL string, s *stack.Stack, quiet quietHandler) {
	quiet.quiet.Store(true)
	err := d.Start(ctx, callbackURL, s)
	quiet.quiet.Store(false)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Error("demo stopped", "err", err)
		}
		return
	}
	d.Live(ctx, s)
}

// Start verifies the callback URL like the admin console, takes the
// baseline, plays the brand's history as real callbacks, runs the nightly
// jobs over it and sends the demo's posts.
func (d *demo) Start(ctx context.Context, callbackURL string, s *stack.Stack) error {
	loc := s.Loc
	d.sim.SetCallbackURL(callbackURL)
	if err := d.sim.VerifyURL(ctx, callbackURL); err != nil {
		return fmt.Errorf("callback URL verification: %w", err)
	}
	d.logger.Info("demo: callback URL verified like the WeCom admin console does")

	// The brand as it was when Siyu was switched on, a month ago: the first
	// sync imports it as the baseline, at that time. On later runs the
	// baseline exists and the replay below only rebuilds the simulator.
	d.sim.Seed(wecomsim.SeedConfig{Until: d.settings.Since})
	day, set, err := churn.BaselineDay(ctx, s.Store)
	if err != nil {
		return fmt.Errorf("read baseline: %w", err)
	}
	if set {
		d.logger.Info("demo: baseline kept from the first run", "day", day.String())
	} else {
		d.clock.Travel(d.settings.Since)
		res, err := s.RunJob(ctx, jobs.Request{Job: "sync"})
		d.clock.Travel(time.Time{})
		if err != nil {
			return fmt.Errorf("baseline sync: %w", err)
		}
		d.logger.Info("demo: baseline synced", "as_of", d.settings.Since.In(loc).Format(time.DateOnly),
			"members", res["members"], "relationships", res["relationships"], "groups", res["groups"])
	}

	now := d.clock.Now()
	if err := d.sim.Simulate(ctx, d.settings.Since, now, true); err != nil {
		return fmt.Errorf("replay history: %w", err)
	}
	d.logger.Info("demo: history replayed as signed, encrypted callbacks (repeats are deduplicated)",
		"callbacks", len(d.sim.Deliveries()), "since", d.settings.Since.In(loc).Format(time.DateOnly))

	made, arrived := d.channels(ctx, s)
	d.logger.Info("demo: channels", "created", made, "customers_through_them", arrived)

	yesterday := calendar.Of(now, loc).AddDays(-1)
	res, err := s.RunJob(ctx, jobs.Request{Job: "rollup", From: calendar.Of(d.settings.Since, loc).String(), To: yesterday.String()})
	if err != nil {
		return fmt.Errorf("rollup: %w", err)
	}
	d.logger.Info("demo: rolled up", "days", res["days"], "new_customers", res["new_customers"],
		"lost_customers", res["lost_customers"], "customers_end", res["customers_end"])

	// Then what the 00:05 timer does every night. A failed step is logged
	// by the job runner and does not stop the demo.
	res, err = s.RunJob(ctx, jobs.Request{Job: "nightly"})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d.logger.Info("demo: nightly jobs ran (sync, rollup, moments, report)", "report", res["report"], "ok", err == nil)

	scheduled, sent := d.sendPosts(ctx, s)
	d.logger.Info("demo: posts", "scheduled", scheduled, "sent", sent)
	d.syncMoments(ctx, s)
	d.logger.Info("demo: live", "events_every", LiveEvery, "customer_through_a_channel_every", ArriveEvery,
		"moments_engagement_every", MomentsEvery)
	return ctx.Err()
}

// Live plays the brand's new events every LiveEvery until ctx ends.
func (d *demo) Live(ctx context.Context, s *stack.Stack) {
	last := d.clock.Now()
	tick := time.NewTicker(LiveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			last = d.liveStep(ctx, s, last)
		}
	}
}

// liveStep delivers the events since last, every ArriveEvery has a
// customer arrive through a demo channel and, every MomentsEvery, syncs
// Moments engagement so the funnel moves. It returns the new last.
func (d *demo) liveStep(ctx context.Context, s *stack.Stack, last time.Time) time.Time {
	now := d.clock.Now()
	if err := d.sim.Simulate(ctx, last, now, true); err != nil && ctx.Err() == nil {
		d.logger.Warn("demo: live events", "err", err)
	}
	if now.Sub(d.lastArrival) >= ArriveEvery {
		d.lastArrival = now
		d.arrive(ctx, s, now)
	}
	if now.Sub(d.lastMoments) >= MomentsEvery {
		d.syncMoments(ctx, s)
	}
	return now
}

// Demo channel states: the channels are found by them in the store, so a
// second run (or a channel remade in the console) still gets arrivals.
const (
	shopState = "store-qr"
	liveState = "douyin-live"
)

// arrive has a new customer add a member through the demo's channels in
// turn — the shop's QR code, then the live stream's link — at now, as a
// real callback the first-touch pipeline acts on. It logs nothing unless
// it fails (once, until it works again).
func (d *demo) arrive(ctx context.Context, s *stack.Stack, now time.Time) {
	if s.Channels == nil {
		return
	}
	all, err := s.Channels.List(ctx)
	if err != nil {
		d.arrivalFailure(ctx, err)
		return
	}
	var ways []channels.Channel
	for _, state := range []string{shopState, liveState} {
		i := slices.IndexFunc(all, func(c channels.Channel) bool { return c.State == state && !c.Pending })
		if i >= 0 {
			ways = append(ways, all[i])
		}
	}
	if len(ways) == 0 {
		return
	}
	c := ways[d.arrivals%len(ways)]
	d.arrivals++
	customer := d.sim.NewCustomerID()
	switch c.Kind {
	case channels.KindContactWay:
		_, err = d.sim.ArriveThroughContactWay(ctx, c.ConfigID, customer, now)
	case channels.KindAcquisitionLink:
		_, err = d.sim.ArriveThroughLink(ctx, c.LinkID, c.State, customer, now)
	}
	if err != nil {
		d.arrivalFailure(ctx, fmt.Errorf("channel %s: %w", c.Name, err))
		return
	}
	d.arrivalFailed = false
}

func (d *demo) arrivalFailure(ctx context.Context, err error) {
	if ctx.Err() == nil && !d.arrivalFailed {
		d.logger.Warn("demo: a customer could not arrive through a channel", "err", err)
	}
	d.arrivalFailed = true
}

// syncMoments reads the demo's Moments engagement from the simulator; the
// job runs silently (it would log a line a minute).
func (d *demo) syncMoments(ctx context.Context, s *stack.Stack) {
	d.lastMoments = d.clock.Now()
	if _, err := s.Moments.Job(ctx, jobs.Request{Job: "moments"}); err != nil && ctx.Err() == nil {
		d.logger.Warn("demo: Moments engagement sync", "err", err)
	}
}

// sendPosts queues the demo's posts the first time it runs — a Moment and
// a group message now, two Moments tomorrow — and runs the poster twice:
// what its next two minutes do (send, then follow the Moment's job). It
// returns how many posts it scheduled and how many are sent.
func (d *demo) sendPosts(ctx context.Context, s *stack.Stack) (scheduled, sent int) {
	ids := d.schedulePosts(ctx, s)
	for range 2 {
		if _, err := s.RunJob(ctx, jobs.Request{Job: "poster"}); err != nil {
			break
		}
	}
	for _, id := range ids {
		if p, err := s.Posts.Get(ctx, id); err == nil && p.Status == posts.Sent {
			sent++
		}
	}
	return len(ids), sent
}

// schedulePosts queues the posts once per store and returns their ids.
func (d *demo) schedulePosts(ctx context.Context, s *stack.Stack) []string {
	if s.Posts == nil {
		return nil
	}
	if _, err := s.Store.Get(ctx, "demo", "posts"); err == nil {
		return nil
	}
	loc := s.Loc
	now := d.clock.Now().In(loc)
	tomorrow := calendar.Of(now, loc).AddDays(1).Start(loc)
	members := d.sim.Members()
	sender := ""
	if len(members) > 0 {
		sender = members[0].UserID
	}
	drafts := []posts.Draft{
		{Kind: posts.Moment, SendAt: now.Format(time.RFC3339), Text: "【新品上市】冬季限定礼盒今日开售，老客专享 9 折，点击了解详情。"},
		{Kind: posts.GroupMessage, SendAt: now.Format(time.RFC3339), Text: "您好，本周六门店会员日，到店可领取小礼品一份。", ChatType: "single", Sender: sender},
		{Kind: posts.Moment, SendAt: tomorrow.Add(8 * time.Hour).Format(time.RFC3339), Text: "早安！今日份的好物推荐，限时直播间见。", IfFull: posts.IfFullNextFreeSlot},
		{Kind: posts.Moment, SendAt: tomorrow.Add(21 * time.Hour).Format(time.RFC3339), Text: "晚安，明天见～ 本周热卖榜单已更新。", IfFull: posts.IfFullNextFreeSlot},
	}
	var ids []string
	for _, dr := range drafts {
		p, err := s.Posts.Create(ctx, dr)
		if err != nil {
			d.logger.Warn("demo: schedule post", "err", err)
			continue
		}
		ids = append(ids, p.ID)
	}
	_, _ = s.Store.Put(ctx, store.Item{PK: "demo", SK: "posts", Data: []byte(`{}`)}, store.Always)
	return ids
}

// channels makes the demo's two channels the first time it runs — a
// 「联系我」 QR code for the shop, with a welcome and two tags, and an
// acquisition link for live streams with its own welcome — and has
// customers arrive through them every day of the replayed month, as real
// callbacks. It returns how many channels it made and customers it brought.
func (d *demo) channels(ctx context.Context, s *stack.Stack) (made, arrived int) {
	if s.Channels == nil || !s.Channels.Configured() {
		return 0, 0
	}
	if _, err := s.Store.Get(ctx, "demo", "channels"); err == nil {
		return 0, 0
	}
	members := d.sim.Members()
	if len(members) < 2 {
		return 0, 0
	}
	group, err := s.Channels.AddTags(ctx, channels.NewTags{GroupName: "渠道来源", Tags: []channels.NewTag{{Name: "门店"}, {Name: "新客"}}})
	if err != nil {
		d.logger.Warn("demo: tags", "err", err)
		return 0, 0
	}
	var tags []string
	for _, t := range group.Tags {
		tags = append(tags, t.ID)
	}
	shop, err := s.Channels.Create(ctx, channels.Draft{Name: "门店二维码", Kind: channels.KindContactWay, State: shopState,
		Members: []string{members[0].UserID, members[1].UserID}, Tags: tags,
		Welcome: &channels.Welcome{Text: "%NICKNAME%，欢迎光临！到店出示本消息可领取会员礼一份。",
			Attachments: []channels.Attachment{{Type: "link", URL: "https://shop.example.com/member", Title: "会员权益"}}}})
	if err != nil {
		d.logger.Warn("demo: channel", "err", err)
		return 0, 0
	}
	live, err := s.Channels.Create(ctx, channels.Draft{Name: "抖音直播获客链接", Kind: channels.KindAcquisitionLink, State: liveState,
		Members: []string{members[0].UserID}, SkipVerify: true,
		Welcome: &channels.Welcome{Text: "感谢从直播间添加！回复「福利」领取直播专属优惠券。"}})
	if err != nil {
		d.logger.Warn("demo: channel", "err", err)
		return 1, 0
	}
	loc := s.Loc
	// History ends an hour ago: an arrival of the last hour would still be
	// greeted, and its welcome code, long dead, would be recorded expired
	// with a warning (older ones are past first touch and skipped). The
	// live arrivals that follow are greeted.
	until := d.clock.Now().Add(-pending.Window)
	for day := calendar.Of(d.settings.Since, loc); day.Start(loc).Before(until); day = day.AddDays(1) {
		for i, h := range []int{10, 15, 20} {
			at := day.Start(loc).Add(time.Duration(h)*time.Hour + time.Duration(i*7)*time.Minute)
			if !at.Before(until) {
				break
			}
			var err error
			if i < 2 {
				_, err = d.sim.ArriveThroughContactWay(ctx, shop.ConfigID, d.sim.NewCustomerID(), at)
			} else {
				_, err = d.sim.ArriveThroughLink(ctx, live.LinkID, live.State, d.sim.NewCustomerID(), at)
			}
			if err != nil {
				d.logger.Warn("demo: arrival", "err", err)
				return 2, arrived
			}
			arrived++
		}
	}
	_, _ = s.Store.Put(ctx, store.Item{PK: "demo", SK: "channels", Data: []byte(`{}`)}, store.Always)
	return 2, arrived
}
