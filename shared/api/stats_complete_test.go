package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
)

// baselineServer: Siyu was switched on 2025-03-05 with one customer; a
// backfill rolled up 2025-03-03 to today, 2025-03-07 (12:00 Shanghai).
func baselineServer(t *testing.T) *api.Server {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Date(2025, 3, 7, 12, 0, 0, 0, loc)
	ctx := context.Background()
	st := storetest.NewMemStore(func() time.Time { return now })
	at := testclock.Date(2025, 3, 5, 10, 0, 0, 0, loc)
	if err := churn.SetBaseline(ctx, st, loc, at, []churn.Relationship{{Member: "alice", Customer: "c1", Since: at.AddDate(0, -1, 0)}}); err != nil {
		t.Fatal(err)
	}
	r := churn.New(st, loc, slog.New(slog.DiscardHandler), nil)
	r.Now = func() time.Time { return now }
	if _, err := r.Run(ctx, jobs.Request{From: testclock.Shift("2025-03-03"), To: testclock.Shift("2025-03-07")}); err != nil {
		t.Fatal(err)
	}
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = func() time.Time { return now }
	api.MountStats(s, st)
	return s
}

func TestStatsSayWhichDaysAreComplete(t *testing.T) {
	s := baselineServer(t)
	completeOf := func(t *testing.T, path, list string) map[string]any {
		var body map[string]json.RawMessage
		var rows []map[string]any
		if err := json.Unmarshal(get(s, path).Body.Bytes(), &body); err != nil || json.Unmarshal(body[list], &rows) != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out := map[string]any{}
		for _, row := range rows {
			out[row["date"].(string)] = row["complete"]
			if row["complete"] == false && row["new_customers"] != nil {
				t.Errorf("%s: incomplete %s shows new_customers %v, want null", path, row["date"], row["new_customers"])
			}
		}
		return out
	}
	want := map[string]any{testclock.Shift("2025-03-02"): false, testclock.Shift("2025-03-03"): false, testclock.Shift("2025-03-04"): false, testclock.Shift("2025-03-05"): true, testclock.Shift("2025-03-06"): true, testclock.Shift("2025-03-07"): false}
	for _, tt := range []struct{ name, path, list string }{
		{"daily: before the data began, not rolled up, and today are incomplete", testclock.Shift("/api/stats/daily?from=2025-03-02&to=2025-03-07"), "days"},
		{"cohorts say the same", testclock.Shift("/api/stats/cohorts?from=2025-03-02&to=2025-03-07"), "cohorts"},
		{"by channel says the same", testclock.Shift("/api/stats/daily?from=2025-03-02&to=2025-03-07&by=channel"), "days"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := completeOf(t, tt.path, tt.list)
			for d, c := range want {
				if got[d] != c && !(c == true && got[d] == nil) { // a complete quiet day has no channel rows
					t.Errorf("%s complete = %v, want %v", d, got[d], c)
				}
			}
		})
	}
	t.Run("the baseline day starts from the customers Siyu found", func(t *testing.T) {
		var body struct {
			Days []struct {
				Date           string `json:"date"`
				CustomersStart *int64 `json:"customers_start"`
			} `json:"days"`
		}
		_ = json.Unmarshal(get(s, testclock.Shift("/api/stats/daily?from=2025-03-05&to=2025-03-05")).Body.Bytes(), &body)
		if len(body.Days) != 1 || body.Days[0].CustomersStart == nil || *body.Days[0].CustomersStart != 1 {
			t.Fatalf(testclock.Shift("days = %+v, want 1 customer at the start of 2025-03-05"), body.Days)
		}
	})
	t.Run("CSV leaves an incomplete day's numbers empty", func(t *testing.T) {
		rows, err := csv.NewReader(get(s, testclock.Shift("/api/stats/daily?from=2025-03-04&to=2025-03-05"), "Accept", "text/csv").Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"date", "customers_start", "new_customers", "lost_customers", "removed_customers", "customers_end", "churn_rate", "added", "deleted_by_customer", "deleted_by_member", "reconciled", "complete"},
			{testclock.Shift("2025-03-04"), "", "", "", "", "", "", "", "", "", "", "false"},
			{testclock.Shift("2025-03-05"), "1", "0", "0", "0", "1", "0", "0", "0", "0", "0", "true"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("csv = %q\nwant %q", rows, want)
		}
	})
	t.Run("groups give an incomplete day one row saying so", func(t *testing.T) {
		got := completeOf(t, testclock.Shift("/api/stats/groups?from=2025-03-07&to=2025-03-07"), "groups")
		if !reflect.DeepEqual(got, map[string]any{testclock.Shift("2025-03-07"): false}) {
			t.Errorf("groups = %v", got)
		}
	})
}
