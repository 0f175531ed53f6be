package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/metered"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
)

type momentsEnv struct {
	srv   *api.Server
	svc   *moments.Service
	store *metered.Store
	post  posts.Post
}

// momentsServer serves the Moments routes on SQLite (metered) with one
// scheduled Moment "post" carrying a tracked link.
func momentsServer(t testing.TB) *momentsEnv {
	t.Helper()
	ctx := context.Background()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Date(2026, 11, 25, 9, 0, 0, 0, loc)
	clock := func() time.Time { return now }
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	st := metered.Wrap(raw)
	ps := posts.New(st, nil, loc, slog.New(slog.DiscardHandler), nil)
	ps.Now = clock
	p, err := ps.Create(ctx, posts.Draft{Kind: posts.Moment, SendAt: now.Add(time.Hour).Format(time.RFC3339), Text: "双十二预售",
		VisibleRange: posts.VisibleRange{Members: []string{"alice", "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := moments.New(st, nil, ps, loc, "https://siyu.example.com", slog.New(slog.DiscardHandler), nil)
	svc.Now = clock
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = clock
	api.MountPosts(s, ps) // both own routes under /api/posts/{id}
	api.MountMoments(s, svc)
	return &momentsEnv{srv: s, svc: svc, store: st, post: p}
}

func (e *momentsEnv) link(t testing.TB, target string) string {
	t.Helper()
	tok, tracked, err := e.svc.NewLink(context.Background(), e.post.ID, target)
	if err != nil {
		t.Fatal(err)
	}
	if tracked != "https://siyu.example.com/r/"+tok {
		t.Fatalf("tracked URL %q", tracked)
	}
	return tok
}

// click opens a tracked link as a browser would, with an optional cookie.
func click(h http.Handler, path, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: moments.VisitorCookie, Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func visitorOf(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == moments.VisitorCookie {
			return c
		}
	}
	return nil
}

func TestTrackedLinkCountsClicksAndVisitors(t *testing.T) {
	e := momentsServer(t)
	tok := e.link(t, "https://shop.example.com/item/42?from=moment")

	first := click(e.srv, "/r/"+tok, "")
	t.Run("a click answers 302 to the stored URL", func(t *testing.T) {
		if first.Code != http.StatusFound || first.Header().Get("Location") != "https://shop.example.com/item/42?from=moment" {
			t.Fatalf("answer %d to %q", first.Code, first.Header().Get("Location"))
		}
	})
	vid := visitorOf(t, first)
	t.Run("a first visit gets a year-long HttpOnly Lax cookie", func(t *testing.T) {
		if vid == nil || !vid.HttpOnly || vid.SameSite != http.SameSiteLaxMode || vid.MaxAge != 365*24*3600 || !vid.Secure {
			t.Fatalf("cookie = %+v", vid)
		}
	})
	for range 3 {
		if rec := click(e.srv, "/r/"+tok, vid.Value); rec.Code != http.StatusFound || visitorOf(t, rec) != nil {
			t.Fatalf("repeat click: %d, new cookie %v", rec.Code, visitorOf(t, rec))
		}
	}
	click(e.srv, "/r/"+tok, "") // a second visitor

	rec := call(e.srv, http.MethodGet, "/api/posts/"+e.post.ID+"/stats", "")
	m := decode(t, rec)
	t.Run("the same cookie is one unique clicker over many clicks", func(t *testing.T) {
		if rec.Code != http.StatusOK || m["clicks"] != 5.0 || m["unique_clickers"] != 2.0 {
			t.Fatalf("stats %d %v", rec.Code, m)
		}
	})
	t.Run("the stats carry every funnel field", func(t *testing.T) {
		for _, k := range []string{"members_targeted", "members_published", "customers_reached", "customers_engaged", "clicks",
			"unique_clickers", "conversions", "conversion_value", "publish_rate", "engagement_rate", "click_rate", "conversion_rate"} {
			if _, ok := m[k]; !ok {
				t.Errorf("missing %q in %v", k, m)
			}
		}
		if m["members_targeted"] != 2.0 {
			t.Errorf("members_targeted = %v, want the 2 named members before the first sync", m["members_targeted"])
		}
	})
}

func TestOneStoreWritePerClick(t *testing.T) {
	e := momentsServer(t)
	tok := e.link(t, "https://shop.example.com/")
	t.Run("a HEAD probe is answered without a write", func(t *testing.T) {
		before := e.store.Counts()
		req := httptest.NewRequest(http.MethodHead, "/r/"+tok, nil)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound || e.store.Counts().Writes != before.Writes {
			t.Errorf("HEAD: %d, %d writes", rec.Code, e.store.Counts().Writes-before.Writes)
		}
	})
	for _, cookie := range []string{"", "abcdefghijklmnop"} {
		before := e.store.Counts()
		if rec := click(e.srv, "/r/"+tok, cookie); rec.Code != http.StatusFound {
			t.Fatalf("click: %d", rec.Code)
		}
		if w := e.store.Counts().Writes - before.Writes; w != 1 {
			t.Errorf("cookie %q: a click made %d store writes, want 1", cookie, w)
		}
	}
}

func TestTrackedLinksRefuseOpenRedirects(t *testing.T) {
	e := momentsServer(t)
	tok := e.link(t, "https://shop.example.com/a")
	tests := []struct {
		name, path string
		want       int
		location   string
	}{
		{"an unknown token is 404", "/r/AAAAAAAAAAAAAAAAAAAAAA", http.StatusNotFound, ""},
		{"a token of the wrong shape is 404", "/r/abc", http.StatusNotFound, ""},
		{"a url parameter is never honoured", "/r/" + tok + "?url=https://evil.example.net", http.StatusFound, "https://shop.example.com/a"},
		{"a next parameter on an unknown token is still 404", "/r/BBBBBBBBBBBBBBBBBBBBBB?next=https://evil.example.net", http.StatusNotFound, ""},
		{"an encoded slash in the token is 404", "/r/" + tok + "%2F..%2F..%2Fevil", http.StatusNotFound, ""},
		{"an encoded absolute URL as token is 404", "/r/https:%2F%2Fevil.example.net", http.StatusNotFound, ""},
		{"an extra path segment matches no route", "/r/" + tok + "/evil.example.net", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := click(e.srv, tt.path, "")
			if rec.Code != tt.want || rec.Header().Get("Location") != tt.location {
				t.Fatalf("%s → %d Location %q, want %d %q", tt.path, rec.Code, rec.Header().Get("Location"), tt.want, tt.location)
			}
			if strings.Contains(rec.Body.String(), "evil") {
				t.Errorf("the answer echoes the attacker's URL: %s", rec.Body.String())
			}
		})
	}
	t.Run("a doubled slash is cleaned to a local path, never another host", func(t *testing.T) {
		rec := click(e.srv, "/r/"+tok+"//evil.example.net", "")
		loc := rec.Header().Get("Location")
		if rec.Code == http.StatusFound || !strings.HasPrefix(loc, "/r/") {
			t.Fatalf("%d Location %q", rec.Code, loc)
		}
		if next := click(e.srv, loc, ""); next.Code != http.StatusNotFound {
			t.Errorf("following %q: %d, want 404", loc, next.Code)
		}
	})
	t.Run("the 404 page speaks Chinese and English", func(t *testing.T) {
		rec := click(e.srv, "/r/AAAAAAAAAAAAAAAAAAAAAA", "")
		body := rec.Body.String()
		if !strings.Contains(body, "链接不存在") || !strings.Contains(body, "Link not found") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("404 page: %s", body)
		}
	})
	t.Run("only absolute http and https targets can be stored", func(t *testing.T) {
		for _, bad := range []string{"javascript:alert(1)", "/relative", "//evil.example.net/x", "ftp://files.example.com/", "https://user:pw@evil.example.net/", "data:text/html,hi", "https:evil.example.net"} {
			if _, _, err := e.svc.NewLink(context.Background(), e.post.ID, bad); err == nil {
				t.Errorf("NewLink accepted %q", bad)
			}
		}
	})
}

func TestConversionsAPI(t *testing.T) {
	e := momentsServer(t)
	tok := e.link(t, "https://shop.example.com/")
	body := `{"token":"` + tok + `","value":128.5,"order_id":"SO-1001"}`
	tests := []struct {
		name string
		body string
		want int
	}{
		{"a first report is recorded", body, http.StatusCreated},
		{"the same order again is not counted twice", body, http.StatusOK},
		{"by post id works too", `{"post_id":"` + e.post.ID + `","value":10,"order_id":"SO-1002"}`, http.StatusCreated},
		{"an order without id is refused", `{"token":"` + tok + `","value":1}`, http.StatusBadRequest},
		{"an unknown token is 404", `{"token":"AAAAAAAAAAAAAAAAAAAAAA","value":1,"order_id":"x"}`, http.StatusNotFound},
		{"an unknown post is 404", `{"post_id":"nope","value":1,"order_id":"x"}`, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := call(e.srv, http.MethodPost, "/api/conversions", tt.body); rec.Code != tt.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body.String(), tt.want)
			}
		})
	}
	m := decode(t, call(e.srv, http.MethodGet, "/api/posts/"+e.post.ID+"/stats", ""))
	if m["conversions"] != 2.0 || m["conversion_value"] != 138.5 {
		t.Errorf("stats after conversions: %v", m)
	}
	t.Run("an unknown post's stats are 404", func(t *testing.T) {
		if rec := call(e.srv, http.MethodGet, "/api/posts/nope/stats", ""); rec.Code != http.StatusNotFound {
			t.Errorf("%d", rec.Code)
		}
	})
	t.Run("the stats API needs the admin token", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/api/posts/"+e.post.ID+"/stats", nil)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%d", rec.Code)
		}
	})
}

