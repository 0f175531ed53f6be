package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
)

// grouped writes n with thousands separators, as the console's zh-CN
// number format does.
func grouped(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// chromium is Debian's chromium; without it the test skips, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required in CI (make tools-chromium installs Debian's package)")
	}
	t.Skip("chromium not installed: run `make tools-chromium` (needs root) to test the console")
	return ""
}

// ScreenshotDir is where the console test leaves its screenshots, from the
// repository root (git-ignored).
const ScreenshotDir = "build/console"

// consolePages are the console's pages, as their #fragment.
var consolePages = []string{"overview", "channels", "members", "groups", "posts", "moments", "settings"}

// browserT drives one tab and fails t on the first error.
type browserT struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b browserT) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression into v.
func (b browserT) eval(expr string, v any) {
	b.t.Helper()
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			b.t.Fatalf("%s: %v (%s)", expr, err, raw)
		}
	}
}

// wait polls a JavaScript predicate until it holds, across navigations.
func (b browserT) wait(expr string) {
	b.t.Helper()
	var last error
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second)))
		if err == nil {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond) // a navigation in between: poll the new page
	}
	var body string
	b.eval(`document.body ? document.body.innerText.slice(0, 2000) : ""`, &body)
	b.t.Fatalf("waiting for %s: %v\npage: %s", expr, last, body)
}

// click activates the element sel finds once it exists, as a tap does
// (in the page, so a re-render in between cannot leave a stale node).
func (b browserT) click(sel string) {
	b.t.Helper()
	b.wait(fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	b.eval(fmt.Sprintf(`(e => e.click ? e.click() : e.dispatchEvent(new MouseEvent("click", {bubbles: true})))(document.querySelector(%q)); true`, sel), nil)
}

func (b browserT) setValue(sel, v string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), v))
}

