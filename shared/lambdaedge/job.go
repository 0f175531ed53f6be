package lambdaedge

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/siyuhq/siyu/shared/jobs"
)

// Job serves fn for EventBridge Scheduler invocations. The schedule's
// explicit Input is the whole payload, e.g. {"job":"rollup"} or
// {"job":"rollup","date":"2025-01-31"}. An empty payload, one that names no
// job or carries fields a jobs.Request does not have (another event type
// wired to the wrong function) is an invocation error, so the scheduler's
// retry policy and dead-letter queue see it rather than a silent success.
func Job(fn jobs.Func) func(context.Context, json.RawMessage) (jobs.Result, error) {
	return jobs.Serve(DecodeJob, fn)
}

// ErrNoJob is returned for a payload that does not name a job.
var ErrNoJob = errors.New(`payload names no job: want the schedule's Input, e.g. {"job":"rollup"}`)

// DecodeJob reads a job request strictly: one JSON object with only the
// fields of jobs.Request, and a job name.
func DecodeJob(payload []byte) (jobs.Request, error) { return jobs.Decode(payload, ErrNoJob) }
