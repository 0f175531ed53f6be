package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
)

func TestRunJobTellsAShutdownFromAFailure(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "siyu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := app.New(ctx, cfg, st, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.Jobs["probe"] = func(ctx context.Context, _ jobs.Request) (jobs.Result, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errors.New("wecom answered 60020")
	}
	stopped, stop := context.WithCancel(ctx)
	stop()
	tests := []struct {
		name      string
		ctx       context.Context
		wantLevel string
		wantMsg   string
	}{
		{"a job cut short by Ctrl-C is logged as interrupted, not as an error", stopped, "level=INFO", "job interrupted"},
		{"a job that fails on its own is an error", ctx, "level=ERROR", "job failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			if _, err := a.RunJob(tt.ctx, jobs.Request{Job: "probe"}); err == nil {
				t.Fatal("the job's error was lost")
			}
			if line := logs.String(); !strings.Contains(line, tt.wantLevel) || !strings.Contains(line, tt.wantMsg) {
				t.Errorf("log %q, want %s %q", line, tt.wantLevel, tt.wantMsg)
			}
		})
	}
}
