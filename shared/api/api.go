// Package api is the admin HTTP API (/api/*, bearer token) and the public
// routes that go with it (tracked links, dashboard). Domain areas add their
// routes through Mount so this file stays the one place for auth and errors.
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

	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
)

// Server routes the admin API.
type Server struct {
	mux        *http.ServeMux
	adminToken string
	jobs       map[string]jobs.Func
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
func New(adminToken string, loc *time.Location, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	s := &Server{mux: http.NewServeMux(), adminToken: adminToken, jobs: map[string]jobs.Func{}, Logger: logger, Now: time.Now, Loc: loc}
	s.mux.HandleFunc("POST /api/jobs/{name}", s.runJob)
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
	})
	return s
}

// Handle adds an admin route (pattern as http.ServeMux, e.g. "GET /api/stats/daily").
// The bearer check runs before h.
func (s *Server) Handle(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Public adds a route that needs no token (tracked links, dashboard page).
func (s *Server) Public(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Job registers a job runnable through POST /api/jobs/{name}.
func (s *Server) Job(name string, fn jobs.Func) { s.jobs[name] = fn }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="siyu"`)
		httpx.Error(w, http.StatusUnauthorized, "unauthorized", "Authorization: Bearer <SIYU_ADMIN_TOKEN> is required")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.adminToken == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
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

// MaxJSONBody bounds request bodies of the admin API.
const MaxJSONBody = 1 << 20

// DecodeJSON reads a JSON body strictly into v; on failure it has already
// answered 400 and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxJSONBody))
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

func (s *Server) runJob(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	fn, ok := s.jobs[name]
	if !ok {
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
	res, err := fn(r.Context(), req)
	if err != nil {
		WriteError(w, r, s.Logger, err)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

// WriteError maps a domain error to the JSON error shape: a bad request is
// 400 with its message; anything else is 500 with a generic message (the
// detail goes to the log, where no secret is ever written).
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var bad *jobs.BadRequestError
	switch {
	case errors.As(err, &bad):
		httpx.Error(w, http.StatusBadRequest, "bad_request", bad.Msg)
	case errors.Is(err, context.DeadlineExceeded):
		httpx.Error(w, http.StatusGatewayTimeout, "timeout", "the operation timed out; it is safe to retry")
	default:
		logger.LogAttrs(r.Context(), slog.LevelError, "api error", slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		httpx.Error(w, http.StatusInternalServerError, "internal", "internal error; see the function log")
	}
}
