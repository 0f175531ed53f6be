package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// postsServer serves the posts routes at 2026-11-25 07:00 Shanghai over an
// in-memory store and the WeCom simulator.
func postsServer(t testing.TB) (*api.Server, *wecomsim.Sim, func(time.Duration)) {
	s, sim, advance, _ := postsServerOver(t, func(st store.Store) store.Store { return st })
	return s, sim, advance
}

// postsServerOver is postsServer over wrap of its store, which it returns.
func postsServerOver(t testing.TB, wrap func(store.Store) store.Store) (*api.Server, *wecomsim.Sim, func(time.Duration), store.Store) {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Date(2026, 11, 25, 7, 0, 0, 0, loc)
	clock := func() time.Time { return now }
	sim := wecomsim.New(wecomsim.Options{Now: clock})
	t.Cleanup(sim.Close)
	sim.PutMember(wecomsim.Member{UserID: "alice", Name: "Alice"})
	st := wrap(storetest.NewMemStore(clock))
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(), Store: st, Now: clock, Logger: slog.New(slog.DiscardHandler)})
	svc := posts.New(st, client, loc, slog.New(slog.DiscardHandler), nil)
	svc.Now = clock
	links := moments.New(st, nil, svc, loc, "", slog.New(slog.DiscardHandler), nil)
	links.Now = clock
	svc.Links = links
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = clock
	api.MountPosts(s, svc)
	api.MountMoments(s, links)
	reg := jobs.NewRegistry(slog.New(slog.DiscardHandler))
	reg.Add("poster", svc.Job)
	api.MountJobs(s, reg)
	return s, sim, func(d time.Duration) { now = now.Add(d) }, st
}

func call(s http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	return m
}

var morningMoment = testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"早安","visible_range":{"members":["alice"]}}`)

func TestPostsAPI(t *testing.T) {
	s, sim, advance := postsServer(t)

	var id string
	t.Run("scheduling a Moment answers 201 with its id and status", func(t *testing.T) {
		rec := call(s, http.MethodPost, "/api/posts", morningMoment)
		m := decode(t, rec)
		if rec.Code != http.StatusCreated || m["status"] != "scheduled" || m["id"] == "" {
			t.Fatalf("POST = %d %v", rec.Code, m)
		}
		id = m["id"].(string)
	})
	t.Run("bad posts answer 400 naming the field", func(t *testing.T) {
		for body, field := range map[string]string{
			testclock.Shift(`{"kind":"reel","send_at":"2026-11-25T08:00:00+08:00","text":"x"}`):                                                    "kind",
			testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00"}`):                                                             "text",
			testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","attachments":[{"type":"image","url":"file:///etc/passwd"}]}`): "attachments[0].url",
		} {
			rec := call(s, http.MethodPost, "/api/posts", body)
			msg, _ := decode(t, rec)["error"].(map[string]any)["message"].(string)
			if rec.Code != http.StatusBadRequest || !strings.HasPrefix(msg, field+":") {
				t.Errorf("POST %s = %d %q, want 400 on %s", body, rec.Code, msg, field)
			}
		}
	})
	t.Run("a fourth Moment the same day answers 409 naming the colliding posts", func(t *testing.T) {
		call(s, http.MethodPost, "/api/posts", morningMoment)
		call(s, http.MethodPost, "/api/posts", morningMoment)
		rec := call(s, http.MethodPost, "/api/posts", morningMoment)
		e, _ := decode(t, rec)["error"].(map[string]any)
		if rec.Code != http.StatusConflict || e["code"] != "cap_reached" || len(e["colliding"].([]any)) != 3 {
			t.Fatalf("POST = %d %v", rec.Code, e)
		}
	})
	t.Run("if_full next_free_slot moves it to the next day", func(t *testing.T) {
		body := strings.Replace(morningMoment, `"kind"`, `"if_full":"next_free_slot","kind"`, 1)
		rec := call(s, http.MethodPost, "/api/posts", body)
		if m := decode(t, rec); rec.Code != http.StatusCreated || m["send_at"] != testclock.Shift("2026-11-26T08:00:00+08:00") {
			t.Fatalf("POST = %d %v", rec.Code, m)
		}
	})
	t.Run("the listing shows the day's cap usage", func(t *testing.T) {
		rec := call(s, http.MethodGet, testclock.Shift("/api/posts?from=2026-11-25&to=2026-11-26&status=scheduled"), "")
		m := decode(t, rec)
		day, _ := m["cap"].(map[string]any)[testclock.Shift("2026-11-25")].(map[string]any)
		if rec.Code != http.StatusOK || len(m["posts"].([]any)) != 4 || day["moments"] != 3.0 || day["limit"] != 3.0 {
			t.Fatalf("GET = %d %v", rec.Code, m)
		}
	})
	t.Run("POST /api/jobs/poster runs a tick and the post reports its moment", func(t *testing.T) {
		advance(time.Hour)
		for range 2 {
			if rec := call(s, http.MethodPost, "/api/jobs/poster", ""); rec.Code != http.StatusOK {
				t.Fatalf("job = %d %s", rec.Code, rec.Body)
			}
		}
		m := decode(t, call(s, http.MethodGet, "/api/posts/"+id, ""))
		if m["status"] != "sent" || m["moment_id"] == nil || m["jobid"] == nil {
			t.Fatalf("GET post = %v", m)
		}
	})
	t.Run("DELETE after sending cancels the Moment in WeCom", func(t *testing.T) {
		rec := call(s, http.MethodDelete, "/api/posts/"+id, "")
		m := decode(t, rec)
		if rec.Code != http.StatusOK || m["status"] != "canceled" {
			t.Fatalf("DELETE = %d %v", rec.Code, m)
		}
		for _, sm := range sim.Moments() {
			if sm.MomentID == m["moment_id"] && !sm.Canceled {
				t.Errorf("Moment %s is still live in WeCom", sm.MomentID)
			}
		}
	})
	t.Run("an unknown post answers 404", func(t *testing.T) {
		if rec := call(s, http.MethodGet, "/api/posts/nope", ""); rec.Code != http.StatusNotFound {
			t.Fatalf("GET = %d", rec.Code)
		}
	})
}

