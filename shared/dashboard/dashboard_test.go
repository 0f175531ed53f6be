package dashboard_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/dashboard"
	"github.com/siyuhq/siyu/shared/testclock"
)

func server(t *testing.T) http.Handler {
	t.Helper()
	loc, _ := calendar.Zone("Asia/Shanghai")
	clk := testclock.New(testclock.Date(2025, 3, 2, 9, 0, 0, 0, loc))
	s := api.New("tok", "", loc, nil, clk.Now)
	dashboard.New(loc, clk.Now).Mount(s)
	return s
}

func get(h http.Handler, path string, hdr map[string]string, cookies ...*http.Cookie) *http.Response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		rd = z
	}
	b, _ := io.ReadAll(rd)
	return string(b)
}

func TestTheConsoleLoadsNothingInlineOrFromElsewhere(t *testing.T) {
	h := server(t)
	login := get(h, "/login", nil)
	csp := login.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	page := body(t, login)
	if regexp.MustCompile(`<script>|<style|\sstyle="|\son[a-z]+="|https?://`).MatchString(page) {
		t.Error("the sign-in page has inline code or a foreign URL")
	}
	for _, want := range []string{`lang="zh-CN"`, `action="/login"`, `name="token"`, `type="password"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the sign-in page lacks %s", want)
		}
	}
}

func TestAWrongTokenShowsTheFormAgainWithAChineseError(t *testing.T) {
	h := server(t)
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {"nope"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if b := rec.Body.String(); rec.Code != http.StatusForbidden || !strings.Contains(b, "管理令牌不正确") || !strings.Contains(b, `role="alert"`) {
		t.Errorf("%d %s", rec.Code, b)
	}
}

func TestTheSignedInPageCarriesItsCSRFTokenZoneAndTodayAndIsGzipped(t *testing.T) {
	h := server(t)
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("token=tok"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	ck := rec.Result().Cookies()[0]
	r := get(h, "/", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, ck)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", r.StatusCode, r.Header)
	}
	page := body(t, r)
	for _, want := range []string{`<meta name="siyu-tz" content="Asia/Shanghai">`, `<meta name="siyu-today" content="` + testclock.Shift("2025-03-02") + `">`,
		`name="csrf-token" content="`, `action="/logout"`, `/assets/app.js?v=`} {
		if !strings.Contains(page, want) {
			t.Errorf("the console lacks %s", want)
		}
	}
	if strings.Contains(page, "tok\"") || strings.Contains(page, ck.Value) {
		t.Error("the page carries the token or the session")
	}
}

func TestAssetsAreServedCompressedAndCachedByVersion(t *testing.T) {
	h := server(t)
	plain := get(h, "/assets/app.js", nil)
	zipped := get(h, "/assets/app.js?v=whatever", map[string]string{"Accept-Encoding": "gzip"})
	if plain.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || plain.Header.Get("Content-Encoding") != "" {
		t.Errorf("plain: %v", plain.Header)
	}
	if zipped.Header.Get("Content-Encoding") != "gzip" || body(t, zipped) != body(t, plain) {
		t.Error("the gzip form differs or is missing")
	}
	if get(h, "/assets/nope.js", nil).StatusCode != http.StatusNotFound {
		t.Error("an unknown asset is served")
	}
}
