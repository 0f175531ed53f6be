package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/testclock"
)

// fakeConsole records what the API asked it to show.
type fakeConsole struct{ problem, csrf string }

func (f *fakeConsole) Login(w http.ResponseWriter, _ *http.Request, status int, problem string) {
	f.problem = problem
	w.WriteHeader(status)
}

func (f *fakeConsole) App(w http.ResponseWriter, _ *http.Request, csrf string) {
	f.csrf = csrf
	_, _ = w.Write([]byte("console"))
}

// consoleServer is an API with the console mounted and one admin GET and
// POST route.
func consoleServer(t *testing.T, token, publicURL string) (*api.Server, *fakeConsole, *testclock.Clock) {
	t.Helper()
	loc, _ := calendar.Zone("Asia/Shanghai")
	clk := testclock.New(testclock.Date(2025, 3, 2, 9, 0, 0, 0, loc))
	s := api.New(token, publicURL, loc, nil, clk.Now)
	c := &fakeConsole{}
	api.MountConsole(s, c)
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }
	s.Admin("GET /api/thing", ok)
	s.Admin("POST /api/thing", ok)
	return s, c, clk
}

func signIn(t *testing.T, s http.Handler, token, ip string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func send(s http.Handler, method, path string, cookie *http.Cookie, hdr map[string]string) int {
	req := httptest.NewRequest(method, path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Code
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == api.SessionCookie {
			return c
		}
	}
	t.Fatalf("no session cookie: %d %v", rec.Code, rec.Result().Header)
	return nil
}

func TestTheAdminTokenBuysAnHttpOnlyStrictSessionThatCallsTheAPIWithItsCSRFToken(t *testing.T) {
	s, c, _ := consoleServer(t, "tok", "https://siyu.example.com")
	rec := signIn(t, s, "tok", "192.0.2.1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	ck := sessionCookie(t, rec)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || !ck.Secure || ck.Path != "/" || ck.MaxAge != int(api.SessionTTL.Seconds()) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Secure, Path=/ and a max age", ck)
	}
	if strings.Contains(ck.Value, "tok") {
		t.Error("the cookie carries the token")
	}
	if got := send(s, http.MethodGet, "/", ck, nil); got != http.StatusOK || c.csrf == "" {
		t.Fatalf("the console with the session: %d", got)
	}
	tests := []struct {
		name         string
		method, path string
		hdr          map[string]string
		want         int
	}{
		{"a read needs the cookie alone", http.MethodGet, "/api/thing", nil, http.StatusOK},
		{"a change without the CSRF token is refused", http.MethodPost, "/api/thing", nil, http.StatusUnauthorized},
		{"a change with a wrong CSRF token is refused", http.MethodPost, "/api/thing", map[string]string{api.CSRFHeader: "x" + c.csrf}, http.StatusUnauthorized},
		{"a change with the page's CSRF token passes", http.MethodPost, "/api/thing", map[string]string{api.CSRFHeader: c.csrf}, http.StatusOK},
		{"a wrong bearer token is not rescued by the cookie", http.MethodGet, "/api/thing", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(s, tt.method, tt.path, ck, tt.hdr); got != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, got, tt.want)
			}
		})
	}
	t.Run("scripts keep the bearer token", func(t *testing.T) {
		if got := send(s, http.MethodPost, "/api/thing", nil, map[string]string{"Authorization": "Bearer tok"}); got != http.StatusOK {
			t.Errorf("bearer POST = %d", got)
		}
	})
}

func TestASessionEndsWithItsExpiryTheTokensRotationOrSignOut(t *testing.T) {
	s, _, clk := consoleServer(t, "tok", "http://127.0.0.1:8080")
	ck := sessionCookie(t, signIn(t, s, "tok", "192.0.2.1"))
	if ck.Secure {
		t.Error("Secure cookie over plain http: the browser would drop it")
	}
	t.Run("another token's server refuses it", func(t *testing.T) {
		rotated, _, _ := consoleServer(t, "tok2", "")
		if got := send(rotated, http.MethodGet, "/api/thing", ck, nil); got != http.StatusUnauthorized {
			t.Errorf("after rotation: %d", got)
		}
		if got := send(rotated, http.MethodGet, "/", ck, nil); got != http.StatusSeeOther {
			t.Errorf("the console after rotation: %d, want the sign-in form", got)
		}
	})
	t.Run("a forged expiry is refused", func(t *testing.T) {
		_, sig, _ := strings.Cut(ck.Value, ".")
		forged := &http.Cookie{Name: api.SessionCookie, Value: "9999999999." + sig}
		if got := send(s, http.MethodGet, "/api/thing", forged, nil); got != http.StatusUnauthorized {
			t.Errorf("forged: %d", got)
		}
	})
	t.Run("sign-out clears it", func(t *testing.T) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/logout", nil))
		c := sessionCookie(t, rec)
		if c.MaxAge >= 0 || c.Value != "" || rec.Header().Get("Location") != "/login" {
			t.Errorf("sign-out: cookie %+v, to %q", c, rec.Header().Get("Location"))
		}
	})
	t.Run("it expires", func(t *testing.T) {
		clk.Advance(api.SessionTTL - time.Second)
		if got := send(s, http.MethodGet, "/api/thing", ck, nil); got != http.StatusOK {
			t.Errorf("just before expiry: %d", got)
		}
		clk.Advance(time.Second)
		if got := send(s, http.MethodGet, "/api/thing", ck, nil); got != http.StatusUnauthorized {
			t.Errorf("at expiry: %d", got)
		}
	})
}

func TestWrongTokensGetTheFormAgainAndGuessingIsSlowedDown(t *testing.T) {
	s, c, clk := consoleServer(t, "tok", "")
	for i := range 10 {
		if rec := signIn(t, s, "guess", "198.51.100.7"); rec.Code != http.StatusForbidden || c.problem != api.LoginWrongToken {
			t.Fatalf("guess %d: %d %q", i, rec.Code, c.problem)
		}
	}
	if rec := signIn(t, s, "tok", "198.51.100.7"); rec.Code != http.StatusTooManyRequests || c.problem != api.LoginThrottled {
		t.Errorf("after 10 wrong guesses even the right token waits: %d %q", rec.Code, c.problem)
	}
	if rec := signIn(t, s, "tok", "203.0.113.9"); rec.Code != http.StatusSeeOther {
		t.Errorf("another address signs in: %d", rec.Code)
	}
	clk.Advance(10 * time.Minute)
	if rec := signIn(t, s, "tok", "198.51.100.7"); rec.Code != http.StatusSeeOther {
		t.Errorf("ten minutes later: %d", rec.Code)
	}
}

func TestWithoutAnAdminTokenNobodySignsIn(t *testing.T) {
	s, c, _ := consoleServer(t, "", "")
	if rec := signIn(t, s, "", "192.0.2.1"); rec.Code != http.StatusServiceUnavailable || c.problem != api.LoginClosed {
		t.Errorf("sign-in with no token configured: %d %q", rec.Code, c.problem)
	}
	if got := send(s, http.MethodGet, "/", nil, nil); got != http.StatusSeeOther {
		t.Errorf("the console: %d", got)
	}
}
