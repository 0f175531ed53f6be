package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/clock"
)

func TestSleep(t *testing.T) {
	t.Run("a full wait returns nil", func(t *testing.T) {
		if err := clock.Sleep(t.Context(), time.Millisecond); err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
	})
	t.Run("a context that ends cuts the wait short with its error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		start := time.Now()
		if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if waited := time.Since(start); waited > time.Minute {
			t.Fatalf("waited %s after the context ended", waited)
		}
	})
	t.Run("a context cancelled with a cause returns the cause", func(t *testing.T) {
		cause := errors.New("a sibling call failed")
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(cause)
		if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, cause) {
			t.Fatalf("err = %v, want the cause", err)
		}
	})
	t.Run("no wait only checks the context", func(t *testing.T) {
		if err := clock.Sleep(t.Context(), 0); err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := clock.Sleep(ctx, -time.Second); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}
