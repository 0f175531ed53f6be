package callback_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/testclock"
)

// hook records what the callback tells the first-touch work, in order.
type hook struct {
	calls   []string
	markErr error
}

func (h *hook) Mark(ctx context.Context, rec events.Record) error {
	h.calls = append(h.calls, "mark "+rec.WelcomeCode)
	return h.markErr
}

func (h *hook) Stored(ctx context.Context, rec events.Record) {
	h.calls = append(h.calls, "stored "+rec.WelcomeCode)
}

func TestAnAddEventIsMarkedBeforeItIsStoredAndHandedOnOnce(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	h := &hook{}
	f.h.FirstTouch = h
	msg := fmt.Sprintf(addEvent, now.Unix()-3)
	for i := range 2 {
		sig, ts, body := f.seal(t, msg, fmt.Sprint("n", i))
		if w := f.post(t, sig, ts, "n"+fmt.Sprint(i), body); w.Code != http.StatusOK {
			t.Fatalf("answered %d", w.Code)
		}
	}
	want := []string{"mark WELCOMECODE", "stored WELCOMECODE", "mark WELCOMECODE"}
	if fmt.Sprint(h.calls) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v (the retry is marked again, not handed on)", h.calls, want)
	}
}

func TestAMarkThatFailsAnswers503AndStoresNothing(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	f.h.FirstTouch = &hook{markErr: errors.New("table unavailable")}
	sig, ts, body := f.seal(t, fmt.Sprintf(addEvent, now.Unix()-3), "n1")
	if w := f.post(t, sig, ts, "n1", body); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503 so WeCom retries", w.Code)
	}
	if recs := f.stored(t, testclock.Day(2026, 11, 24)); len(recs) != 0 {
		t.Errorf("stored %d events", len(recs))
	}
}

func TestThePendingMarkerKeepsTheWelcomeCodeTheLogDrops(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	var handed []events.Record
	f.h.FirstTouch = pending.Marker{Store: f.st, Dispatch: func(_ context.Context, rec events.Record) { handed = append(handed, rec) }}
	sig, ts, body := f.seal(t, fmt.Sprintf(addEvent, now.Unix()-3), "n1")
	if w := f.post(t, sig, ts, "n1", body); w.Code != http.StatusOK {
		t.Fatalf("answered %d", w.Code)
	}
	if len(handed) != 1 || handed[0].WelcomeCode != "WELCOMECODE" {
		t.Fatalf("handed on %+v", handed)
	}
	if recs := f.stored(t, testclock.Day(2026, 11, 24)); len(recs) != 1 || recs[0].WelcomeCode != "" {
		t.Fatalf("the log holds %+v, want the event without its welcome code", recs)
	}
	w, err := pending.Get(context.Background(), f.st, handed[0].Key)
	if err != nil || w.Record.WelcomeCode != "WELCOMECODE" || w.Record.ExternalUserID == "" {
		t.Fatalf("pending work %+v, %v", w, err)
	}
	older, err := pending.Older(context.Background(), f.st, now.Add(time.Second))
	if err != nil || len(older) != 1 {
		t.Fatalf("older than now: %d, %v", len(older), err)
	}
	// The marker lives pending.Window, then the work is past helping.
	f.now = now.Add(pending.Window + time.Second)
	if older, _ := pending.Older(context.Background(), f.st, f.now); len(older) != 0 {
		t.Errorf("%d markers outlived the window", len(older))
	}
}
