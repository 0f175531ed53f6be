package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/report"
	"github.com/siyuhq/siyu/shared/store/storetest"
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

var day0 = testclock.Day(2025, time.March, 3)

func at(n, hh, mm int) time.Time {
	return day0.AddDays(n).Start(shanghai).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

const robotKey = "robot-key-0001"

// brand is a simulated brand with a week of traffic called back into Siyu,
// and the nightly chain: sync → rollup → report.
type brand struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	sim    *wecomsim.Sim
	store  *storetest.MemStore
	sync   *contactsync.Syncer
	rollup *churn.Rollup
	report *report.Reporter
}

func newBrand(t *testing.T) *brand {
	t.Helper()
	ctx := context.Background()
	clk := testclock.New(at(0, 10, 0))
	quiet := slog.New(slog.DiscardHandler)
	s := storetest.NewMemStore(clk.Now)
	log := events.NewLog(s, shanghai, nil)
	log.Now = clk.Now
	sim := wecomsim.New(wecomsim.Options{Seed: 11, Now: clk.Now, Logger: quiet, RobotKeys: []string{robotKey}})
	t.Cleanup(sim.Close)
	cb := callback.New(sim.Crypter(), log, 0, quiet, nil)
	cb.Now = clk.Now
	srv := httptest.NewServer(cb)
	t.Cleanup(srv.Close)
	sim.SetCallbackURL(srv.URL)
	sim.Seed(wecomsim.SeedConfig{Customers: 200, Groups: 2, Until: clk.Now(), DailyAdds: 20})

	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
		Store: s, Now: clk.Now, Logger: quiet, MaxRetries: -1})
	y := contactsync.New(s, client, sim.CorpID(), shanghai, quiet, nil)
	y.Now, y.Log = clk.Now, log
	r := churn.New(s, shanghai, quiet, nil)
	r.Now, r.Log = clk.Now, log
	rep := report.New(s, client, sim.URL+wecomsim.PathWebhookSend+"?key="+robotKey, "", shanghai, quiet, nil)
	rep.Now = clk.Now
	b := &brand{t: t, ctx: ctx, clock: clk, sim: sim, store: s, sync: y, rollup: r, report: rep}

	if _, err := y.Run(ctx, jobs.Request{}); err != nil {
		t.Fatalf("baseline sync: %v", err)
	}
	return b
}

// live plays day0+n-1's traffic (called back as it happens), then runs
// sync and rollup at 00:05 of day0+n.
func (b *brand) live(n int) {
	b.t.Helper()
	from := at(n-1, 0, 0)
	if n == 1 {
		from = at(0, 10, 0)
	}
	if err := b.sim.Simulate(b.ctx, from, at(n, 0, 0), true); err != nil {
		b.t.Fatalf("simulate day %d: %v", n-1, err)
	}
	b.clock.Set(at(n, 0, 5))
	if _, err := b.sync.Run(b.ctx, jobs.Request{}); err != nil {
		b.t.Fatalf("sync night %d: %v", n, err)
	}
	if _, err := b.rollup.Run(b.ctx, jobs.Request{}); err != nil {
		b.t.Fatalf("rollup night %d: %v", n, err)
	}
}

// night is live(n) followed by the report job.
func (b *brand) night(n int) (jobs.Result, error) {
	b.t.Helper()
	b.live(n)
	return b.report.Run(b.ctx, jobs.Request{})
}

func (b *brand) daily(n int) churn.Daily {
	b.t.Helper()
	d, ok, err := churn.GetDaily(b.ctx, b.store, day0.AddDays(n))
	if err != nil || !ok {
		b.t.Fatalf("stats of day %d: %v %v", n, ok, err)
	}
	return d
}

func pct(r float64) string { return fmt.Sprintf("%.2f%%", r*100) }

