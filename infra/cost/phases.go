package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store/sqlstore"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// adminClient calls the app's API over its own transport, so those calls
// are not counted as WeCom calls.
var adminClient = &http.Client{Transport: &http.Transport{}}

// call makes one admin API request and fails on a non-2xx answer.
func call(ctx context.Context, method, url, body string) error {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, url, resp.StatusCode, b)
	}
	return nil
}

// schedulePosts schedules the day's posts through the API, as an operator
// would: a Moment in the morning and a group message in the evening.
func schedulePosts(ctx context.Context, base string, day time.Time, sim *wecomsim.Sim) error {
	members := sim.Members()
	if len(members) == 0 {
		return fmt.Errorf("schedule posts: the simulator has no members")
	}
	drafts := []string{
		fmt.Sprintf(`{"kind":"moment","send_at":%q,"text":"早安！今日份的好物推荐，限时直播间见。"}`, day.Add(8*time.Hour).Format(time.RFC3339)),
		fmt.Sprintf(`{"kind":"group_message","send_at":%q,"text":"您好，本周六门店会员日，到店可领取小礼品一份。","chat_type":"single","sender":%q}`,
			day.Add(20*time.Hour).Format(time.RFC3339), members[0].UserID),
	}
	if len(drafts) != PostsPerDay {
		panic("PostsPerDay out of step with schedulePosts")
	}
	for _, d := range drafts {
		if err := call(ctx, http.MethodPost, base+"/api/posts", d); err != nil {
			return fmt.Errorf("schedule post: %w", err)
		}
	}
	return nil
}

// posterTicks runs the poster once a minute through day (1440 ticks), the
// clock one second past each minute as the rate(1 minute) timer fires.
// It returns the day's usage and the idle and active ticks apart: a tick is
// active when it calls WeCom or reports any post acted on.
func posterTicks(ctx context.Context, a *stack.Stack, clk *testclock.Clock, mt *meter, day time.Time) (Usage, Tick, Tick, error) {
	var total Usage
	var idle, active Tick
	for i := range 24 * 60 {
		clk.Set(day.Add(time.Duration(i)*time.Minute + time.Second))
		s := mt.snap()
		start := time.Now()
		res, err := a.RunJob(ctx, jobs.Request{Job: "poster"})
		if err != nil {
			return total, idle, active, fmt.Errorf("poster tick %d: %w", i, err)
		}
		u := mt.since(s, 1, billedMs(time.Since(start)))
		total.add(u)
		t := &idle
		if u.WeComCalls > 0 || acted(res) {
			t = &active
		}
		t.N++
		t.Seconds += u.Seconds
		t.Requests += u.Requests
		t.RRU += u.RRU
		t.WRU += u.WRU
	}
	return total, idle, active, nil
}

func acted(res jobs.Result) bool {
	for _, v := range res {
		if n, ok := v.(int); ok && n > 0 {
			return true
		}
	}
	return false
}

// dashboardLoad is what the dashboard page requests when opened.
func dashboardLoad(ctx context.Context, base, from, to string) error {
	q := "from=" + from + "&to=" + to
	for _, p := range []string{"/", "/api/stats/daily?" + q, "/api/stats/daily?" + q + "&by=channel", "/api/posts"} {
		if err := call(ctx, http.MethodGet, base+p, ""); err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
	}
	return nil
}

// tableSize estimates the DynamoDB table's billed size: each item's
// attribute names and values as metered.ItemSize counts them, plus the
// 100 bytes of overhead DynamoDB adds per item.
func tableSize(ctx context.Context, db *sql.DB) (items, bytes int64, err error) {
	q := `SELECT COUNT(*), COALESCE(SUM(
		LENGTH(CAST(pk AS BLOB)) + LENGTH(CAST(sk AS BLOB)) + LENGTH(data) + 13 +
		CASE WHEN expires_at > 0 THEN 21 ELSE 0 END), 0) FROM ` + sqlstore.Table
	if err := db.QueryRowContext(ctx, q).Scan(&items, &bytes); err != nil {
		return 0, 0, fmt.Errorf("table size: %w", err)
	}
	return items, bytes + 100*items, nil
}
