package moments_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestSyncFollowsPostsTheScheduleSent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 60)
	f.customers(t, "bob", 40)
	f.sim.SetEngagement(sure)
	ps := posts.New(f.store, f.wc, f.loc, slog.New(slog.DiscardHandler), nil)
	ps.Now = f.clock.Now
	f.svc.Posts = ps
	p, err := ps.Create(ctx, posts.Draft{Kind: posts.Moment, SendAt: f.clock.Now().Add(time.Minute).Format(time.RFC3339), Text: "早安 新品",
		VisibleRange: posts.VisibleRange{Members: []string{"alice", "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.clock.Advance(time.Minute)
		if _, err := ps.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sent, err := ps.Get(ctx, p.ID)
	if err != nil || sent.MomentID == "" {
		t.Fatalf("post after ticks = %+v, %v", sent, err)
	}
	f.clock.Advance(3 * time.Hour)
	res, err := f.svc.Sync(ctx)
	if err != nil || res.Synced != 1 {
		t.Fatalf("sync = %+v, %v", res, err)
	}
	got, err := f.svc.PostStats(ctx, p.ID)
	truth := f.sim.MomentTruth(sent.MomentID)
	if err != nil || got.MembersTargeted != 2 || got.MembersPublished != 2 || got.CustomersReached != 100 || got.CustomersEngaged != truth.Engaged {
		t.Fatalf("stats = %+v, %v; sim says %+v", got, err, truth)
	}
	if n := f.sim.Calls(wecomsim.PathGetMomentTask); n != 1 {
		t.Errorf("get_moment_task called %d times", n)
	}
}
