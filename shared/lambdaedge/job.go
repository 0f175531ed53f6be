package lambdaedge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/jobs"
)

// Job serves fn for EventBridge Scheduler invocations. The schedule's
// explicit Input is the whole payload, e.g. {"job":"rollup"} or
// {"job":"rollup","date":"2025-01-31"}. An empty payload, one that names no
// job or carries fields a jobs.Request does not have (another event type
// wired to the wrong function) is an invocation error, so the scheduler's
// retry policy and dead-letter queue see it rather than a silent success.
func Job(fn jobs.Func) func(context.Context, json.RawMessage) (jobs.Result, error) {
	return func(ctx context.Context, payload json.RawMessage) (jobs.Result, error) {
		req, err := DecodeJob(payload)
		if err != nil {
			slog.LogAttrs(ctx, slog.LevelError, "job invocation rejected", slog.String("err", err.Error()))
			return nil, err
		}
		start := time.Now()
		res, err := fn(ctx, req)
		attrs := []slog.Attr{slog.String("job", req.Job), slog.Duration("took", time.Since(start))}
		if err != nil {
			slog.LogAttrs(ctx, slog.LevelError, "job failed", append(attrs, slog.String("err", err.Error()))...)
			return nil, fmt.Errorf("job %s: %w", req.Job, err)
		}
		slog.LogAttrs(ctx, slog.LevelInfo, "job done", append(attrs, slog.Any("result", res))...)
		return res, nil
	}
}

// ErrNoJob is returned for a payload that does not name a job.
var ErrNoJob = errors.New(`payload names no job: want the schedule's Input, e.g. {"job":"rollup"}`)

// DecodeJob reads a job request strictly: one JSON object with only the
// fields of jobs.Request, and a job name.
func DecodeJob(payload []byte) (jobs.Request, error) {
	var req jobs.Request
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return req, ErrNoJob
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("job payload is not a job request: %w", err)
	}
	if dec.More() {
		return req, errors.New("job payload has data after the request object")
	}
	if req.Job == "" {
		return req, ErrNoJob
	}
	return req, nil
}
