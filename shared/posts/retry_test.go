package posts_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestAPostWhoseMediaNeverResolves(t *testing.T) {
	e := newEnv(t, openMemory)
	d := morning("never ready", "alice")
	d.Attachments = []posts.Attachment{{Type: posts.Image, URL: e.media.URL + "/busy.png"}}
	p := e.create(d)
	e.clock.Advance(10 * time.Minute)
	e.tick()

	t.Run("stays scheduled showing its attempts and why it did not go out", func(t *testing.T) {
		got := e.get(p.ID)
		if got.Status != posts.Scheduled || got.Attempts != 1 || !strings.Contains(got.LastError, "503") {
			t.Fatalf("post = %s, %d attempts, last error %q; want scheduled, 1, a 503", got.Status, got.Attempts, got.LastError)
		}
	})
	t.Run("fails with the reason once later than a missed post is still sent", func(t *testing.T) {
		for e.clock.Now().Sub(p.SendAt) <= posts.DefaultMaxCatchUp {
			e.clock.Advance(time.Hour)
			e.tick()
		}
		got := e.get(p.ID)
		if got.Status != posts.Failed || !strings.Contains(got.ErrMsg, "72 hours") || !strings.Contains(got.ErrMsg, "503") || got.LastError == "" {
			t.Fatalf("post = %s, errmsg %q, last error %q; want failed naming the window and the 503", got.Status, got.ErrMsg, got.LastError)
		}
		if n := e.sim.Calls(wecomsim.PathAddMomentTask); n != 0 {
			t.Errorf("add_moment_task called %d times, want 0", n)
		}
	})
}

func TestThePosterJobRefusesADateItCannotHonour(t *testing.T) {
	e := newEnv(t, openMemory)
	for _, req := range []jobs.Request{{Date: testclock.Shift("2026-11-20")}, {From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-03")}} {
		_, err := e.svc.Job(context.Background(), req)
		var bad *jobs.BadRequestError
		if !errors.As(err, &bad) {
			t.Errorf("Job(%+v) = %v, want a bad request instead of a tick that ignores the date", req, err)
		}
	}
	if _, err := e.svc.Job(context.Background(), jobs.Request{}); err != nil {
		t.Errorf("Job without a date = %v, want a tick", err)
	}
}

// loseCall loses the nth add_moment_task call in transport, before WeCom.
type loseCall struct {
	posts.WeCom
	mu    sync.Mutex
	n, at int
}

func (l *loseCall) AddMomentTask(ctx context.Context, t wecom.MomentTask) (string, error) {
	l.mu.Lock()
	l.n++
	lose := l.n == l.at
	l.mu.Unlock()
	if lose {
		return "", errors.New("wecom externalcontact/add_moment_task: read: connection reset by peer")
	}
	return l.WeCom.AddMomentTask(ctx, t)
}

func TestDeferralsDoNotUseUpTheTriesWhoseOutcomeIsUnknown(t *testing.T) {
	e := newEnv(t, openMemory)
	// WeCom is busy three ticks running, then the fourth call is lost.
	e.sim.Inject(wecomsim.PathAddMomentTask, wecom.CodeBusy, 3)
	e.svc = e.service(&loseCall{WeCom: e.client, at: 4})
	p := e.create(morning("busy, then lost", "alice"))
	e.clock.Advance(10 * time.Minute)
	for range 15 {
		e.tick()
		e.clock.Advance(time.Minute)
	}
	got := e.get(p.ID)
	if got.Status != posts.Sent || got.LostAttempts != 1 {
		t.Fatalf("post = %s after %d attempts (%d lost): %s; want sent again after one lost attempt", got.Status, got.Attempts, got.LostAttempts, got.LastError)
	}
	if n := len(e.sim.Moments()); n != 1 {
		t.Errorf("WeCom has %d Moments, want 1", n)
	}
}

// failPending fails the next write of the pending mark: the tick dies
// between claiming a post and marking it pending.
type failPending struct {
	store.Store
	armed atomic.Bool
}

func (f *failPending) Put(ctx context.Context, it store.Item, c store.Cond) (store.Item, error) {
	if it.PK == "posts#pending" && f.armed.CompareAndSwap(true, false) {
		return store.Item{}, errors.New("injected: the tick died")
	}
	return f.Store.Put(ctx, it, c)
}

func TestAPostClaimedByATickThatDiedBeforeMarkingItPendingIsStillSentOnce(t *testing.T) {
	e := newEnv(t, openMemory)
	fp := &failPending{Store: e.store}
	e.store = fp
	e.svc = e.service(e.client)
	p := e.create(morning("claimed, then the tick died", "alice"))
	e.clock.Advance(10 * time.Minute)
	fp.armed.Store(true)
	if _, err := e.svc.Tick(context.Background()); err == nil {
		t.Fatal("the tick whose pending mark failed reported no error")
	}
	if got := e.get(p.ID); got.Status != posts.Sending {
		t.Fatalf("after the dead tick the post is %s, want sending (claimed)", got.Status)
	}
	for range 30 {
		e.clock.Advance(time.Minute)
		e.tick()
	}
	got := e.get(p.ID)
	if got.Status != posts.Sent {
		t.Errorf("post = %s (last error %q), want sent: nothing followed the claimed post", got.Status, got.LastError)
	}
	if n := len(e.sim.Moments()); n != 1 {
		t.Errorf("WeCom has %d Moments, want exactly 1", n)
	}
}
