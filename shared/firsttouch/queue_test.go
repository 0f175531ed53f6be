package firsttouch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch"
)

func TestAFullQueueDropsToTheSweepWithoutBlocking(t *testing.T) {
	w := newWorld(t)
	q := firsttouch.NewQueue(w.svc, 2) // no worker: it never drains
	for i := range 250 {
		q.Dispatch(context.Background(), events.Record{Key: string(rune('a' + i%26))})
	}
	if got := q.Dropped(); got != 248 {
		t.Errorf("dropped %d, want 248", got)
	}
	if n := strings.Count(w.logs.String(), "first-touch queue full"); n != 3 {
		t.Errorf("%d warnings for 248 drops, want 3 (one per hundred)", n)
	}
	q.Close()
	q.Dispatch(context.Background(), events.Record{Key: "late"})
	if got := q.Dropped(); got != 249 {
		t.Errorf("a dispatch after Close was not dropped: %d", got)
	}
}
