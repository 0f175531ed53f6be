package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Registry is a function's jobs by name: what its timers run and what
// POST /api/jobs/{job} runs, alike. Run logs one line per run.
type Registry struct {
	jobs   map[string]Func
	logger *slog.Logger
}

// NewRegistry returns an empty registry logging to logger.
func NewRegistry(logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.Default()
	}
	return &Registry{jobs: map[string]Func{}, logger: logger}
}

// Add registers fn under name; a second Add of the same name is a wiring
// mistake and panics at start, not at run.
func (r *Registry) Add(name string, fn Func) {
	if _, dup := r.jobs[name]; dup {
		panic(fmt.Sprintf("jobs: %q registered twice", name))
	}
	r.jobs[name] = fn
}

// Merge adds every job of other.
func (r *Registry) Merge(other *Registry) {
	for _, name := range other.Names() {
		r.Add(name, other.jobs[name])
	}
}

// Has reports whether name is registered.
func (r *Registry) Has(name string) bool { _, ok := r.jobs[name]; return ok }

// Names lists the registered jobs in order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.jobs))
	for name := range r.jobs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// UnknownJobError is a request for a job that is not registered.
type UnknownJobError struct{ Name string }

func (e *UnknownJobError) Error() string { return fmt.Sprintf("no job named %q", e.Name) }

// Run runs the job req names and logs one line: done with its result,
// failed with the error, or interrupted when ctx ended (a shutdown; every
// job resumes on its next run).
func (r *Registry) Run(ctx context.Context, req Request) (Result, error) {
	fn, ok := r.jobs[req.Job]
	if !ok {
		return nil, &UnknownJobError{Name: req.Job}
	}
	start := time.Now()
	res, err := fn(ctx, req)
	attrs := []slog.Attr{slog.String("job", req.Job), slog.Duration("took", time.Since(start).Round(time.Millisecond))}
	switch {
	case err != nil && ctx.Err() != nil:
		r.logger.LogAttrs(ctx, slog.LevelInfo, "job interrupted", append(attrs, slog.String("err", err.Error()))...)
	case err != nil:
		r.logger.LogAttrs(ctx, slog.LevelError, "job failed", append(attrs, slog.String("err", err.Error()))...)
	default:
		r.logger.LogAttrs(ctx, slog.LevelInfo, "job done", append(attrs, slog.Any("result", res))...)
	}
	return res, err
}

// Only returns a Func that runs the named jobs and refuses any other, so a
// timer wired to the wrong function fails loudly.
func (r *Registry) Only(names ...string) Func {
	return func(ctx context.Context, req Request) (Result, error) {
		if !slices.Contains(names, req.Job) {
			return nil, fmt.Errorf("this function runs %v, not job %q", names, req.Job)
		}
		return r.Run(ctx, req)
	}
}

// Chain registers name as the steps run in order. A failed step does not
// stop the next; the errors are returned together so the timer retries.
// Asked for a date or range (a backfill), each step gets it, except the
// present steps, which work on WeCom as it stands now and sit a backfill
// out (and say so). The days are checked against now in loc before any
// step runs, so a bad request runs nothing. Steps not registered are
// skipped.
func (r *Registry) Chain(name string, steps []string, present []string, now func() time.Time, loc *time.Location) {
	r.Add(name, func(ctx context.Context, req Request) (Result, error) {
		dated := req.Date != "" || req.From != "" || req.To != ""
		if dated {
			if _, err := req.Days(now(), loc); err != nil {
				return nil, err
			}
		}
		out := Result{}
		var errs []error
		for _, step := range steps {
			fn, ok := r.jobs[step]
			if !ok {
				continue
			}
			if dated && slices.Contains(present, step) {
				out[step] = map[string]any{"skipped": step + " reads WeCom as it stands now and takes no date"}
				continue
			}
			res, err := fn(ctx, Request{Job: step, Date: req.Date, From: req.From, To: req.To})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", step, err))
				out[step] = map[string]any{"error": err.Error()}
				continue
			}
			out[step] = res
		}
		return out, errors.Join(errs...)
	})
}
