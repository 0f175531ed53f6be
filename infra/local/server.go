package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/siyuhq/siyu/shared/httpx"
)

// serverLimits bound what one client may hold of the local server. The
// README tells people to expose it through a tunnel, so a client that
// never finishes its request must not keep a connection for ever.
type serverLimits struct {
	ReadHeader time.Duration
	// Read bounds the whole request, body included.
	Read time.Duration
	// Write bounds the handler and its answer: a job run through
	// POST /api/jobs/… may take as long as a cloud function may run.
	Write time.Duration
	Idle  time.Duration
	// MaxBody is the largest request body on any route: above the
	// callback's 1 MiB and a post with its attachments (14 MiB).
	MaxBody int64
}

var defaultLimits = serverLimits{
	ReadHeader: 10 * time.Second,
	Read:       time.Minute,
	Write:      15 * time.Minute,
	Idle:       2 * time.Minute,
	MaxBody:    16 << 20,
}

func newServer(h http.Handler, l serverLimits) *http.Server {
	return &http.Server{
		Handler:           limitBody(h, l.MaxBody),
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
	}
}

// limitBody answers 413 to a body announced larger than max and caps the
// others, so no route reads more than max whatever it does itself.
func limitBody(h http.Handler, max int64) http.Handler {
	capped := http.MaxBytesHandler(h, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Connection", "close")
			httpx.Error(w, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("the request body is larger than %d MiB", max>>20))
			return
		}
		capped.ServeHTTP(w, r)
	})
}

// quietHandler turns info lines into debug lines while quiet is set. The
// demo's start replays a month of callbacks and rolls up thirty days, one
// log line each; it prints one summary line per phase instead. Warnings and
// errors always pass.
type quietHandler struct {
	next  slog.Handler
	quiet *atomic.Bool
}

func newQuietHandler(next slog.Handler) quietHandler {
	return quietHandler{next: next, quiet: new(atomic.Bool)}
}

func (h quietHandler) level(l slog.Level) slog.Level {
	if h.quiet.Load() && l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, h.level(l))
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = h.level(r.Level)
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{next: h.next.WithAttrs(as), quiet: h.quiet}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{next: h.next.WithGroup(name), quiet: h.quiet}
}
