package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// Decode reads a job request strictly: one JSON object with only the fields
// of Request, and a job name. noJob is returned when the payload is empty or
// names no job, so each trigger can say how its input should look.
func Decode(payload []byte, noJob error) (Request, error) {
	var req Request
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) {
		return req, noJob
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
		return req, noJob
	}
	return req, nil
}

// Serve adapts fn to a runtime that hands over raw JSON payloads: decode
// turns the trigger's payload into a Request, and a bad one fails the
// invocation, so the platform's retries and alarms see it. The run itself is
// logged once, by the Registry that fn comes from.
func Serve(decode func([]byte) (Request, error), fn Func) func(context.Context, json.RawMessage) (Result, error) {
	return func(ctx context.Context, payload json.RawMessage) (Result, error) {
		req, err := decode(payload)
		if err != nil {
			slog.LogAttrs(ctx, slog.LevelError, "job invocation rejected", slog.String("err", err.Error()))
			return nil, err
		}
		res, err := fn(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", req.Job, err)
		}
		return res, nil
	}
}
