// Package api is the admin HTTP API (/api/*, bearer token) and the public
// routes that go with it (tracked links, dashboard). Domain areas add their
// routes through Mount; each route is registered as Admin or Public, and
// Routes lists them with their auth, so this file stays the one place for
// auth and errors.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
)

// Server routes the admin API.
type Server struct {
	mux        *http.ServeMux
	adminToken string
	routes     []Route
	limiter    limiter
	Logger     *slog.Logger
	Now        func() time.Time
	Loc        *time.Location
	// PublicURL is SIYU_PUBLIC_URL, the base of tracked links. Empty: the
	// base is taken from each request (PublicBase).
	PublicURL string
}

// New returns a server guarding /api/* with adminToken. An empty token
// refuses every /api call (a deployment without SIYU_ADMIN_TOKEN is closed,
// not open).
func New(adminToken, publicURL string, loc *time.Location, logger *slog.Logger, now func() time.Time) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	s := &Server{mux: http.NewServeMux(), adminToken: adminToken, PublicURL: publicURL, Logger: logger, Now: now, Loc: loc}
	s.Admin("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// Route is one registered route and who may call it: Admin routes need
// the admin token (or a console session), Page routes a console session;
// anything else is public.
type Route struct {
	Pattern string
	Admin   bool
	Page    bool
}

// Routes lists every route in the order it was registered.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Admin adds a route that needs the admin token (pattern as
// http.ServeMux, e.g. "GET /api/stats/daily"); the bearer check (or the
// console's session and CSRF check) runs before h.
func (s *Server) Admin(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Admin: true})
	h = withGzip(h)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="siyu"`)
			httpx.Error(w, http.StatusUnauthorized, "unauthorized", "Authorization: Bearer <SIYU_ADMIN_TOKEN> (or a console session with its X-CSRF-Token) is required")
			return
		}
		h(w, r)
	})
}

// Public adds a route that needs no token (tracked links, the dashboard
// page). Everything under /api/ is admin: a public pattern there is a
// wiring mistake and panics at start.
func (s *Server) Public(pattern string, h http.HandlerFunc) {
	if _, path, _ := strings.Cut(pattern, " "); strings.HasPrefix(path, "/api/") || strings.HasPrefix(pattern, "/api/") {
		panic("api: public route under /api/: " + pattern)
	}
	s.routes = append(s.routes, Route{Pattern: pattern})
	s.mux.HandleFunc(pattern, h)
}

// MountJobs serves reg's jobs at POST /api/jobs/{name}, the same registry
// the function's timers run.
func MountJobs(s *Server, reg *jobs.Registry) {
	s.Admin("POST /api/jobs/{name}", func(w http.ResponseWriter, r *http.Request) { s.runJob(w, r, reg) })
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) authorized(r *http.Request) bool {
	if s.adminToken == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if h == "" {
		return s.sessionAuthorized(r)
	}
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(prefix):]), []byte(s.adminToken)) == 1
}

// PublicBase is the public base URL for links made while serving r:
// PublicURL when configured, else the scheme and host r came in on (the
// API's own function URL in the cloud). Only authorized /api calls make
// links, so only the operator chooses the Host a link is made with.
func (s *Server) PublicBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	switch p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p {
	case "http", "https":
		scheme = p
	}
	u, err := url.Parse(scheme + "://" + r.Host)
	if r.Host == "" || err != nil || u.Host != r.Host || u.User != nil || u.Path != "" {
		return ""
	}
	return scheme + "://" + r.Host
}

// dayRange reads ?from=&to= by rg, the rule of the route's family, against
// today in the brand's zone; on a bad range it has already answered 400.
func (s *Server) dayRange(w http.ResponseWriter, r *http.Request, rg jobs.Range) (from, to calendar.Day, ok bool) {
	q := r.URL.Query()
	from, to, err := rg.Parse(q.Get("from"), q.Get("to"), calendar.Of(s.Now(), s.Loc), s.Loc)
	if err != nil {
		WriteError(w, r, s.Logger, err)
		return from, to, false
	}
	return from, to, true
}

// MaxJSONBody bounds request bodies of the admin API.
const MaxJSONBody = 1 << 20

// DecodeJSON reads a JSON body of at most MaxJSONBody strictly into v; on
// failure it has already answered 400 and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, r, v, MaxJSONBody)
}

// decodeJSON is DecodeJSON for a body of at most limit bytes.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			httpx.Error(w, http.StatusBadRequest, "empty_body", "a JSON body is required")
		} else {
			httpx.Error(w, http.StatusBadRequest, "bad_json", "invalid JSON body: "+err.Error())
		}
		return false
	}
	return true
}

func (s *Server) runJob(w http.ResponseWriter, r *http.Request, reg *jobs.Registry) {
	name := r.PathValue("name")
	if !reg.Has(name) {
		httpx.Error(w, http.StatusNotFound, "unknown_job", "no job named "+name)
		return
	}
	var req jobs.Request
	if r.ContentLength != 0 {
		if !DecodeJSON(w, r, &req) {
			return
		}
	}
	req.Job = name
	res, err := reg.Run(r.Context(), req)
	if err != nil {
		WriteError(w, r, s.Logger, err)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

// BadRequest is an error the caller must fix. Each domain declares its own
// type (jobs.BadRequestError, moments.InputError) with this method, and
// WriteError answers every one with the same 400.
type BadRequest interface {
	error
	BadRequest() string
}

// WriteError maps a domain error to the JSON error shape: a bad request is
// 400 with its message; anything else is 500 with a generic message (the
// detail goes to the log, where no secret is ever written).
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var bad BadRequest
	switch {
	case errors.As(err, &bad):
		httpx.Error(w, http.StatusBadRequest, "bad_request", bad.BadRequest())
	case errors.Is(err, context.DeadlineExceeded):
		httpx.Error(w, http.StatusGatewayTimeout, "timeout", "the operation timed out; it is safe to retry")
	default:
		logger.LogAttrs(r.Context(), slog.LevelError, "api error", slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		httpx.Error(w, http.StatusInternalServerError, "internal", "internal error; see the function log")
	}
}
