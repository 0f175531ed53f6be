package firsttouch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/testutil"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// world is a brand on the simulator: one member (alice) behind a contact
// way with state "poster", the first-touch service over a real SQLite
// table, and a callback handler that marks and dispatches like the stacks.
type world struct {
	t     testing.TB
	clk   *testclock.Clock
	loc   *time.Location
	sim   *wecomsim.Sim
	wc    *wecom.Client
	st    store.Store
	svc   *firsttouch.Service
	logs  *testutil.SyncBuffer
	way   string // config id of the "poster" contact way
	cb    *callback.Handler
	srv   *httptest.Server
	mu    sync.Mutex
	queue []events.Record // what the callback dispatched
}

func newWorld(t *testing.T) *world {
	t.Helper()
	loc, _ := calendar.Zone("")
	clk := testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, loc))
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newWorldOn(t, st, clk, loc)
}

func newWorldOn(t testing.TB, st store.Store, clk *testclock.Clock, loc *time.Location) *world {
	t.Helper()
	w := &world{t: t, clk: clk, loc: loc, st: st, logs: &testutil.SyncBuffer{}}
	w.sim = wecomsim.New(wecomsim.Options{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(w.sim.Close)
	w.sim.PutMember(wecomsim.Member{UserID: "alice", Name: "Alice", Departments: []int{1}})
	noWait := func(ctx context.Context, d time.Duration) error { clk.Advance(d); return ctx.Err() }
	w.wc = wecom.NewClient(wecom.ClientConfig{BaseURL: w.sim.URL, CorpID: w.sim.CorpID(), Secret: w.sim.Secret(), Store: st, Now: clk.Now, Sleep: noWait, Logger: slog.New(slog.DiscardHandler)})
	logger := slog.New(slog.NewJSONHandler(w.logs, nil))
	w.svc = firsttouch.New(st, w.wc, loc, logger, clk.Now)
	w.svc.Sleep = noWait
	created, err := w.wc.AddContactWay(context.Background(), wecom.ContactWay{Type: 1, Scene: 2, State: "poster", User: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	w.way = created.ConfigID

	crypter, err := wecom.NewCrypter(w.sim.Token(), w.sim.EncodingAESKey(), w.sim.CorpID())
	if err != nil {
		t.Fatal(err)
	}
	w.cb = callback.New(crypter, events.NewLog(st, loc, clk.Now), time.Hour, slog.New(slog.DiscardHandler), clk.Now)
	w.cb.FirstTouch = pending.Marker{Store: st, Dispatch: func(_ context.Context, rec events.Record) {
		w.mu.Lock()
		w.queue = append(w.queue, rec)
		w.mu.Unlock()
	}}
	w.srv = httptest.NewServer(w.cb)
	t.Cleanup(w.srv.Close)
	w.sim.SetCallbackURL(w.srv.URL)
	return w
}

// channel saves a channel owning state "poster" with welcome and tags,
// in the layout the channels package reads.
func (w *world) channel(welcome *channels.Welcome, tags ...string) {
	w.t.Helper()
	c := channels.Channel{ID: "ch1", Draft: channels.Draft{Name: "海报", Kind: channels.KindContactWay, State: "poster",
		Tags: tags, Welcome: welcome}, ConfigID: w.way}
	data, _ := json.Marshal(c)
	ctx := context.Background()
	if _, err := w.st.Put(ctx, store.Item{PK: "channel", SK: c.ID, Data: data}, store.Always); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.Put(ctx, store.Item{PK: "channel#state", SK: c.State, Data: []byte(c.ID)}, store.Always); err != nil {
		w.t.Fatal(err)
	}
}

// arrive has customer scan the contact way; the simulator delivers the
// add event to the callback. It returns the dispatched record.
func (w *world) arrive(customer string) events.Record {
	w.t.Helper()
	w.sim.PutCustomer(wecomsim.Customer{ExternalUserID: customer, Name: "Name of " + customer, Type: 1})
	ev, err := w.sim.ArriveThroughContactWay(context.Background(), w.way, customer, w.clk.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rec := range w.queue {
		if rec.ExternalUserID == ev.ExternalUserID && rec.CreateTime == ev.CreateTime {
			return rec
		}
	}
	w.t.Fatalf("the add event of %s was not dispatched", customer)
	return events.Record{}
}

// post delivers ev to the callback as WeCom would, sealed afresh.
func (w *world) post(ev wecom.Event) int {
	w.t.Helper()
	resp, err := http.DefaultClient.Do(w.request(ev))
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// own returns Siyu's own events of the day of the world's clock.
func (w *world) own(kind string) []events.Record {
	w.t.Helper()
	var out []events.Record
	err := events.NewLog(w.st, w.loc, nil).Day(context.Background(), calendar.Of(w.clk.Now(), w.loc), func(r events.Record) error {
		if r.Origin == events.OriginSiyu && r.Event.Event == kind {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// outcomes lists the change types of own events of kind.
func (w *world) outcomes(kind string) []string {
	var out []string
	for _, r := range w.own(kind) {
		out = append(out, r.ChangeType)
	}
	return out
}

func (w *world) pendingCount() int {
	w.t.Helper()
	items, err := store.QueryAll(context.Background(), w.st, store.Query{PK: pending.PK})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(items)
}

var (
	alwaysCond = store.Always
	ifAbsent   = store.IfAbsent
)

// settingsItem is the brand's settings as the channels package stores them.
func settingsItem(js string) store.Item {
	return store.Item{PK: "settings", SK: "brand", Data: []byte(js)}
}

// claimItem is a welcome claim taken at and never answered.
func claimItem(code string, at time.Time) store.Item {
	data, _ := json.Marshal(map[string]any{"event": "x", "claimed_at": at})
	return store.Item{PK: "welcome#" + code, SK: "claim", Data: data, ExpiresAt: at.Add(72 * time.Hour)}
}

// request is ev sealed into a callback request as WeCom sends it.
func (w *world) request(ev wecom.Event) *http.Request {
	w.t.Helper()
	ts := strconv.FormatInt(w.clk.Now().Unix(), 10)
	body, sig, err := w.sim.Crypter().Seal(wecomsim.EventXML(ev), ts, "n"+ts)
	if err != nil {
		w.t.Fatal(err)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"n" + ts}}
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	return req
}
