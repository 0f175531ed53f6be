package root_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/testclock"
)

func TestNightlyWithADateRunsEveryStepOnThatDate(t *testing.T) {
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testclock.Date(2026, 11, 25, 0, 5, 0, 0, loc) }
	// Each step records the request it got instead of working; the chain is
	// the rollup function's own.
	var mu sync.Mutex
	got := map[string]jobs.Request{}
	reg := jobs.NewRegistry(slog.New(slog.DiscardHandler))
	for _, name := range root.NightlySteps {
		reg.Add(name, func(_ context.Context, req jobs.Request) (jobs.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = req
			return jobs.Result{}, nil
		})
	}
	root.AddNightly(reg, now, loc)
	s := api.New("tok", "", loc, slog.New(slog.DiscardHandler), now)
	api.MountJobs(s, reg)
	run := func(body string) (*httptest.ResponseRecorder, map[string]jobs.Request) {
		clear(got)
		r := httptest.NewRequest(http.MethodPost, "/api/jobs/nightly", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w, got
	}
	tests := []struct {
		name, body string
		want       map[string]jobs.Request
	}{
		{"a date reaches sync, rollup and report; moments sits it out", testclock.Shift(`{"date":"2026-11-20"}`), map[string]jobs.Request{
			"sync": {Job: "sync", Date: testclock.Shift("2026-11-20")}, "rollup": {Job: "rollup", Date: testclock.Shift("2026-11-20")}, "report": {Job: "report", Date: testclock.Shift("2026-11-20")}}},
		{"a range reaches every step that works on days", testclock.Shift(`{"from":"2026-11-01","to":"2026-11-03"}`), map[string]jobs.Request{
			"sync":   {Job: "sync", From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-03")},
			"rollup": {Job: "rollup", From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-03")},
			"report": {Job: "report", From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-03")}}},
		{"without a date every step runs its nightly default", ``, map[string]jobs.Request{
			"sync": {Job: "sync"}, "rollup": {Job: "rollup"}, "moments": {Job: "moments"}, "report": {Job: "report"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, got := run(tt.body)
			if w.Code != http.StatusOK || len(got) != len(tt.want) {
				t.Fatalf("nightly = %d %s, steps got %+v", w.Code, w.Body, got)
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s got %+v, want %+v", name, got[name], want)
				}
			}
		})
	}
	t.Run("a dated run says moments was skipped", func(t *testing.T) {
		w, _ := run(testclock.Shift(`{"date":"2026-11-20"}`))
		var res map[string]map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res["moments"]["skipped"] == nil {
			t.Fatalf("result %s", w.Body)
		}
	})
	t.Run("a future date is refused with 400 before any step runs", func(t *testing.T) {
		w, got := run(testclock.Shift(`{"date":"2026-11-26"}`))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "future") || len(got) != 0 {
			t.Fatalf("nightly = %d %s, steps got %+v", w.Code, w.Body, got)
		}
	})
}
