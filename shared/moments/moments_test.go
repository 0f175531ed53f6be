package moments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var sure = wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Hour, ReachWithin: 2 * time.Hour, LikePercent: 10, CommentPercent: 4, CapPercent: 5}

func TestFunnelOnSimulatorData(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 6000)
	f.customers(t, "bob", 40)
	f.customers(t, "carol", 25)
	f.sim.SetEngagement(sure)
	momentID := f.moment(t, "p1", "alice", "bob", "carol")
	f.clock.Advance(3 * time.Hour)

	res, err := f.svc.Sync(ctx)
	if err != nil || !res.Complete || res.Synced != 1 {
		t.Fatalf("sync = %+v, %v", res, err)
	}
	link := moments.Link{PostID: "p1", Token: "tok"}
	if _, _, err := f.svc.NewLink(ctx, "p1", "https://shop.example.com/item/1"); err != nil {
		t.Fatal(err)
	}
	for i, vid := range []string{"visitor-aaaaaaaa", "visitor-aaaaaaaa", "visitor-bbbbbbbb"} {
		if err := f.svc.RecordClick(ctx, link, vid, f.clock.Now().Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.RecordConversion(ctx, moments.Conversion{PostID: "p1", OrderID: "o-1", Value: 199.9}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.PostStats(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	truth := f.sim.MomentTruth(momentID)

	tests := []struct {
		name      string
		got, want any
	}{
		{"every targeted member is counted", got.MembersTargeted, 3},
		{"every member published within the hour", got.MembersPublished, 3},
		{"a member with 6000 customers is read across two pages of 5000", got.CustomersReached, 6065},
		{"engaged customers match who liked or commented", got.CustomersEngaged, truth.Engaged},
		{"likes match the simulator", got.Likes, truth.Likes},
		{"clicks count every click", got.Clicks, 3},
		{"a repeat visitor is one unique clicker", got.UniqueClickers, 2},
		{"the conversion is counted with its value", got.ConversionValue, 199.9},
		{"the publish rate is published over targeted", got.PublishRate, 1.0},
		{"the click rate is unique clickers over reached", got.ClickRate, 0.0003},
		{"the conversion rate is conversions over unique clickers", got.ConversionRate, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	t.Run("someone engaged at all", func(t *testing.T) {
		if got.CustomersEngaged == 0 || got.EngagementRate == 0 {
			t.Errorf("engaged %d, rate %v", got.CustomersEngaged, got.EngagementRate)
		}
	})
	t.Run("alice's reach took two send-result pages", func(t *testing.T) {
		// alice: 2 pages; bob and carol: 1 each.
		if n := f.sim.Calls(wecomsim.PathGetMomentSendResult); n != 4 {
			t.Errorf("get_moment_send_result called %d times, want 4", n)
		}
	})
}

func TestReachGrowsAsMembersPublish(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, m := range []string{"m1", "m2", "m3", "m4", "m5", "m6"} {
		f.customers(t, m, 30)
	}
	id := f.moment(t, "p1", "m1", "m2", "m3", "m4", "m5", "m6")
	var reached []int
	for range 3 {
		f.clock.Advance(5 * time.Hour)
		if _, err := f.svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.PostStats(ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		truth := f.sim.MomentTruth(id)
		if got.MembersPublished != truth.Published || got.CustomersReached != truth.Reached || got.CustomersEngaged != truth.Engaged {
			t.Fatalf("after sync: %+v, sim says %+v", got, truth)
		}
		reached = append(reached, got.CustomersReached)
	}
	if !(reached[0] <= reached[1] && reached[1] <= reached[2] && reached[2] > 0) {
		t.Errorf("reach over the day = %v, want it to grow", reached)
	}
}

func TestResyncReplacesAndNeverDoubleCounts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 120)
	f.customers(t, "bob", 80)
	f.sim.SetEngagement(sure)
	f.moment(t, "p1", "alice", "bob")
	f.groupMsg(t, "p2", "bob")
	f.clock.Advance(3 * time.Hour)
	today := calendar.Of(f.clock.Now(), f.loc)

	first, err := f.svc.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := f.svc.PostStats(ctx, "p1")
	second, err := f.svc.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.svc.PostStats(ctx, "p1")
	t.Run("both runs sync every post from scratch", func(t *testing.T) {
		if first.Synced != 2 || second.Synced != 2 || second.Resumed != 0 {
			t.Errorf("first %+v, second %+v", first, second)
		}
	})
	t.Run("the figures are the same after a second run", func(t *testing.T) {
		if before.CustomersReached != 200 || after.CustomersReached != 200 || before.CustomersEngaged != after.CustomersEngaged {
			t.Errorf("before %+v, after %+v", before, after)
		}
	})
	t.Run("one summary item per post and day", func(t *testing.T) {
		if n := count(t, f.store, "mstat#p1"); n != 1 {
			t.Errorf("mstat#p1 holds %d items", n)
		}
		if n := count(t, f.store, "mday#"+today.String()); n != 2 {
			t.Errorf("mday holds %d items, want 2", n)
		}
	})
	t.Run("the group message counts deliveries and failures", func(t *testing.T) {
		g, err := f.svc.PostStats(ctx, "p2")
		if err != nil {
			t.Fatal(err)
		}
		if g.MembersPublished != 1 || g.CustomersReached+g.FailedCapReached != 80 || g.FailedCapReached == 0 {
			t.Errorf("group message = %+v", g)
		}
	})
	t.Run("the next day adds a new snapshot and the stats follow it", func(t *testing.T) {
		f.clock.Advance(24 * time.Hour)
		if _, err := f.svc.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, f.store, "mstat#p1"); n != 2 {
			t.Errorf("mstat#p1 holds %d items, want 2", n)
		}
		rg, err := f.svc.RangeStats(ctx, today, today.AddDays(1))
		if err != nil {
			t.Fatal(err)
		}
		if len(rg.Posts) != 2 || len(rg.Days) != 1 || rg.Days[0].CustomersReached != 200+rg.Posts[1].CustomersReached {
			t.Errorf("range = %+v", rg)
		}
	})
}

func TestSyncResumesAfterAWeComError(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 50)
	f.customers(t, "bob", 30)
	f.sim.SetEngagement(sure)
	f.groupMsg(t, "p1-group", "bob")
	m2 := f.moment(t, "p2-moment", "alice")
	m3 := f.moment(t, "p3-moment", "alice", "bob")
	f.clock.Advance(3 * time.Hour)
	f.sim.Inject(wecomsim.PathGetMomentTask, wecom.CodeBusy, 1)

	first, err := f.svc.Sync(ctx)
	t.Run("the run stops at the failing post and says so", func(t *testing.T) {
		if err == nil || first.Synced != 1 || first.Remaining != 2 || first.Complete {
			t.Fatalf("first run = %+v, %v", first, err)
		}
	})
	second, err := f.svc.Sync(ctx)
	t.Run("the next run continues with the next post", func(t *testing.T) {
		if err != nil || second.Resumed != 1 || second.Synced != 2 || !second.Complete {
			t.Fatalf("second run = %+v, %v", second, err)
		}
		if n := f.sim.Calls(wecomsim.PathGetGroupMsgTask); n != 1 {
			t.Errorf("the finished post was read again: get_groupmsg_task called %d times", n)
		}
	})
	t.Run("the resumed figures match the simulator", func(t *testing.T) {
		for id, mid := range map[string]string{"p2-moment": m2, "p3-moment": m3} {
			got, err := f.svc.PostStats(ctx, id)
			truth := f.sim.MomentTruth(mid)
			if err != nil || got.CustomersReached != truth.Reached || got.MembersPublished != truth.Published {
				t.Errorf("%s = %+v (%v), sim says %+v", id, got, err, truth)
			}
		}
	})
}

func TestTrackedPersonalMoment(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 70)
	f.sim.SetEngagement(sure)
	id := f.sim.PublishPersonalMoment("alice", f.clock.Now())
	postID, err := f.svc.Track(ctx, moments.Tracked{MomentID: id, UserID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Hour)
	if _, err := f.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.PostStats(ctx, postID)
	if err != nil || got.MembersPublished != 1 || got.CustomersReached != 70 {
		t.Fatalf("tracked moment = %+v, %v", got, err)
	}
}

func TestConversionPostedTwiceCountsOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 1)
	f.moment(t, "p1", "alice")
	token, _, err := f.svc.NewLink(ctx, "p1", "https://shop.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		rec, err := f.svc.RecordConversion(ctx, moments.Conversion{Token: token, OrderID: "order-9", Value: 88})
		if err != nil || rec != want {
			t.Fatalf("report %d: recorded %v, %v; want %v", i+1, rec, err, want)
		}
	}
	n, v, err := f.svc.Conversions(ctx, "p1")
	if err != nil || n != 1 || v != 88 {
		t.Fatalf("conversions = %d worth %v, %v; want 1 worth 88", n, v, err)
	}
	if _, err := f.svc.RecordConversion(ctx, moments.Conversion{PostID: "nope", OrderID: "x"}); !errors.Is(err, moments.ErrNotFound) {
		t.Errorf("conversion for an unknown post: %v", err)
	}
}

func TestBestWorst(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.customers(t, "alice", 100)
	f.customers(t, "bob", 100)
	f.sim.SetEngagement(sure)
	f.moment(t, "p1", "alice")
	f.moment(t, "p2", "bob")
	for _, p := range []string{"p1", "p2"} {
		if _, _, err := f.svc.NewLink(ctx, p, "https://shop.example.com/"+p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		_ = f.svc.RecordClick(ctx, moments.Link{PostID: "p2"}, "visitor-0000000"+string(rune('a'+i)), f.clock.Now().Add(time.Duration(i)))
	}
	f.clock.Advance(3 * time.Hour)
	if _, err := f.svc.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	best, worst, err := moments.BestWorst(ctx, f.store, calendar.Of(f.clock.Now(), f.loc))
	if err != nil || best == nil || best.PostID != "p2" || worst.PostID != "p1" {
		t.Fatalf("best %+v worst %+v, %v", best, worst, err)
	}
}
