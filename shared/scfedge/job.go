package scfedge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/siyuhq/siyu/shared/jobs"
)

// Job serves fn for timer trigger invocations. The trigger's Message (the
// "附加信息" of the timer) carries the job request JSON, e.g.
// {"job":"rollup"}. A payload that is not a timer event, or whose message
// names no job, fails the invocation so the failure shows in SCF's logs and
// alarms instead of passing as a success.
func Job(fn jobs.Func) func(context.Context, json.RawMessage) (jobs.Result, error) {
	return jobs.Serve(DecodeTimer, fn)
}

// ErrNoJob is returned for a timer whose message names no job.
var ErrNoJob = errors.New(`timer message names no job: set the trigger's message to e.g. {"job":"rollup"}`)

// DecodeTimer reads a timer event strictly and the job request in its
// Message.
func DecodeTimer(payload []byte) (jobs.Request, error) {
	var req jobs.Request
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return req, errors.New("empty payload: want a timer event")
	}
	var ev events.TimerEvent
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return req, fmt.Errorf("payload is not a timer event: %w", err)
	}
	if !strings.EqualFold(ev.Type, "Timer") {
		return req, fmt.Errorf("payload is not a timer event (Type %q)", ev.Type)
	}
	req, err := jobs.Decode([]byte(ev.Message), ErrNoJob)
	if err != nil && !errors.Is(err, ErrNoJob) {
		return req, fmt.Errorf("timer %q message: %w", ev.TriggerName, err)
	}
	return req, err
}
