package contactsync_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var shanghai = mustZone()

func mustZone() *time.Location {
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

// day0 is the day Siyu is switched on in every scenario.
var day0 = testclock.Day(2025, time.March, 3)

// at is hh:mm on day0+n, Shanghai time.
func at(n, hh, mm int) time.Time {
	return day0.AddDays(n).Start(shanghai).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// env is a simulated WeCom calling back a real callback receiver on
// loopback, the store the receiver logs into, and the sync and rollup jobs.
type env struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	sim    *wecomsim.Sim
	store  *storetest.MemStore
	log    *events.Log
	sync   *contactsync.Syncer
	rollup *churn.Rollup
}

// newEnv seeds the simulated brand with cfg (its baseline ending at day0
// 10:00) and sets the clock there.
func newEnv(t *testing.T, cfg wecomsim.SeedConfig) *env {
	t.Helper()
	clk := testclock.New(at(0, 10, 0))
	quiet := slog.New(slog.DiscardHandler)
	s := storetest.NewMemStore(clk.Now)
	log := events.NewLog(s, shanghai, nil)
	log.Now = clk.Now

	sim := wecomsim.New(wecomsim.Options{Seed: 7, Now: clk.Now, Logger: quiet})
	t.Cleanup(sim.Close)
	cb := callback.New(sim.Crypter(), log, 0, quiet, nil)
	cb.Now = clk.Now
	srv := httptest.NewServer(cb)
	t.Cleanup(srv.Close)
	sim.SetCallbackURL(srv.URL)
	cfg.Until = clk.Now()
	sim.Seed(cfg)

	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
		Store: s, Now: clk.Now, Logger: quiet, MaxRetries: -1})
	y := contactsync.New(s, client, sim.CorpID(), shanghai, quiet, nil)
	y.Now, y.Log = clk.Now, log
	r := churn.New(s, shanghai, quiet, nil)
	r.Now, r.Log = clk.Now, log
	return &env{t: t, ctx: context.Background(), clock: clk, sim: sim, store: s, log: log, sync: y, rollup: r}
}

// runSync runs the sync job at when and fails the test on an error.
func (e *env) runSync(when time.Time) jobs.Result {
	e.t.Helper()
	e.clock.Set(when)
	res, err := e.sync.Run(e.ctx, jobs.Request{Job: "sync"})
	if err != nil {
		e.t.Fatalf("sync at %s: %v", when.Format(time.DateTime), err)
	}
	return res
}

// rollDay runs the rollup job for day0+n, the next morning.
func (e *env) rollDay(n int) churn.Daily {
	e.t.Helper()
	d := day0.AddDays(n)
	e.clock.Set(at(n+1, 0, 10))
	if _, err := e.rollup.Run(e.ctx, jobs.Request{Job: "rollup", Date: d.String()}); err != nil {
		e.t.Fatalf("rollup %s: %v", d, err)
	}
	daily, ok, err := churn.GetDaily(e.ctx, e.store, d)
	if err != nil || !ok {
		e.t.Fatalf("stats of %s: found=%v err=%v", d, ok, err)
	}
	return daily
}

// reconciled lists the reconciled events of day0+n.
func (e *env) reconciled(n int) []events.Record {
	e.t.Helper()
	var out []events.Record
	err := e.log.Day(e.ctx, day0.AddDays(n), func(rec events.Record) error {
		if rec.Origin == events.OriginReconciled {
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// live is Siyu's live relationships at the clock, as pairs.
func (e *env) live() map[churn.Pair]bool {
	e.t.Helper()
	rels, err := churn.Live(e.ctx, e.store, shanghai, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[churn.Pair]bool{}
	for _, r := range rels {
		out[churn.Pair{Member: r.Member, Customer: r.Customer}] = true
	}
	return out
}

// wecomPairs is every pair the simulator's follow lists return (one-way
// relationships included).
func (e *env) wecomPairs() map[churn.Pair]bool {
	out := map[churn.Pair]bool{}
	for _, r := range e.sim.Relationships() {
		out[churn.Pair{Member: r.UserID, Customer: r.ExternalUserID}] = true
	}
	return out
}

func distinctCustomers(rels []wecomsim.Relationship) int {
	seen := map[string]bool{}
	for _, r := range rels {
		seen[r.ExternalUserID] = true
	}
	return len(seen)
}

func num(t *testing.T, res jobs.Result, key string) int64 {
	t.Helper()
	switch v := res[key].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	}
	t.Fatalf("result %q is %T (%v)", key, res[key], res[key])
	return 0
}
