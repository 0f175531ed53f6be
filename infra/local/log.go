package main

import (
	"context"
	"log/slog"
	"sync/atomic"
)

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
