package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

const token = "test-admin-token"

// statsServer has two rolled days: 2025-03-01 (two customers added, one by
// alice through "poster") and 2025-03-02 (one lost, group g1 lost a member).
func statsServer(t testing.TB) *api.Server {
	t.Helper()
	return statsServerWith(t)
}

// statsServerWith is statsServer with more events on 2025-03-01.
func statsServerWith(t testing.TB, more ...wecom.Event) *api.Server {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Date(2025, 3, 10, 12, 0, 0, 0, loc)
	ctx := context.Background()
	st := storetest.NewMemStore(func() time.Time { return now })
	log := events.NewLog(st, loc, nil)
	ev := func(change, member, customer, state string, day, hour int) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: change, UserID: member,
			ExternalUserID: customer, State: state, Known: true,
			CreateTime: testclock.Date(2025, 3, day, hour, 0, 0, 0, loc).Unix()}
	}
	more = append(more, []wecom.Event{
		ev(wecom.ChangeAddExternalContact, "alice", "c1", "poster", 1, 9),
		ev(wecom.ChangeAddExternalContact, "bob", "c2", "", 1, 10),
		ev(wecom.ChangeDelFollowUser, "alice", "c1", "", 2, 9),
		{ToUserName: "corp", Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatUpdate, ChatID: "g1",
			UpdateDetail: wecom.DetailDelMember, MemChangeCnt: 1, Known: true, CreateTime: testclock.Date(2025, 3, 2, 9, 0, 0, 0, loc).Unix()},
	}...)
	for _, e := range more {
		if _, _, err := log.Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	r := churn.New(st, loc, slog.New(slog.DiscardHandler), nil)
	r.Now = func() time.Time { return now }
	if _, err := r.Run(ctx, jobs.Request{From: testclock.Shift("2025-03-01"), To: testclock.Shift("2025-03-02")}); err != nil {
		t.Fatal(err)
	}
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = func() time.Time { return now }
	api.MountStats(s, st)
	return s
}

