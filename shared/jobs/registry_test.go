package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/jobs"
)

func TestRunJobTellsAShutdownFromAFailure(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	reg := jobs.NewRegistry(slog.New(slog.NewTextHandler(&logs, nil)))
	reg.Add("probe", func(ctx context.Context, _ jobs.Request) (jobs.Result, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errors.New("wecom answered 60020")
	})
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
			if _, err := reg.Run(tt.ctx, jobs.Request{Job: "probe"}); err == nil {
				t.Fatal("the job's error was lost")
			}
			if line := logs.String(); !strings.Contains(line, tt.wantLevel) || !strings.Contains(line, tt.wantMsg) {
				t.Errorf("log %q, want %s %q", line, tt.wantLevel, tt.wantMsg)
			}
		})
	}
}