func TestNightlyReport(t *testing.T) {
	b := newBrand(t)
	for n := 1; n <= 7; n++ {
		b.live(n)
	}
	res, err := b.night(8)
	if err != nil {
		t.Fatalf("report: %v", err)
	}

	t.Run("one zh-CN message with yesterday's numbers reaches the robot", func(t *testing.T) {
		msgs := b.sim.RobotMessages()
		if len(msgs) != 1 || msgs[0].MsgType != "markdown" || msgs[0].Key != robotKey {
			t.Fatalf("robot got %d messages (%+v), want one markdown message; result %v", len(msgs), msgs, res)
		}
		d := b.daily(7)
		text := msgs[0].Content
		for _, want := range []string{
			"私域日报 · " + day0.AddDays(7).String(),
			fmt.Sprintf("新增客户 **%d**", d.NewCustomers),
			fmt.Sprintf("流失 <font color=\"warning\">%d</font>", d.LostCustomers),
			fmt.Sprintf("删除 %d", d.RemovedCustomers),
			"流失率 **" + pct(d.ChurnRate) + "**",
			fmt.Sprintf("客户总数 %d → %d", d.CustomersStart, d.CustomersEnd),
			"近7日流失率",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("report lacks %q:\n%s", want, text)
			}
		}
		if len(text) > wecom.MaxRobotMarkdownBytes || !utf8.ValidString(text) {
			t.Errorf("report is %d bytes (valid UTF-8: %v)", len(text), utf8.ValidString(text))
		}
	})

	t.Run("a week with every callback delivered has nothing to reconcile", func(t *testing.T) {
		for n := 0; n <= 7; n++ {
			if d := b.daily(n); d.Reconciled != 0 {
				t.Errorf("day %d has %d reconciled events, want 0", n, d.Reconciled)
			}
		}
	})

	t.Run("the day is recorded as sent and a re-run sends nothing twice", func(t *testing.T) {
		st, err := report.StateOf(b.ctx, b.store, day0.AddDays(7))
		if err != nil || st.Status != report.StatusSent || st.Attempts != 1 {
			t.Fatalf("state = %+v, %v; want sent after 1 attempt", st, err)
		}
		if _, err := b.report.Run(b.ctx, jobs.Request{}); err != nil {
			t.Fatal(err)
		}
		if n := len(b.sim.RobotMessages()); n != 1 {
			t.Errorf("robot got %d messages after a re-run, want still 1", n)
		}
	})

	t.Run("a failed push stays pending and is sent first by the next run", func(t *testing.T) {
		// Day 8 also loses a customer's deletion: only WeCom's own count shows it.
		var victim wecomsim.Relationship
		for _, r := range b.sim.Relationships() {
			if !r.OneWay {
				victim = r
				break
			}
		}
		b.sim.SuppressCallbacks(1)
		if _, err := b.sim.CustomerDeletesMember(b.ctx, victim.UserID, victim.ExternalUserID, at(8, 1, 0)); err != nil {
			t.Fatal(err)
		}
		b.sim.Inject(wecomsim.PathWebhookSend, wecom.CodeBadWebhook, 1)
		if _, err := b.night(9); !wecom.IsCode(err, wecom.CodeBadWebhook) {
			t.Fatalf("report error = %v, want WeCom's 93000", err)
		}
		st, err := report.StateOf(b.ctx, b.store, day0.AddDays(8))
		if err != nil || st.Status != report.StatusPending || !strings.Contains(st.LastError, "93000") {
			t.Fatalf("state of the failed day = %+v, %v; want pending with the error", st, err)
		}
		if strings.Contains(st.LastError, robotKey) {
			t.Errorf("the stored error shows the webhook key: %s", st.LastError)
		}
		if n := len(b.sim.RobotMessages()); n != 1 {
			t.Fatalf("robot got %d messages, want still 1", n)
		}

		if _, err := b.night(10); err != nil {
			t.Fatalf("next night: %v", err)
		}
		msgs := b.sim.RobotMessages()
		if len(msgs) != 3 {
			t.Fatalf("robot got %d messages, want 3", len(msgs))
		}
		for i, n := range []int{8, 9} {
			if want := "私域日报 · " + day0.AddDays(n).String(); !strings.Contains(msgs[1+i].Content, want) {
				t.Errorf("message %d is not day %d's report (oldest first):\n%s", 1+i, n, msgs[1+i].Content)
			}
			if n == 8 && (!strings.Contains(msgs[1].Content, "> "+victim.UserID+"：客户删除") || !strings.Contains(msgs[1].Content, "企业微信统计")) {
				t.Errorf("day 8's report does not flag %s, whose lost deletion only WeCom counted:\n%s", victim.UserID, msgs[1].Content)
			}
			if st, _ := report.StateOf(b.ctx, b.store, day0.AddDays(n)); st.Status != report.StatusSent {
				t.Errorf("day %d state = %+v, want sent", n, st)
			}
		}
	})
}

// bigBrand is a day of a brand with hundreds of channels and members.
func bigBrand() report.Data {
	d := report.Data{Day: day0.AddDays(30), Daily: churn.Daily{Date: day0.AddDays(30).String(), CustomersStart: 52340,
		NewCustomers: 812, LostCustomers: 97, RemovedCustomers: 12, CustomersEnd: 53043, ChurnRate: 97.0 / (52340 + 812), Reconciled: 4}}
	for i := range 7 {
		d.Trend = append(d.Trend, churn.Daily{Date: day0.AddDays(23 + i).String(), ChurnRate: 0.001 + float64(i)*0.0001})
	}
	for i := range 300 {
		d.Channels = append(d.Channels, report.ChannelChurn{Channel: fmt.Sprintf("抖音直播间_第%03d场_春季新品发布", i), New: 50, Lost: int64(40 - i%40), Rate: float64(40-i%40) / 50})
	}
	for i := range 400 {
		d.Members = append(d.Members, report.MemberAlert{Member: fmt.Sprintf("顾问%03d", i), DeletedByCustomer: 9, Average: 1.5, High: true, WeCom: 11, HasWeCom: true, Mismatch: true})
	}
	return d
}

func TestRender(t *testing.T) {
	tests := []struct {
		name, lang string
		want       []string
	}{
		{"a zh-CN report of a large brand fits the robot's 4096 bytes", report.LangZH,
			[]string{testclock.Shift("私域日报 · 2025-04-02"), "新增客户 **812**", "流失 <font color=\"warning\">97</font>", "删除 12", "净增 **+703**",
				"流失率 **0.18%**", "↑", "客户总数 52340 → 53043", "流失较高的渠道", "抖音直播间_第000场_春季新品发布：流失 40 / 新增 50（80.00%）",
				"删除异常的成员", "顾问000：客户删除 9（7日均 1.5），企业微信统计 11", "…另有", "对账补录 **4** 条"}},
		{"an English report is available", report.LangEN,
			[]string{testclock.Shift("Siyu daily report · 2025-04-02"), "New customers **812**", "Churn rate **0.18%**", "Members with unusual deletions", "…and"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := report.Render(bigBrand(), tc.lang, 0)
			if len(text) > wecom.MaxRobotMarkdownBytes || !utf8.ValidString(text) {
				t.Fatalf("report is %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("report lacks %q:\n%s", w, text)
				}
			}
		})
	}

	t.Run("a tiny budget keeps the headline and never cuts a character", func(t *testing.T) {
		for _, max := range []int{60, 200, 333, 1000} {
			text := report.Render(bigBrand(), report.LangZH, max)
			if len(text) > max || !utf8.ValidString(text) {
				t.Errorf("budget %d: %d bytes, valid UTF-8 %v", max, len(text), utf8.ValidString(text))
			}
		}
	})
}
