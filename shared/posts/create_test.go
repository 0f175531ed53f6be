package posts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/testclock"
)

// linkMoment is a morning Moment to alice carrying a link to url.
func linkMoment(text, url string) posts.Draft {
	d := morning(text, "alice")
	d.Attachments = []posts.Attachment{{Type: posts.Link, URL: url, Title: "新品", CoverURL: "https://shop.example/c.png"}}
	return d
}

func TestAFailedCreationLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	t.Run("link URLs a tracked redirect refuses are refused at creation naming the field", func(t *testing.T) {
		e := newEnv(t, openMemory)
		for _, bad := range []string{"https://u:p@shop.example/", "https://shop.example/a b", `https://shop.example\evil.example/`} {
			_, err := e.svc.Create(ctx, linkMoment("bad link", bad))
			var fe *posts.FieldError
			if !errors.As(err, &fe) || fe.Field != "attachments[0].url" {
				t.Errorf("Create with link %q = %v, want a FieldError on attachments[0].url", bad, err)
			}
		}
	})
	t.Run("refused creations leave the day's cap whole", func(t *testing.T) {
		e := newEnv(t, openMemory)
		for range 3 {
			e.svc.Create(ctx, linkMoment("bad link", "https://u:p@shop.example/"))
		}
		for i := range 3 {
			e.create(morning(fmt.Sprintf("good %d", i), "alice"))
		}
	})
	t.Run("a creation whose post cannot be written takes back its cap placement", func(t *testing.T) {
		e := newEnv(t, openMemory)
		flaky := &failingStore{Store: e.store}
		e.svc.Store = flaky
		flaky.failPosts.Store(true)
		if _, err := e.svc.Create(ctx, morning("lost", "alice")); err == nil {
			t.Fatal("Create succeeded with its post write failing")
		}
		flaky.failPosts.Store(false)
		for i := range 3 {
			e.create(morning(fmt.Sprintf("good %d", i), "alice"))
		}
		l, err := e.svc.List(ctx, posts.ListQuery{From: day(testclock.Shift("2026-11-25")), To: day(testclock.Shift("2026-11-25"))})
		if err != nil || len(l.Posts) != 3 || l.Cap[testclock.Shift("2026-11-25")].Moments != 3 {
			t.Fatalf("listing = %d posts, cap %+v, %v; want the 3 good ones", len(l.Posts), l.Cap[testclock.Shift("2026-11-25")], err)
		}
	})
	t.Run("a placement that could not be undone stops counting once abandoned", func(t *testing.T) {
		e := newEnv(t, openMemory)
		flaky := &failingStore{Store: e.store}
		e.svc.Store = flaky
		flaky.failPosts.Store(true)
		flaky.failDeletes.Store(true)
		for range 3 {
			if _, err := e.svc.Create(ctx, morning("lost", "alice")); err == nil {
				t.Fatal("Create succeeded with its post write failing")
			}
		}
		flaky.failPosts.Store(false)
		flaky.failDeletes.Store(false)
		e.clock.Advance(15 * time.Minute)
		_, err := e.svc.Create(ctx, posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T20:00:00+08:00"), Text: "evening",
			VisibleRange: posts.VisibleRange{Members: []string{"alice"}}})
		if err != nil {
			t.Fatalf("Create after three abandoned placements = %v, want it to fit", err)
		}
	})
}

// failingStore fails writes of post items (and, when asked, every delete).
type failingStore struct {
	store.Store
	failPosts   atomic.Bool
	failDeletes atomic.Bool
}

func (f *failingStore) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	if f.failPosts.Load() && strings.HasPrefix(it.PK, "post#") && it.SK == "post" {
		return store.Item{}, errors.New("injected: store unavailable")
	}
	return f.Store.Put(ctx, it, cond)
}

func (f *failingStore) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	if f.failDeletes.Load() {
		return errors.New("injected: store unavailable")
	}
	return f.Store.Delete(ctx, pk, sk, cond)
}
