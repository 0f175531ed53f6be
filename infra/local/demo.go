package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/config"
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
	logger   *slog.Logger
	clock    *clock
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

func startDemo(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*demo, error) {
	path := filepath.Join(DataDir, "demo.json")
	var set demoSettings
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("%s: %w (delete it to start a fresh demo)", path, err)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		set = demoSettings{Seed: 20261124, Since: calendar.Of(time.Now(), cfg.Loc).AddDays(-DemoDays).Start(cfg.Loc)}
		b, _ := json.MarshalIndent(set, "", "  ")
		if err := os.MkdirAll(DataDir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	clk := &clock{}
	sim := wecomsim.New(wecomsim.Options{Seed: set.Seed, Now: clk.Now, Logger: logger.With("component", "wecomsim"), CallbackTimeout: 5 * time.Second})
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
	return &demo{sim: sim, settings: set, logger: logger, clock: clk}, nil
}

func (d *demo) Close() { d.sim.Close() }

// Play verifies the callback URL like the admin console, seeds the brand,
// plays its history as real callbacks, runs the nightly jobs over it, then
// keeps a live trickle of events going.
func (d *demo) Play(ctx context.Context, callbackURL string, s *stack) {
	d.sim.SetCallbackURL(callbackURL)
	if err := d.sim.VerifyURL(ctx, callbackURL); err != nil {
		d.logger.Error("demo: callback URL verification failed", "err", err)
		return
	}
	d.logger.Info("demo: callback URL verified like the WeCom admin console does")
	// The brand as it was when Siyu was switched on, a month ago: the first
	// sync imports it as the baseline, at that time. On later runs the
	// baseline exists and the replay below only rebuilds the simulator.
	s.App.Now = d.clock.Now
	d.sim.Seed(wecomsim.SeedConfig{Until: d.settings.Since})
	if _, set, err := churn.BaselineDay(ctx, s.Store); err != nil {
		d.logger.Error("demo: read baseline", "err", err)
		return
	} else if !set {
		d.clock.Travel(d.settings.Since)
		_, _ = s.RunJob(ctx, jobs.Request{Job: "sync"})
		d.clock.Travel(time.Time{})
	}
	now := time.Now()
	if err := d.sim.Simulate(ctx, d.settings.Since, now, true); err != nil {
		d.logger.Error("demo: simulate history", "err", err)
	}
	d.logger.Info("demo: history delivered as callbacks (replays are deduplicated)", "deliveries", len(d.sim.Deliveries()), "since", d.settings.Since.Format(time.DateOnly))
	loc := s.loc
	yesterday := calendar.Of(now, loc).AddDays(-1)
	_, _ = s.RunJob(ctx, jobs.Request{Job: "rollup", From: calendar.Of(d.settings.Since, loc).String(), To: yesterday.String()})
	// Then what the 00:05 timer does every night.
	_, _ = s.RunJob(ctx, jobs.Request{Job: "nightly"})
	d.schedulePosts(ctx, s)
	last := now
	tick := time.NewTicker(20 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-tick.C:
			if err := d.sim.Simulate(ctx, last, t, true); err != nil {
				d.logger.Warn("demo: live events", "err", err)
			}
			last = t
		}
	}
}

// schedulePosts queues a morning and an evening Moment and a group message
// the first time the demo runs, so the poster has something to send.
func (d *demo) schedulePosts(ctx context.Context, s *stack) {
	if s.Posts == nil {
		return
	}
	if _, err := s.Store.Get(ctx, "demo", "posts"); err == nil {
		return
	}
	loc := s.loc
	now := time.Now().In(loc)
	tomorrow := calendar.Of(now, loc).AddDays(1).Start(loc)
	members := d.sim.Members()
	sender := ""
	if len(members) > 0 {
		sender = members[0].UserID
	}
	drafts := []posts.Draft{
		{Kind: posts.Moment, SendAt: now.Add(time.Minute).Format(time.RFC3339), Text: "【新品上市】冬季限定礼盒今日开售，老客专享 9 折，点击了解详情。"},
		{Kind: posts.GroupMessage, SendAt: now.Add(2 * time.Minute).Format(time.RFC3339), Text: "您好，本周六门店会员日，到店可领取小礼品一份。", ChatType: "single", Sender: sender},
		{Kind: posts.Moment, SendAt: tomorrow.Add(8 * time.Hour).Format(time.RFC3339), Text: "早安！今日份的好物推荐，限时直播间见。", IfFull: posts.IfFullNextFreeSlot},
		{Kind: posts.Moment, SendAt: tomorrow.Add(21 * time.Hour).Format(time.RFC3339), Text: "晚安，明天见～ 本周热卖榜单已更新。", IfFull: posts.IfFullNextFreeSlot},
	}
	for _, dr := range drafts {
		p, err := s.Posts.Create(ctx, dr)
		if err != nil {
			d.logger.Warn("demo: schedule post", "err", err)
			continue
		}
		d.logger.Info("demo: post scheduled", "id", p.ID, "kind", p.Kind, "send_at", p.SendAt.In(loc).Format(time.DateTime))
	}
	_, _ = s.Store.Put(ctx, store.Item{PK: "demo", SK: "posts", Data: []byte(`{}`)}, store.Always)
}
