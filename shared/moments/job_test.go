package moments_test

import (
	"context"
	"errors"
	"testing"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
)

func TestTheMomentsJobRefusesADateItCannotHonour(t *testing.T) {
	svc := moments.New(storetest.NewMemStore(nil), nil, nil, nil, "", nil, nil)
	for _, req := range []jobs.Request{{Date: testclock.Shift("2026-11-20")}, {From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-03")}} {
		t.Run("a request for "+req.Date+req.From+" is a bad request, not a run of today", func(t *testing.T) {
			_, err := svc.Job(context.Background(), req)
			var bad *jobs.BadRequestError
			if !errors.As(err, &bad) {
				t.Fatalf("Job(%+v) = %v, want a bad request", req, err)
			}
		})
	}
}
