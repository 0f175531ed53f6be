package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The console's sign-in. The operator posts the admin token once to
// POST /login and gets a session cookie: its value is the expiry and an
// HMAC of it under a key derived from the admin token, so nothing is stored
// server-side and rotating the token signs everyone out. The cookie is
// HttpOnly (no script ever sees the token or the session) and
// SameSite=Strict; state-changing /api calls made with it also carry
// X-CSRF-Token, an HMAC of the session the page receives in a meta tag.
const (
	SessionCookie = "siyu_session"
	// SessionTTL is how long a sign-in lasts.
	SessionTTL = 12 * time.Hour
	// CSRFHeader carries the page's CSRF token on state-changing calls.
	CSRFHeader = "X-CSRF-Token"
	// CSRFField is the same token in a form (POST /logout).
	CSRFField = "csrf"
)

// Login throttling: failures per client address and overall within
// loginWindow. Beyond either, sign-in answers 429 until the window passes.
const (
	loginWindow        = 10 * time.Minute
	loginFailsPerIP    = 10
	loginFailsOverall  = 100
	loginTrackedClient = 10_000
)

// Console is what serves the console's pages; the API owns who may see
// them.
type Console interface {
	// Login writes the sign-in form with status; problem is "" or one of
	// the Login* problems.
	Login(w http.ResponseWriter, r *http.Request, status int, problem string)
	// App writes the console for a signed-in operator; csrf goes into the
	// page for its state-changing calls.
	App(w http.ResponseWriter, r *http.Request, csrf string)
}

// Problems the sign-in form explains.
const (
	LoginWrongToken = "wrong_token"
	LoginThrottled  = "throttled"
	LoginClosed     = "closed" // no SIYU_ADMIN_TOKEN: nobody can sign in
	LoginExpired    = "expired"
)

// MountConsole serves c: the sign-in form (GET /login, POST /login),
// POST /logout, and the console at GET / for a signed-in operator; anyone
// else is sent to the sign-in form.
func MountConsole(s *Server, c Console) {
	s.Public("GET /login", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.session(r); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		c.Login(w, r, http.StatusOK, "")
	})
	s.Public("POST /login", func(w http.ResponseWriter, r *http.Request) { s.login(w, r, c) })
	s.Public("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s.clearSession(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	s.Page("GET /{$}", func(w http.ResponseWriter, r *http.Request, csrf string) { c.App(w, r, csrf) })
}

// Page adds a console page: a signed-in operator gets h with the page's
// CSRF token, anyone else a redirect to the sign-in form.
func (s *Server) Page(pattern string, h func(w http.ResponseWriter, r *http.Request, csrf string)) {
	s.routes = append(s.routes, Route{Pattern: pattern, Page: true})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.session(r)
		if !ok {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r, s.csrf(v))
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, c Console) {
	if s.adminToken == "" {
		c.Login(w, r, http.StatusServiceUnavailable, LoginClosed)
		return
	}
	ip := clientIP(r)
	now := s.Now()
	if !s.limiter.allowed(ip, now) {
		w.Header().Set("Retry-After", strconv.Itoa(int(loginWindow.Seconds())))
		c.Login(w, r, http.StatusTooManyRequests, LoginThrottled)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	tok := ""
	if err := r.ParseForm(); err == nil {
		tok = r.PostForm.Get("token")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.adminToken)) != 1 {
		s.limiter.failed(ip, now)
		s.Logger.Warn("console sign-in refused", "client", ip)
		c.Login(w, r, http.StatusForbidden, LoginWrongToken)
		return
	}
	exp := now.Add(SessionTTL).Unix()
	v := strconv.FormatInt(exp, 10) + "." + s.mac("session", strconv.FormatInt(exp, 10))
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: v, Path: "/", Expires: time.Unix(exp, 0),
		MaxAge: int(SessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies()})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) clearSession(w http.ResponseWriter, _ *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies()})
	w.Header().Set("Cache-Control", "no-store")
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.PublicURL, "https://") }

// mac is HMAC-SHA256 of purpose and msg under the session key, which is
// derived from the admin token (so a new token voids every session and
// CSRF token).
func (s *Server) mac(purpose, msg string) string {
	kh := hmac.New(sha256.New, []byte(s.adminToken))
	kh.Write([]byte("siyu console session key v1"))
	h := hmac.New(sha256.New, kh.Sum(nil))
	h.Write([]byte(purpose + "\x00" + msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// session returns the request's valid, unexpired session cookie value.
func (s *Server) session(r *http.Request) (string, bool) {
	if s.adminToken == "" {
		return "", false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return "", false
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return "", false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.Now().Before(time.Unix(n, 0)) {
		return "", false
	}
	if !hmac.Equal([]byte(sig), []byte(s.mac("session", exp))) {
		return "", false
	}
	return c.Value, true
}

// csrf is the CSRF token of session value v.
func (s *Server) csrf(v string) string { return s.mac("csrf", v) }

// sessionAuthorized reports whether r is allowed by its session cookie: a
// safe method needs the cookie alone, anything else its CSRF token too.
func (s *Server) sessionAuthorized(r *http.Request) bool {
	v, ok := s.session(r)
	if !ok {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	got := r.Header.Get(CSRFHeader)
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrf(v)))
}

// clientIP is the address the request came from (never a header a client
// can set).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter counts failed sign-ins per address and overall, in memory: a
// cheap brake on guessing (each cloud instance brakes on its own; the
// token's 128 bits do the rest).
type limiter struct {
	mu      sync.Mutex
	clients map[string][]time.Time
	all     []time.Time
}

func recent(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	return ts[i:]
}

func (l *limiter) allowed(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = recent(l.all, now)
	if len(l.all) >= loginFailsOverall {
		return false
	}
	return len(recent(l.clients[ip], now)) < loginFailsPerIP
}

func (l *limiter) failed(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients == nil || len(l.clients) >= loginTrackedClient {
		l.clients = map[string][]time.Time{}
	}
	l.clients[ip] = append(recent(l.clients[ip], now), now)
	l.all = append(recent(l.all, now), now)
}
