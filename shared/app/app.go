// Package app wires Siyu's domain together for the functions that serve more
// than one route or job (api, and the local stack that runs everything). It
// imports no cloud SDK and no store adapter: the caller opens the store.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// App is the wired domain.
type App struct {
	Cfg    config.Config
	Store  store.Store
	Events *events.Log
	Logger *slog.Logger
	// WeCom is nil when no WECOM_SECRET is configured; jobs that need it
	// then report that clearly.
	WeCom *wecom.Client
	// Callback is nil without callback credentials.
	Callback *callback.Handler
	API      *api.Server
	Jobs     map[string]jobs.Func
	Posts    *posts.Service

	// Now is the clock every component reads; the demo moves it to replay a
	// brand's history. Defaults to time.Now.
	Now func() time.Time
}

func (a *App) now() time.Time { return a.Now() }

// New builds the app over an open store.
func New(ctx context.Context, cfg config.Config, st store.Store, logger *slog.Logger) (*App, error) {
	if logger == nil {
		logger = slog.Default()
	}
	a := &App{Cfg: cfg, Store: st, Events: events.NewLog(st, cfg.Loc), Logger: logger, Jobs: map[string]jobs.Func{}, Now: time.Now}
	if cfg.HasWeCom() {
		c, err := wecom.NewCrypter(cfg.CallbackToken, cfg.EncodingAESKey, cfg.CorpID)
		if err != nil {
			return nil, fmt.Errorf("callback credentials: %w", err)
		}
		a.Callback = callback.New(c, a.Events, cfg.CallbackMaxSkew, logger)
	}
	if cfg.CorpID != "" && cfg.Secret != "" {
		a.WeCom = wecom.NewClient(wecom.ClientConfig{BaseURL: cfg.APIBase, CorpID: cfg.CorpID, Secret: cfg.Secret, Store: st, Logger: logger})
	}
	a.API = api.New(cfg.AdminToken, cfg.Loc, logger)
	a.API.PublicURL = cfg.PublicURL
	if cfg.PublicURL == "" {
		logger.Info("SIYU_PUBLIC_URL is not set: tracked links take their base from each API request's scheme and host")
	}
	mountDomains(ctx, a)
	for name, fn := range a.Jobs {
		a.API.Job(name, fn)
	}
	return a, nil
}

// Handler serves every route: the WeCom callback and the API/dashboard.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	if a.Callback != nil {
		mux.Handle("/wecom/callback", a.Callback)
	}
	mux.Handle("/", a.API)
	return noFraming(mux)
}

// noFraming tells browsers never to frame or sniff any answer: the
// dashboard must not be clickjacked, and JSON is never a script. Handlers
// with their own Content-Security-Policy (the dashboard) keep
// frame-ancestors 'none' in it.
func noFraming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// RunJob runs a named job, logging its result.
func (a *App) RunJob(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	fn, ok := a.Jobs[req.Job]
	if !ok {
		return nil, fmt.Errorf("no job named %q", req.Job)
	}
	start := time.Now()
	res, err := fn(ctx, req)
	attrs := []any{"job", req.Job, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil && ctx.Err() != nil {
		// Stopped by a shutdown, not failed: every job resumes next run.
		a.Logger.Info("job interrupted", append(attrs, "err", err)...)
		return res, err
	}
	if err != nil {
		a.Logger.Error("job failed", append(attrs, "err", err)...)
		return res, err
	}
	a.Logger.Info("job done", append(attrs, "result", res)...)
	return res, nil
}

// Open opens the store named by SIYU_STORE and builds the app: what every
// function main does once per cold start.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Require("SIYU_STORE"); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return New(ctx, cfg, st, logger)
}

// Dispatch returns a jobs.Func that runs the job a trigger names, limited
// to allowed names (a timer wired to the wrong function fails loudly).
func (a *App) Dispatch(allowed ...string) jobs.Func {
	return func(ctx context.Context, req jobs.Request) (jobs.Result, error) {
		for _, name := range allowed {
			if name == req.Job {
				return a.RunJob(ctx, req)
			}
		}
		return nil, fmt.Errorf("this function runs %v, not job %q", allowed, req.Job)
	}
}