func TestAPostRefusedForItsLinkLeavesTheDayFree(t *testing.T) {
	s, _, _ := postsServer(t)
	link := func(url string) string {
		return testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"新品","visible_range":{"members":["alice"]},`) +
			`"attachments":[{"type":"link","url":` + strconv.Quote(url) + `,"title":"新品","cover_url":"https://shop.example/c.png"}]}`
	}
	for _, bad := range []string{"https://u:p@shop.example/", "https://shop.example/a b", `https://shop.example\evil.example/`} {
		t.Run("a link with user info, a space or a backslash answers 400 naming the field: "+bad, func(t *testing.T) {
			rec := call(s, http.MethodPost, "/api/posts", link(bad))
			e, _ := decode(t, rec)["error"].(map[string]any)
			if msg, _ := e["message"].(string); rec.Code != http.StatusBadRequest || !strings.HasPrefix(msg, "attachments[0].url:") {
				t.Fatalf("POST = %d %v, want 400 on attachments[0].url", rec.Code, e)
			}
		})
	}
	t.Run("the member still has the day's three Moments", func(t *testing.T) {
		for i := range 3 {
			if rec := call(s, http.MethodPost, "/api/posts", link("https://shop.example/p/"+strconv.Itoa(i))); rec.Code != http.StatusCreated {
				t.Fatalf("POST Moment %d = %d %s", i+1, rec.Code, rec.Body)
			}
		}
	})
}

func TestAPostShowsItsAttemptsAndLastError(t *testing.T) {
	s, _, advance := postsServer(t)
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	t.Cleanup(busy.Close)
	body := testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"早安","visible_range":{"members":["alice"]},`) +
		`"attachments":[{"type":"image","url":"` + busy.URL + `/cat.png"}]}`
	rec := call(s, http.MethodPost, "/api/posts", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST = %d %s", rec.Code, rec.Body)
	}
	id := decode(t, rec)["id"].(string)
	advance(time.Hour)
	call(s, http.MethodPost, "/api/jobs/poster", "")

	fromList := func() map[string]any {
		for _, p := range decode(t, call(s, http.MethodGet, testclock.Shift("/api/posts?from=2026-11-25&to=2026-11-25"), ""))["posts"].([]any) {
			if p.(map[string]any)["id"] == id {
				return p.(map[string]any)
			}
		}
		return nil
	}
	for name, get := range map[string]func() map[string]any{
		"GET /api/posts/{id}": func() map[string]any { return decode(t, call(s, http.MethodGet, "/api/posts/"+id, "")) },
		"GET /api/posts":      fromList,
	} {
		t.Run(name+" shows a deferred post's attempts and last error", func(t *testing.T) {
			m := get()
			msg, _ := m["last_error"].(string)
			if m["status"] != "scheduled" || m["attempts"] != 1.0 || !strings.Contains(msg, "503") {
				t.Fatalf("post = %v, want scheduled with 1 attempt and a last error naming the 503", m)
			}
		})
	}
}

func TestPostTimesReadInTheBrandsZone(t *testing.T) {
	s, _, advance := postsServer(t)
	rec := call(s, http.MethodPost, "/api/posts", morningMoment)
	created := decode(t, rec)
	id, _ := created["id"].(string)
	advance(time.Hour)
	for range 2 {
		call(s, http.MethodPost, "/api/jobs/poster", "")
	}
	sent := decode(t, call(s, http.MethodGet, "/api/posts/"+id, ""))
	listed := decode(t, call(s, http.MethodGet, testclock.Shift("/api/posts?from=2026-11-25&to=2026-11-25"), ""))["posts"].([]any)[0].(map[string]any)
	tests := []struct {
		name string
		got  any
		want string
	}{
		{"send_at given as +08:00 comes back as +08:00", created["send_at"], testclock.Shift("2026-11-25T08:00:00+08:00")},
		{"created_at reads in Shanghai", created["created_at"], testclock.Shift("2026-11-25T07:00:00+08:00")},
		{"sent_at reads in Shanghai", sent["sent_at"], testclock.Shift("2026-11-25T08:00:00+08:00")},
		{"the listing reads in Shanghai too", listed["send_at"], testclock.Shift("2026-11-25T08:00:00+08:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %s", tt.got, tt.want)
			}
		})
	}
}
