// Package clock holds the waiting that retry loops share. It imports only
// the standard library, so the WeCom client, the store adapters and the
// simulator can all use it.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, whichever comes first. It returns nil
// after a full wait and ctx's cause (its error unless it was cancelled with
// a cause) when ctx ended first; a d of zero or less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