func get(s http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func TestDailyStats(t *testing.T) {
	s := statsServer(t)

	t.Run("the daily range has the contract's shape and a day not rolled up says so with null numbers", func(t *testing.T) {
		w := get(s, testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-03"))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"timezone": "Asia/Shanghai",
			"days": []any{
				day(testclock.Shift("2025-03-01"), 0, 2, 0, 0, 2, 0, 2, 0, 0),
				day(testclock.Shift("2025-03-02"), 2, 0, 1, 0, 1, 0.5, 0, 1, 0),
				map[string]any{"date": testclock.Shift("2025-03-03"), "complete": false, "customers_start": nil, "new_customers": nil, "lost_customers": nil,
					"removed_customers": nil, "customers_end": nil, "churn_rate": nil, "reconciled": nil, "relationships": nil},
			},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %v\nwant %v", got, want)
		}
	})

	t.Run("by member gives a row per day and member", func(t *testing.T) {
		w := get(s, testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-02&by=member"))
		var got struct {
			By   string `json:"by"`
			Days []struct {
				Date          string `json:"date"`
				Member        string `json:"member"`
				New           int64  `json:"new_customers"`
				Lost          int64  `json:"lost_customers"`
				Relationships struct {
					Added int64 `json:"added"`
				} `json:"relationships"`
			} `json:"days"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%v: %s", err, w.Body)
		}
		var rows []string
		for _, d := range got.Days {
			rows = append(rows, strings.Join([]string{d.Date, d.Member, itoa(d.New), itoa(d.Lost), itoa(d.Relationships.Added)}, " "))
		}
		want := []string{testclock.Shift("2025-03-01 alice 1 0 1"), testclock.Shift("2025-03-01 bob 1 0 1"), testclock.Shift("2025-03-02 alice 0 1 0")}
		if got.By != "member" || !reflect.DeepEqual(rows, want) {
			t.Errorf("by=%s rows %v, want %v", got.By, rows, want)
		}
	})

	t.Run("CSV has a header and a row per channel and day", func(t *testing.T) {
		w := get(s, testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-02&by=channel"), "Accept", "text/csv")
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		rows, err := csv.NewReader(w.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"date", "channel", "channel_name", "new_customers", "lost_customers", "removed_customers", "added", "deleted_by_customer", "deleted_by_member", "reconciled", "complete"},
			{testclock.Shift("2025-03-01"), "", "", "1", "0", "0", "1", "0", "0", "0", "true"},
			{testclock.Shift("2025-03-01"), "poster", "", "1", "0", "0", "1", "0", "0", "0", "true"},
			{testclock.Shift("2025-03-02"), "poster", "", "0", "1", "0", "0", "1", "0", "0", "true"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("csv = %v\nwant %v", rows, want)
		}
	})

	t.Run("cohorts and groups answer for the range", func(t *testing.T) {
		var c struct {
			Cohorts []churn.Cohort `json:"cohorts"`
		}
		_ = json.Unmarshal(get(s, testclock.Shift("/api/stats/cohorts?from=2025-03-01&to=2025-03-01")).Body.Bytes(), &c)
		if len(c.Cohorts) != 1 || c.Cohorts[0].NewCustomers != 2 || c.Cohorts[0].Lost1d != 0 || c.Cohorts[0].Lost7d != 1 {
			t.Errorf("cohorts = %+v, want 2 new, 1 lost within a week (exactly 24 h later, so not within a day)", c.Cohorts)
		}
		var g struct {
			Groups []struct {
				churn.GroupDay
				Complete bool `json:"complete"`
			} `json:"groups"`
		}
		_ = json.Unmarshal(get(s, testclock.Shift("/api/stats/groups?from=2025-03-01&to=2025-03-05")).Body.Bytes(), &g)
		if len(g.Groups) != 4 || g.Groups[0].ChatID != "g1" || g.Groups[0].QuitsSelf != 1 || !g.Groups[0].Complete {
			t.Errorf(testclock.Shift("groups = %+v, want g1 with one member quitting, then 2025-03-03..05 not rolled up"), g.Groups)
		}
	})
}

func TestStatsRefusals(t *testing.T) {
	s := statsServer(t)
	tests := []struct {
		name, path string
		auth       bool
		status     int
		message    string
	}{
		{"a call without the token is unauthorized", "/api/stats/daily", false, 401, "Bearer"},
		{"a malformed date is a bad request", testclock.Shift("/api/stats/daily?from=2025-3-1&to=2025-03-02"), true, 400, "YYYY-MM-DD"},
		{"a reversed range is a bad request", testclock.Shift("/api/stats/daily?from=2025-03-05&to=2025-03-01"), true, 400, "after"},
		{"a range over 400 days is a bad request", testclock.Shift("/api/stats/cohorts?from=2023-01-01&to=2025-03-01"), true, 400, "exceeds 400"},
		{"half a range is a bad request", testclock.Shift("/api/stats/groups?from=2025-03-01"), true, 400, "go together"},
		{"an unknown breakdown is a bad request", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=tag"), true, 400, "member or channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.auth {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != tt.status || !strings.Contains(body.Error.Message, tt.message) {
				t.Errorf("status %d message %q, want %d mentioning %q", w.Code, body.Error.Message, tt.status, tt.message)
			}
		})
	}
}

func day(date string, start, new, lost, removed, end, rate, added, byCustomer, byMember float64) map[string]any {
	return map[string]any{
		"date": date, "complete": true, "customers_start": start, "new_customers": new, "lost_customers": lost,
		"removed_customers": removed, "customers_end": end, "churn_rate": rate, "reconciled": 0.0,
		"relationships": map[string]any{"added": added, "deleted_by_customer": byCustomer, "deleted_by_member": byMember},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
