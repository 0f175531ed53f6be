package posts_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// start is 2026-11-25 07:50 in Shanghai, ten minutes before a morning post.
var start = testclock.Date(2026, 11, 25, 7, 50, 0, 0, shanghai)

// opener opens a fresh store of one adapter on the test's clock.
type opener func(t testing.TB, now func() time.Time) store.Store

// storeKind names an opener.
type storeKind struct {
	name string
	open opener
}

func openSQLite(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeKinds are the adapters exactly-once must hold on.
var storeKinds = []storeKind{
	{"sqlite", openSQLite},
	{"dynalite", openDynalite},
}

func openMemory(t testing.TB, now func() time.Time) store.Store { return storetest.NewMemStore(now) }

// env is a poster wired to a simulator, a store and a media server.
type env struct {
	t      *testing.T
	clock  *testclock.Clock
	sim    *wecomsim.Sim
	store  store.Store
	client *wecom.Client
	svc    *posts.Service
	media  *httptest.Server
}

// pngBytes is a tiny PNG signature followed by padding: enough for the
// content sniffer and WeCom's more-than-5-bytes rule.
var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

func newEnv(t *testing.T, open opener) *env {
	t.Helper()
	c := testclock.New(start)
	st := open(t, c.Now)
	sim := wecomsim.New(wecomsim.Options{Seed: 1, Now: c.Now})
	t.Cleanup(sim.Close)
	for _, m := range []string{"alice", "bob", "carol"} {
		sim.PutMember(wecomsim.Member{UserID: m, Name: m, Departments: []int{1}})
	}
	sim.AddTags("etVIP")
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.png":
			w.Write(pngBytes)
		case "/busy.png":
			http.Error(w, "try later", http.StatusServiceUnavailable)
		case "/page.txt":
			io.WriteString(w, "plain text, not an image at all")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(media.Close)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(), Store: st,
		Now: c.Now, Logger: quiet, MaxRetries: -1, Sleep: func(context.Context, time.Duration) error { return nil }})
	e := &env{t: t, clock: c, sim: sim, store: st, client: client, media: media}
	e.svc = e.service(client)
	return e
}

// service is another poster instance (its own holder) on the same store.
func (e *env) service(wc posts.WeCom) *posts.Service {
	s := posts.New(e.store, wc, shanghai, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	s.Now = e.clock.Now
	return s
}

func (e *env) create(d posts.Draft) posts.Post {
	e.t.Helper()
	p, err := e.svc.Create(context.Background(), d)
	if err != nil {
		e.t.Fatalf("create %+v: %v", d, err)
	}
	return p
}

func (e *env) tick() posts.TickResult {
	e.t.Helper()
	r, err := e.svc.Tick(context.Background())
	if err != nil {
		e.t.Fatalf("tick: %v", err)
	}
	return r
}

func (e *env) get(id string) posts.Post {
	e.t.Helper()
	p, err := e.svc.Get(context.Background(), id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return p
}

// morning is a Moment at 08:00 Shanghai on the start day.
func morning(text string, members ...string) posts.Draft {
	return posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Text: text,
		VisibleRange: posts.VisibleRange{Members: members}}
}

// lostAnswer is a WeCom whose add_moment_task fails in transport without
// reaching WeCom: the poster cannot tell it from an accepted call.
type lostAnswer struct {
	posts.WeCom
	mu    sync.Mutex
	times int
}

func (l *lostAnswer) AddMomentTask(ctx context.Context, t wecom.MomentTask) (string, error) {
	l.mu.Lock()
	lose := l.times > 0
	l.times--
	l.mu.Unlock()
	if lose {
		return "", errors.New("wecom externalcontact/add_moment_task: read: connection reset by peer")
	}
	return l.WeCom.AddMomentTask(ctx, t)
}

func day(s string) calendar.Day {
	d, err := calendar.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}