func TestMomentsRangeCSV(t *testing.T) {
	e := momentsServer(t)
	req := httptest.NewRequest(http.MethodGet, testclock.Shift("/api/stats/moments?from=2026-11-20&to=2026-11-25"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/csv")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "section,key,members_targeted") {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
	if rec := call(e.srv, http.MethodGet, testclock.Shift("/api/stats/moments?from=2026-11-25&to=2026-11-20"), ""); rec.Code != http.StatusBadRequest {
		t.Errorf("reversed range: %d", rec.Code)
	}
	if rec := call(e.srv, http.MethodPost, "/api/moments/track", `{"moment_id":"mom123"}`); rec.Code != http.StatusOK || decode(t, rec)["post_id"] != "moment:mom123" {
		t.Errorf("track: %d %s", rec.Code, rec.Body.String())
	}
}

// BenchmarkRedirect measures GET /r/{token} in process on SQLite: one link
// read and one click write per request.
func BenchmarkRedirect(b *testing.B) {
	e := momentsServer(b)
	tok := e.link(b, "https://shop.example.com/")
	path := "/r/" + tok
	lat := make([]time.Duration, 0, b.N)
	e.store.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := click(e.srv, path, "abcdefghijklmnop")
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusFound {
			b.Fatalf("click %d: %d", i, rec.Code)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(e.store.Counts().Writes)/float64(b.N), "writes/click")
}
