package root_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/wecom"
)

// chromium finds Debian's chromium; without it the test skips, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required in CI (make tools-chromium installs Debian's package)")
		}
		t.Skip("chromium not installed: run `make tools-chromium` (needs root) to test the dashboard")
	}
	return path
}

// headless runs chromium with the flags this workplace requires and a fresh
// profile, returning stdout.
func headless(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-quic", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=15000", "--window-size=1280,1800"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String()
}

func TestDashboardInChromiumShowsTheRolledUpChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	bin := chromium(t)
	ctx := context.Background()
	a, st, cfg := build(t, map[string]string{"SIYU_ADMIN_TOKEN": "dash-token"})
	// Yesterday in Shanghai: three customers arrive through two channels,
	// one of them deletes the member the same day.
	y := time.Now().In(cfg.Loc).AddDate(0, 0, -1)
	at := time.Date(y.Year(), y.Month(), y.Day(), 10, 0, 0, 0, cfg.Loc)
	add := func(cust, state string, min int) {
		ev := wecom.Event{ToUserName: "ww1", CreateTime: at.Add(time.Duration(min) * time.Minute).Unix(), MsgType: "event",
			Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact, UserID: "zhangsan", ExternalUserID: cust, State: state, Known: true}
		if _, _, err := events.NewLog(st, cfg.Loc, nil).Append(ctx, ev, "callback"); err != nil {
			t.Fatal(err)
		}
	}
	add("wmA", "douyin_live", 0)
	add("wmB", "douyin_live", 1)
	add("wmC", "store_qr_sh", 2)
	del := wecom.Event{ToUserName: "ww1", CreateTime: at.Add(time.Hour).Unix(), MsgType: "event", Event: wecom.EventExternalContact,
		ChangeType: wecom.ChangeDelFollowUser, UserID: "zhangsan", ExternalUserID: "wmB", Known: true}
	if _, _, err := events.NewLog(st, cfg.Loc, nil).Append(ctx, del, "callback"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Jobs.Run(ctx, jobs.Request{Job: "rollup"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler) // 127.0.0.1
	defer srv.Close()

	t.Run("Chinese is the default and the numbers are the rollup's", func(t *testing.T) {
		dom := headless(t, bin, "--dump-dom", srv.URL+"/#token=dash-token")
		for _, want := range []string{`lang="zh-CN"`, "私域看板", "新增客户", "流失率", `data-metric="new_customers"`, "douyin_live", "store_qr_sh", "33.33%", "已更新"} {
			if !strings.Contains(dom, want) {
				t.Errorf("dashboard lacks %q", want)
			}
		}
		// 3 new, 1 lost, 2 at the end of the day.
		for metric, v := range map[string]string{"new_customers": "3", "lost_customers": "1", "customers_end": "2"} {
			if !strings.Contains(dom, fmt.Sprintf(`data-metric="%s"><div class="label">`, metric)) ||
				!strings.Contains(dom[strings.Index(dom, `data-metric="`+metric+`"`):], `<div class="value">`+v+`</div>`) {
				t.Errorf("card %s does not show %s", metric, v)
			}
		}
	})
	t.Run("English is available", func(t *testing.T) {
		dom := headless(t, bin, "--dump-dom", srv.URL+"/#token=dash-token&lang=en")
		for _, want := range []string{`lang="en"`, "Daily customer churn rate", "Churn rate", "Updated"} {
			if !strings.Contains(dom, want) {
				t.Errorf("English dashboard lacks %q", want)
			}
		}
	})
	t.Run("a wrong token asks for the token again", func(t *testing.T) {
		dom := headless(t, bin, "--dump-dom", srv.URL+"/#token=wrong")
		if !strings.Contains(dom, "令牌无效") {
			t.Error("no invalid-token message")
		}
	})
	t.Run("a malformed token in the link asks for the token instead of leaving the page blank", func(t *testing.T) {
		dom := headless(t, bin, "--dump-dom", srv.URL+"/#token=%E0%A4%A")
		// The script's own text holds every message: look at the rendered
		// status line and the sign-in form.
		for _, want := range []string{`role="status" class="error">链接中的令牌无法识别，请输入管理令牌</span>`, `<section id="login">`, `<input id="token" type="password"`} {
			if !strings.Contains(dom, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})
	t.Run("a screenshot renders", func(t *testing.T) {
		shot := filepath.Join(t.TempDir(), "dashboard.png")
		headless(t, bin, "--screenshot="+shot, srv.URL+"/#token=dash-token")
		if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
			t.Fatalf("screenshot missing or blank: %v", err)
		}
		if dir := os.Getenv("SIYU_SCREENSHOT_DIR"); dir != "" {
			b, _ := os.ReadFile(shot)
			_ = os.WriteFile(filepath.Join(dir, "dashboard.png"), b, 0o644)
		}
	})
}