func (b browserT) text(sel string) string {
	var s string
	b.eval(fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||""`, sel), &s)
	return s
}

// loadMetrics are what a cold load of a page measured.
type loadMetrics struct {
	Bytes, Render float64
	Wide          bool
}

// load opens a page afresh and measures it: bytes transferred (the page,
// its assets and its API calls), ms from navigation to the rendered page,
// and whether it is wider than the window.
func (b browserT) load(p string) loadMetrics {
	b.t.Helper()
	b.do(chromedp.Navigate("about:blank"), chromedp.Navigate(b.base+"/#"+p))
	b.wait(`document.body.dataset.ready === "` + p + `"`)
	var m loadMetrics
	b.eval(`new Promise(r => setTimeout(() => r({
		Bytes: performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).reduce((a, e) => a + e.transferSize, 0),
		Render: +document.body.dataset.firstRenderMs,
		Wide: document.documentElement.scrollWidth > window.innerWidth}), 100))`, &m)
	return m
}

// screenshot saves the window as ScreenshotDir/name.png.
func (b browserT) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("..", "..", ScreenshotDir) // from the repository's root
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// page opens a console page and waits for it to render.
func (b browserT) page(name string) {
	b.t.Helper()
	// The same page again re-renders it, as following its tab does.
	b.eval(`document.body.dataset.ready = ""; if (location.hash === "#`+name+`") window.dispatchEvent(new HashChangeEvent("hashchange")); else location.hash = "#`+name+`"; true`, nil)
	b.wait(`document.body.dataset.ready === "` + name + `"`)
}

func TestTheConsoleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	bin := chromium(t)
	ctx := context.Background()

	// The local stack in demo mode, as `make run` starts it.
	dir := t.TempDir()
	const token = "console-test-token"
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"SIYU_ADMIN_TOKEN": token, "SIYU_STORE": "sqlite:" + filepath.Join(dir, "siyu.db")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	quietLog := slog.New(slog.DiscardHandler)
	d, err := startDemo(&cfg, dir, quietLog, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: quietLog, Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler()) // 127.0.0.1
	defer srv.Close()
	if err := d.Start(ctx, srv.URL+"/wecom/callback", s); err != nil {
		t.Fatal(err)
	}
	api := func(path string, v any) {
		t.Helper()
		get(t, srv.URL+path, token, v)
	}

	// Chromium with the flags this workplace requires and a fresh profile.
	downloads := t.TempDir()
	actx, cancelA := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900))
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	defer cancelT()
	b := browserT{t: t, ctx: tctx, base: srv.URL}
	b.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := cdp.Call(ctx, chromedp.FromContext(bctx).Browser, browser.SetDownloadBehavior,
			browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}), chromedp.EmulateViewport(1366, 900))

	t.Run("without a session the console is the sign-in form", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Navigate(srv.URL + "/"))
		b.wait(`location.pathname === "/login" && !!document.querySelector("#token")`)
		for _, size := range [][2]int64{{390, 844}, {1366, 900}} {
			b.do(chromedp.EmulateViewport(size[0], size[1]))
			b.screenshot(fmt.Sprintf("login-%d", size[0]))
		}
	})
	t.Run("a wrong token is refused in Chinese", func(t *testing.T) {
		b.t = t
		b.setValue("#token", "not-the-token")
		b.click(`button[type=submit]`)
		b.wait(`(document.querySelector("#login-error")||{}).textContent?.includes("管理令牌不正确")`)
	})
	t.Run("the admin token signs in and the session is out of the scripts' reach", func(t *testing.T) {
		b.t = t
		b.setValue("#token", token)
		b.click(`button[type=submit]`)
		b.wait(`location.pathname === "/" && document.body.dataset.ready === "overview"`)
		var seen string
		b.eval(`document.cookie + JSON.stringify(localStorage) + document.documentElement.outerHTML`, &seen)
		if strings.Contains(seen, token) || strings.Contains(seen, "siyu_session") {
			t.Error("the token or the session is readable by the page's scripts")
		}
	})

	t.Run("the overview shows the stats API's numbers for yesterday", func(t *testing.T) {
		b.t = t
		var daily struct {
			Days []map[string]any `json:"days"`
		}
		y := calendar.Of(d.clock.Now(), cfg.Loc).AddDays(-1).String()
		api("/api/stats/daily?from="+y+"&to="+y, &daily)
		if len(daily.Days) != 1 || daily.Days[0]["complete"] != true {
			t.Fatalf("yesterday is not rolled up: %v", daily.Days)
		}
		row := daily.Days[0]
		var cards map[string]string
		b.eval(`Object.fromEntries([...document.querySelectorAll("[data-metric]")].map(e => [e.dataset.metric, e.dataset.value]))`, &cards)
		want := map[string]string{
			"new_customers": fmt.Sprint(row["new_customers"]), "lost_customers": fmt.Sprint(row["lost_customers"]),
			"removed_customers": fmt.Sprint(row["removed_customers"]), "churn_rate": fmt.Sprint(row["churn_rate"]),
			"net": fmt.Sprint(row["new_customers"].(float64) - row["lost_customers"].(float64) - row["removed_customers"].(float64)),
		}
		for k, v := range want {
			if cards[k] != v {
				t.Errorf("card %s shows %q, the API says %s", k, cards[k], v)
			}
		}
		var charts int
		b.eval(`document.querySelectorAll("[data-chart] svg .hit").length`, &charts)
		if charts == 0 {
			t.Error("no chart drawn")
		}
		// A tap shows the day's value.
		b.click("[data-chart=churn] .hit:last-of-type")
		if tip := b.text("[data-chart=churn] + .tip"); !strings.Contains(tip, y) || !strings.Contains(tip, "%") {
			t.Errorf("tapping the chart shows %q", tip)
		}
	})

	t.Run("over 90 days the days before the data began are marked not rolled up, never zero", func(t *testing.T) {
		b.t = t
		b.click(`[aria-label=range] button:last-child`)
		b.wait(`document.querySelectorAll("[data-chart=churn] svg .inc").length > 30 && !!document.querySelector("#all-days")`)
		b.click("#all-days")
		b.wait(`document.querySelector("[data-table=daily]").innerText.includes("未汇总")`)
		b.click(`[data-chart=churn] svg .hit[data-incomplete]`)
		if tip := b.text("[data-chart=churn] + .tip"); !strings.Contains(tip, "尚未汇总") {
			t.Errorf("tapping a day not rolled up shows %q", tip)
		}
	})

	var postID string
	t.Run("a Moment created through the form is in the list and on the calendar", func(t *testing.T) {
		b.t = t
		b.page("posts")
		b.click("#new-post")
		b.setValue("#post-text", "控制台测试朋友圈 console test")
		b.click(`#post-form button[type=submit]`)
		b.wait(`document.querySelector("#status").textContent.includes("已创建")`)
		var listing struct {
			Posts []struct{ ID, Text, Status string } `json:"posts"`
		}
		api("/api/posts", &listing)
		for _, p := range listing.Posts {
			if p.Text == "控制台测试朋友圈 console test" {
				postID = p.ID
			}
		}
		if postID == "" {
			t.Fatal("the API has no such post")
		}
		b.wait(fmt.Sprintf(`!!document.querySelector('[data-calendar] [data-post=%q]') && document.querySelector('[data-table=posts]').innerText.includes("控制台测试朋友圈")`, postID))
	})
	t.Run("a Moment on a full day is refused in Chinese with the next free slot offered", func(t *testing.T) {
		b.t = t
		// Tomorrow now carries the demo's two Moments and this test's one.
		b.click("#new-post")
		b.setValue("#post-text", "第四条 fourth")
		b.click(`#post-form button[type=submit]`)
		b.wait(`document.querySelector("#post-error").textContent.includes("朋友圈已达上限") && !!document.querySelector("#next-slot")`)
		// The offered next free slot: the same time on the day after.
		b.click("#next-slot")
		b.wait(`document.querySelector("#status").textContent.includes("已创建")`)
		after := calendar.Of(d.clock.Now(), cfg.Loc).AddDays(2).String()
		b.wait(`[...document.querySelectorAll('[data-day="` + after + `"] [data-post]')].some(e => e.textContent.includes("第四条"))`)
	})
	t.Run("a post canceled through the list is canceled", func(t *testing.T) {
		b.t = t
		b.eval(`window.confirm = () => true; true`, nil)
		b.click(fmt.Sprintf(`[data-cancel=%q]`, postID))
		b.wait(fmt.Sprintf(`document.querySelector("#status").textContent.includes("已取消") && !document.querySelector('[data-cancel=%q]')`, postID))
		var p struct{ Status string }
		api("/api/posts/"+postID, &p)
		if p.Status != "canceled" {
			t.Errorf("status %q after cancel", p.Status)
		}
	})
	t.Run("a post edited through the form is replaced by the edited one", func(t *testing.T) {
		b.t = t
		var listing struct {
			Posts []struct{ ID, Text, Status string } `json:"posts"`
		}
		byText := func(text string) (id, status string) {
			api("/api/posts?to="+calendar.Of(d.clock.Now(), cfg.Loc).AddDays(7).String(), &listing)
			for _, p := range listing.Posts {
				if p.Text == text {
					id, status = p.ID, p.Status
				}
			}
			return id, status
		}
		old, _ := byText("第四条 fourth")
		if old == "" {
			t.Fatal("no post to edit")
		}
		b.page("posts")
		var here bool
		if b.eval(fmt.Sprintf(`!!document.querySelector('[data-edit=%q]')`, old), &here); !here {
			// The day after tomorrow is in next week's calendar.
			b.eval(`document.body.dataset.ready = ""; true`, nil)
			b.click(`button[aria-label="下一页"]`)
			b.wait(`document.body.dataset.ready === "posts"`)
		}
		b.click(fmt.Sprintf(`[data-edit=%q]`, old))
		b.setValue("#post-text", "第四条（已修改） edited")
		b.click(`#post-form button[type=submit]`)
		b.wait(`document.querySelector("#status").textContent.includes("已保存")`)
		if _, st := byText("第四条 fourth"); st != "canceled" {
			t.Errorf("the original is %q, want canceled", st)
		}
		if id, st := byText("第四条（已修改） edited"); id == "" || st != "scheduled" {
			t.Errorf("the edited post: %q %q", id, st)
		}
	})
	t.Run("a table downloads as CSV with a BOM", func(t *testing.T) {
		b.t = t
		b.click(`[data-csv=posts]`)
		path := filepath.Join(downloads, "siyu-posts.csv")
		b.wait(`new Promise(r => setTimeout(() => r(true), 200))`)
		var data []byte
		for range 50 {
			if data, err = os.ReadFile(path); err == nil && len(data) > 3 {
				break
			}
			b.wait(`new Promise(r => setTimeout(() => r(true), 100))`)
		}
		if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || !bytes.Contains(data, []byte("控制台测试朋友圈")) {
			t.Fatalf("CSV %q lacks the BOM or the post", data[:min(len(data), 200)])
		}
	})
	t.Run("groups: shown by the names the sync kept, not by chat_id", func(t *testing.T) {
		b.t = t
		var stats struct {
			Groups []struct {
				ChatID   string `json:"chat_id"`
				Name     string `json:"name"`
				Complete bool   `json:"complete"`
			} `json:"groups"`
		}
		api("/api/stats/groups", &stats)
		names := map[string]string{}
		for _, g := range stats.Groups {
			if g.Complete {
				names[g.ChatID] = g.Name
			}
		}
		if len(names) == 0 {
			t.Fatal("no demo group in the last 30 days")
		}
		b.page("groups")
		cells := b.text("[data-table=groups] tbody")
		for chat, name := range names {
			if name == "" {
				t.Errorf("demo group %s has no name in the stats API", chat)
			} else if !strings.Contains(cells, name) {
				t.Errorf("the groups page lacks %q (%s):\n%s", name, chat, cells)
			}
		}
		if strings.Contains(cells, "未命名") {
			t.Errorf("a named demo group is marked 未命名:\n%s", cells)
		}
	})
	t.Run("channels: early churn per channel, by name, from the per-channel cohorts", func(t *testing.T) {
		b.t = t
		b.page("channels")
		// What the page should show: each channel's cohorts of the last 30
		// days, weighted by size, counting for a window only the days whose
		// window has passed by yesterday (rolled up in the demo).
		today := calendar.Of(d.clock.Now(), cfg.Loc)
		from, to := today.AddDays(-30), today.AddDays(-1)
		var co struct {
			Rows []map[string]any `json:"cohorts"`
		}
		api("/api/stats/cohorts?by=channel&from="+from.String()+"&to="+to.String(), &co)
		want := map[string]map[string]string{} // channel name -> column -> text
		for _, name := range []string{"门店二维码", "抖音直播获客链接"} {
			want[name] = map[string]string{}
			for _, n := range []int{1, 7, 30} {
				var lost, base float64
				for _, r := range co.Rows {
					day, _ := calendar.Parse(fmt.Sprint(r["date"]))
					if r["complete"] != true || r["channel_name"] != name || day.AddDays(n).After(to) {
						continue
					}
					lost += r[fmt.Sprintf("lost_%dd", n)].(float64)
					base += r["new_customers"].(float64)
				}
				col := fmt.Sprintf("churn_%dd", n)
				want[name][col] = "—"
				if base > 0 {
					want[name][col] = fmt.Sprintf("%.2f%% n=%s", lost/base*100, grouped(int64(base)))
				}
			}
		}
		if want["门店二维码"]["churn_1d"] == "—" {
			t.Fatalf("the demo's shop channel has no cohort a day old: %v", co.Rows)
		}
		if want["门店二维码"]["churn_30d"] != "—" {
			t.Fatalf("a cohort of the last 30 days has its 30-day window passed: %v", want)
		}
		var shown map[string]map[string]string
		b.eval(`Object.fromEntries([...document.querySelectorAll("[data-table=channels] tbody tr")].map(tr =>
			[tr.cells[0].innerText.trim(), Object.fromEntries([...tr.cells].map((td, i) => [["name","state","new","lost","removed","lost_per_new","churn_1d","churn_7d","churn_30d"][i], td.innerText.trim()]))]))`, &shown)
		for name, cols := range want {
			got, ok := shown[name]
			if !ok {
				t.Errorf("the channels table has no row named %s: %v", name, shown)
				continue
			}
			for col, v := range cols {
				if got[col] != v {
					t.Errorf("%s %s shows %q, the cohorts say %q", name, col, got[col], v)
				}
			}
		}
		var heads string
		b.eval(`document.querySelector("[data-table=channels] thead").innerText`, &heads)
		for _, h := range []string{"1 天内流失率", "7 天内流失率", "30 天内流失率"} {
			if !strings.Contains(heads, h) {
				t.Errorf("no column %s in %q", h, heads)
			}
		}
		// Over 90 days the days before the data began are skipped: no
		// cohort of the demo's month is 30 days old, so the 30-day rate is
		// unknown — "—", never 0.
		b.eval(`document.body.dataset.ready = ""; true`, nil)
		b.click(`[aria-label=range] button:last-child`)
		b.wait(`document.body.dataset.ready === "channels" && document.querySelector("[data-table=channels]").closest("section").innerText.includes("近 90 天")`)
		var thirty []string
		b.eval(`[...document.querySelectorAll("[data-table=channels] tbody tr")].map(tr => tr.cells[8].innerText.trim())`, &thirty)
		for _, v := range thirty {
			if v != "—" {
				t.Errorf("a 30-day rate over the demo's month shows %q, want —: %v", v, thirty)
				break
			}
		}
	})
	t.Run("channels: managed through the form when the route exists", func(t *testing.T) {
		b.t = t
		b.page("channels")
		var na bool
		b.eval(`!!document.querySelector("[data-na=channels]")`, &na)
		if na {
			t.Log("GET /api/channels answers 404 in this build: the page says so; creating a channel is left to the build that has the route")
			return
		}
		b.click("#new-channel")
		b.setValue(`#channel-form [name=name]`, "门店海报")
		// A single-member QR code without its member: the API's 400 in words, naming the field.
		b.click(`#channel-form button[type=submit]`)
		b.wait(`document.querySelector("#channel-form")?.innerText.includes("填写有误") && document.querySelector("#channel-form").innerText.includes("members")`)
		var member string
		b.eval(`fetch("/api/channels").then(r => r.json()).then(j => (j.channels || j).find(c => (c.members || []).length).members[0])`, &member)
		if member == "" {
			t.Fatal("the demo's channels name no member")
		}
		b.setValue(`#channel-form [name=members]`, member)
		// A tag chosen by its name, from the corp's library.
		b.eval(`[...document.querySelectorAll("#tag-picker label")].find(l => l.innerText.trim() === "新客").querySelector("input").click(); true`, nil)
		var tagID string
		b.eval(`fetch("/api/tags").then(r => r.json()).then(j => j.groups.flatMap(g => g.tags).find(t => t.name === "新客").id)`, &tagID)
		// The welcome's hint counts UTF-8 bytes: 「你好」 is 6.
		b.setValue(`#channel-form [name=welcome]`, "你好")
		b.eval(`document.querySelector("#channel-form [name=welcome]").dispatchEvent(new Event("input")); true`, nil)
		if hint := b.text("#welcome-hint"); !strings.Contains(hint, "%NICKNAME%") || !strings.Contains(hint, "4,000") || !strings.Contains(hint, "当前 6 字节") {
			t.Errorf("the welcome's hint says %q", hint)
		}
		b.eval(`document.querySelector("#tag-picker").scrollIntoView(); true`, nil)
		b.screenshot("channel-form-1366")
		b.do(chromedp.EmulateViewport(390, 844))
		b.eval(`new Promise(r => requestAnimationFrame(() => { document.querySelector("#tag-picker").scrollIntoView(); r(true) }))`, nil)
		b.screenshot("channel-form-390")
		b.do(chromedp.EmulateViewport(1366, 900))
		b.click(`#channel-form button[type=submit]`)
		b.wait(`document.querySelector("[data-table=channel-list]")?.innerText.includes("门店海报")`)
		var raw string
		b.eval(`fetch("/api/channels").then(r => r.text())`, &raw)
		var made struct {
			Channels []struct {
				Name     string   `json:"name"`
				Kind     string   `json:"kind"`
				ConfigID string   `json:"config_id"`
				Tags     []string `json:"tags"`
			} `json:"channels"`
		}
		if err := json.Unmarshal([]byte(raw), &made); err != nil {
			t.Fatalf("GET /api/channels: %v", err)
		}
		found := false
		for _, c := range made.Channels {
			found = found || (c.Name == "门店海报" && c.Kind == "contact_way" && c.ConfigID != "" && slices.Equal(c.Tags, []string{tagID}))
		}
		if !found {
			t.Fatalf("the channel made through the form is not in GET /api/channels with its config_id and tag %s: %s", tagID, raw)
		}
	})
	t.Run("settings: saved with the version read, checked before sending, a stale save refused in words", func(t *testing.T) {
		b.t = t
		b.page("settings")
		var set struct {
			DeletionAlert struct {
				Threshold int `json:"threshold"`
			} `json:"deletion_alert"`
		}
		b.setValue(`#settings-form [name=threshold]`, "12")
		b.click(`#settings-form button[type=submit]`)
		b.wait(`document.querySelector("#status").textContent.includes("已保存")`)
		if api("/api/settings", &set); set.DeletionAlert.Threshold != 12 {
			t.Errorf("threshold %d after saving 12", set.DeletionAlert.Threshold)
		}
		// Out of range: refused in the page, before any request.
		b.setValue(`#settings-form [name=threshold]`, "0")
		b.click(`#settings-form button[type=submit]`)
		b.wait(`document.querySelector("#settings-error").textContent.includes("阈值须为 1 到 1000")`)
		// A limit the page did not know: the API's 400, in words, naming the field.
		b.eval(`LIMITS.threshold = 5000; true`, nil)
		b.setValue(`#settings-form [name=threshold]`, "2000")
		b.click(`#settings-form button[type=submit]`)
		b.wait(`document.querySelector("#settings-error").textContent.includes("填写有误") && document.querySelector("#settings-error").textContent.includes("deletion_alert.threshold")`)
		b.eval(`LIMITS.threshold = 1000; true`, nil)
		// Someone else saves meanwhile: this page's version is stale.
		var status int
		b.eval(`fetch("/api/settings").then(r => r.json().then(j => fetch("/api/settings", {method: "PUT", body: JSON.stringify(j),
			headers: {"Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content, "If-Match": r.headers.get("ETag")}}))).then(r => r.status)`, &status)
		if status != http.StatusOK {
			t.Fatalf("the other save: %d", status)
		}
		b.setValue(`#settings-form [name=threshold]`, "14")
		b.click(`#settings-form button[type=submit]`)
		b.wait(`document.querySelector("#settings-error").textContent.includes("设置已被他人修改，请刷新") && !!document.querySelector("#settings-reload")`)
		if api("/api/settings", &set); set.DeletionAlert.Threshold != 12 {
			t.Errorf("threshold %d after a stale save", set.DeletionAlert.Threshold)
		}
	})

	t.Run("every page is light, fits 390 and 360 px without sideways scrolling, and has its screenshots", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
			return err
		}))
		// Each page is loaded cold (no cache): its weight, and the time from
		// navigation to the rendered page — a figure for BENCHMARKS.md, not
		// an assertion (the machine's load moves it). SIYU_CONSOLE_RUNS=n
		// loads each page n times and logs the median.
		runs, _ := strconv.Atoi(os.Getenv("SIYU_CONSOLE_RUNS"))
		for _, size := range [][2]int64{{1366, 900}, {390, 844}} {
			b.do(chromedp.EmulateViewport(size[0], size[1]))
			for _, p := range consolePages {
				var renders []float64
				m := b.load(p)
				for i := 0; i < runs-1 && size[0] == 1366; i++ {
					renders = append(renders, b.load(p).Render)
				}
				renders = append(renders, m.Render)
				slices.Sort(renders)
				t.Logf("page %-9s at %4d px: %6.1f KB transferred (gzip), first render %4.0f ms (median of %v)", p, size[0], m.Bytes/1024, renders[len(renders)/2], renders)
				if m.Bytes > 200*1024 {
					t.Errorf("%s weighs %.0f KB, over 200 KB", p, m.Bytes/1024)
				}
				if m.Wide {
					t.Errorf("%s scrolls sideways at %d px", p, size[0])
				}
				b.screenshot(fmt.Sprintf("%s-%d", p, size[0]))
				if size[0] == 390 {
					// The narrowest phones the console supports: the same page, narrower.
					var wide bool
					b.do(chromedp.EmulateViewport(360, 740))
					b.eval(`new Promise(r => requestAnimationFrame(() => r(document.documentElement.scrollWidth > window.innerWidth)))`, &wide)
					b.do(chromedp.EmulateViewport(size[0], size[1]))
					if wide {
						t.Errorf("%s scrolls sideways at 360 px", p)
					}
				}
			}
		}
		b.do(chromedp.EmulateViewport(1366, 900))
	})

	t.Run("English is a tap away and remembered", func(t *testing.T) {
		b.t = t
		b.page("overview")
		b.click("#lang")
		b.wait(`document.documentElement.lang === "en" && document.querySelector("[data-page=overview]").textContent === "Overview" && document.body.innerText.includes("New customers")`)
		b.do(chromedp.Navigate("about:blank"), chromedp.Navigate(srv.URL+"/#members"))
		b.wait(`document.body.dataset.ready === "members" && document.documentElement.lang === "en" && document.body.innerText.includes("Members")`)
	})
	t.Run("after signing out the console and the API refuse the browser", func(t *testing.T) {
		b.t = t
		b.click("#logout")
		b.wait(`location.pathname === "/login"`)
		var status int
		b.eval(`fetch("/api/stats/daily").then(r => r.status)`, &status)
		if status != http.StatusUnauthorized {
			t.Errorf("GET /api/stats/daily after sign-out: %d", status)
		}
		b.do(chromedp.Navigate(srv.URL + "/#overview"))
		b.wait(`location.pathname === "/login"`)
	})
	t.Run("the sign-in link the local stack prints opens the console and leaves no token behind", func(t *testing.T) {
		b.t = t
		b.do(chromedp.Navigate(srv.URL + "/login#token=" + token))
		b.wait(`location.pathname === "/" && document.body.dataset.ready === "overview"`)
		var hist string
		b.eval(`location.href + JSON.stringify(localStorage)`, &hist)
		if strings.Contains(hist, token) {
			t.Errorf("the token stayed in %s", hist)
		}
	})
}
