package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/alerts"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore/dynalitetest"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var shanghai = func() *time.Location {
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// start is 2026-11-13 10:00 in Shanghai.
var start = testclock.Date(2026, 11, 13, 10, 0, 0, 0, shanghai)

// env is an alerts service on SQLite and the WeCom simulator, all on one
// clock.
type env struct {
	t      testing.TB
	ctx    context.Context
	clock  *testclock.Clock
	store  store.Store
	sim    *wecomsim.Sim
	client *wecom.Client
	log    *events.Log
	logs   *syncBuffer
	svc    *alerts.Service
}

// syncBuffer is a log sink safe for concurrent Handle calls.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Count(s.b.Bytes(), []byte(sub))
}

// opener opens a fresh store of one adapter on the test's clock.
type opener func(t testing.TB, now func() time.Time) store.Store

func openSQLite(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openDynalite(t testing.TB, now func() time.Time) store.Store {
	return dynalitetest.Open(t, store.WithClock(now))
}

// stores are the adapters sending once must hold on.
var stores = []struct {
	name string
	open opener
}{{"sqlite", openSQLite}, {"dynalite", openDynalite}}

// newEnv is an env on SQLite.
func newEnv(t testing.TB) *env { return newEnvOn(t, openSQLite) }

func newEnvOn(t testing.TB, open opener) *env {
	t.Helper()
	c := testclock.New(start)
	st := open(t, c.Now)
	sim := wecomsim.New(wecomsim.Options{Seed: 1, Now: c.Now})
	t.Cleanup(sim.Close)
	for _, m := range []string{"alice", "bob", "boss", "deputy"} {
		sim.PutMember(wecomsim.Member{UserID: m, Name: m, Departments: []int{1}})
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(), Store: st,
		Now: c.Now, Logger: logger, MaxRetries: -1, Sleep: func(context.Context, time.Duration) error { return nil }})
	e := &env{t: t, ctx: context.Background(), clock: c, store: st, sim: sim, client: client,
		log: events.NewLog(st, shanghai, c.Now), logs: logs}
	e.svc = e.service(alerts.LangZH)
	return e
}

// service is another instance on the same store and simulator.
func (e *env) service(lang string) *alerts.Service {
	return alerts.New(e.store, e.client, e.sim.AgentID(), shanghai, lang, slog.New(slog.NewTextHandler(e.logs, nil)), e.clock.Now)
}

// record stores ev as delivered by the callback and returns its record.
func (e *env) record(ev wecom.Event, err error) events.Record {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	rec, _, err := e.log.Append(e.ctx, ev, events.OriginCallback)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

// handle has the service handle rec and wants no error.
func (e *env) handle(rec events.Record) {
	e.t.Helper()
	if err := e.svc.Handle(e.ctx, rec); err != nil {
		e.t.Fatalf("handle %s %s/%s: %v", rec.ChangeType, rec.UserID, rec.ExternalUserID, err)
	}
}

// handleConcurrently delivers rec n times at once.
func (e *env) handleConcurrently(rec events.Record, n int) {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- e.service(alerts.LangZH).Handle(e.ctx, rec) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) saveSettings(s channels.Settings) {
	e.t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Put(e.ctx, store.Item{PK: "settings", SK: "brand", Data: data}, store.Always); err != nil {
		e.t.Fatal(err)
	}
}

// saveChannel stores a channel and its state index, as the channels API
// does.
func (e *env) saveChannel(c channels.Channel) {
	e.t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range []store.Item{{PK: "channel", SK: c.ID, Data: data}, {PK: "channel#state", SK: c.State, Data: []byte(c.ID)}} {
		if _, err := e.store.Put(e.ctx, it, store.Always); err != nil {
			e.t.Fatal(err)
		}
	}
}

// relate makes member and customer friends without a callback (a
// relationship older than Siyu).
func (e *env) relate(member, customer string, since time.Time) {
	e.t.Helper()
	if err := e.sim.PutRelationship(wecomsim.Relationship{UserID: member, ExternalUserID: customer, CreateTime: since}); err != nil {
		e.t.Fatal(err)
	}
}

// messagesTo are the application messages member received.
func (e *env) messagesTo(member string) []wecomsim.AppMessage {
	var out []wecomsim.AppMessage
	for _, m := range e.sim.AppMessages() {
		for _, u := range m.ToUser {
			if u == member {
				out = append(out, m)
			}
		}
	}
	return out
}
