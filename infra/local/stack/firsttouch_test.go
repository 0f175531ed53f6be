package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// brand is the local stack against the simulator, with a contact way whose
// channel carries a welcome and a tag. WeCom's answers to send_welcome_msg
// are reported on welcomed as they leave the simulator.
type brand struct {
	sim      *wecomsim.Sim
	clock    func() time.Time
	stk      *stack.Stack
	way      string
	welcomed chan time.Time
	stored   chan time.Time
}

func newBrand(tb testing.TB, now func() time.Time) *brand {
	tb.Helper()
	quiet := slog.New(slog.DiscardHandler)
	b := &brand{clock: now, welcomed: make(chan time.Time, 1<<16), stored: make(chan time.Time, 1<<16)}
	b.sim = wecomsim.New(wecomsim.Options{Now: now, Logger: quiet})
	tb.Cleanup(b.sim.Close)
	// WeCom as the stack sees it: the simulator, telling when a welcome went.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.sim.Handler().ServeHTTP(w, r)
		if r.URL.Path == wecomsim.PathSendWelcomeMsg {
			b.welcomed <- time.Now()
		}
	}))
	tb.Cleanup(front.Close)
	b.sim.PutMember(wecomsim.Member{UserID: "alice", Name: "Alice", Departments: []int{1}})
	b.sim.AddTags("t1")

	dir := tb.TempDir()
	env := map[string]string{
		"WECOM_CORP_ID": b.sim.CorpID(), "WECOM_SECRET": b.sim.Secret(), "WECOM_CALLBACK_TOKEN": b.sim.Token(),
		"WECOM_ENCODING_AES_KEY": b.sim.EncodingAESKey(), "WECOM_API_BASE": front.URL,
		"SIYU_STORE": "sqlite:" + filepath.Join(dir, "siyu.db"), "SIYU_ADMIN_TOKEN": "t",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "siyu.db"), store.WithClock(now))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	b.stk, err = stack.New(start.Deps{Config: cfg, Store: st, Logger: quiet, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	b.stk.Callback.OnStored = func(events.Record) { b.stored <- time.Now() }
	srv := httptest.NewServer(b.stk.Handler())
	tb.Cleanup(srv.Close)
	b.sim.SetCallbackURL(srv.URL + "/wecom/callback")

	wc := wecom.NewClient(wecom.ClientConfig{BaseURL: b.sim.URL, CorpID: b.sim.CorpID(), Secret: b.sim.Secret(), Now: now, Logger: quiet})
	created, err := wc.AddContactWay(context.Background(), wecom.ContactWay{Type: 1, Scene: 2, State: "poster", User: []string{"alice"}})
	if err != nil {
		tb.Fatal(err)
	}
	b.way = created.ConfigID
	c := channels.Channel{ID: "ch1", Draft: channels.Draft{Name: "海报", Kind: channels.KindContactWay, State: "poster",
		Tags: []string{"t1"}, Welcome: &channels.Welcome{Text: "%NICKNAME%，欢迎！"}}, ConfigID: b.way}
	data, _ := json.Marshal(c)
	for _, it := range []store.Item{{PK: "channel", SK: c.ID, Data: data}, {PK: "channel#state", SK: c.State, Data: []byte(c.ID)}} {
		if _, err := st.Put(context.Background(), it, store.Always); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

// arrive has customer scan the way and waits for the welcome to leave.
// The times are the wall clock's: what the benchmark measures.
func (b *brand) arrive(tb testing.TB, customer string) (stored, welcomed time.Time) {
	tb.Helper()
	if _, err := b.sim.ArriveThroughContactWay(context.Background(), b.way, customer, b.clock()); err != nil {
		tb.Fatal(err)
	}
	stored = <-b.stored
	select {
	case welcomed = <-b.welcomed:
	case <-time.After(30 * time.Second):
		tb.Fatalf("no welcome for %s", customer)
	}
	return stored, welcomed
}

func TestTheLocalStackGreetsAndTagsThroughItsQueue(t *testing.T) {
	b := newBrand(t, testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)).Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.stk.FirstTouch.Start(ctx)
	b.sim.PutCustomer(wecomsim.Customer{ExternalUserID: "c1", Name: "小林", Type: 1})
	b.arrive(t, "c1")
	b.stk.FirstTouch.Close()
	b.stk.FirstTouch.Wait() // the worker finishes the event: tags, own events

	ws := b.sim.Welcomes()
	if len(ws) != 1 || ws[0].Text != "小林，欢迎！" {
		t.Fatalf("welcomes %+v, want one to 小林", ws)
	}
	if got := b.sim.TagsOf("alice", "c1"); !slices.Equal(got, []string{"t1"}) {
		t.Errorf("tags %v, want [t1]", got)
	}
}

// BenchmarkStoredToWelcome measures, in the local stack, the time from an
// add event stored by the callback to send_welcome_msg answered by the
// simulator, through the in-process queue. Run:
// go test -run '^$' -bench StoredToWelcome ./infra/local/stack/
func BenchmarkStoredToWelcome(bm *testing.B) {
	b := newBrand(bm, testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)).Now)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.stk.FirstTouch.Start(ctx)
	took := make([]time.Duration, 0, bm.N)
	bm.ResetTimer()
	for i := range bm.N {
		stored, welcomed := b.arrive(bm, fmt.Sprintf("c%d", i))
		took = append(took, welcomed.Sub(stored))
	}
	bm.StopTimer()
	slices.Sort(took)
	at := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	bm.ReportMetric(at(0.50), "p50-ms")
	bm.ReportMetric(at(0.99), "p99-ms")
}
