package wecomsim_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// BenchmarkListEveryRelationship: a brand's whole follow list through
// batch/get_by_user pages of 100, as the nightly sync reads it, at 10^3,
// 10^4 and 10^5 customers. Linear in the brand's size since the simulator
// indexes relationships by member (it used to scan and sort them all for
// every page).
func BenchmarkListEveryRelationship(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			clk := testclock.New(testclock.Date(2026, 11, 1, 9, 0, 0, 0, wecom.Beijing))
			sim := wecomsim.New(wecomsim.Options{Seed: 3, Now: clk.Now, RateLimit: 1 << 30, Logger: slog.New(slog.DiscardHandler)})
			b.Cleanup(sim.Close)
			sim.Seed(wecomsim.SeedConfig{Members: 20, Customers: n})
			c := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
				Store: storetest.NewMemStore(clk.Now), Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			members, err := c.GetFollowUserList(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				got, err := c.BatchGetAllByUser(context.Background(), members)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) < n {
					b.Fatalf("listed %d relationships of %d customers", len(got), n)
				}
				clk.Advance(time.Second)
			}
		})
	}
}

// BenchmarkAddCorpTagKept: add_corp_tag with and without a StateFile, which
// is rewritten whole after each call, over a library of 100 groups of 10
// tags, 50 contact ways and 50 links. Run:
// go test -run '^$' -bench AddCorpTagKept ./shared/wecom/wecomsim/
func BenchmarkAddCorpTagKept(b *testing.B) {
	for _, kept := range []bool{false, true} {
		b.Run(fmt.Sprintf("state_file=%v", kept), func(b *testing.B) {
			ctx := context.Background()
			clk := testclock.New(testclock.Date(2026, 11, 1, 9, 0, 0, 0, wecom.Beijing))
			opts := wecomsim.Options{Seed: 3, Now: clk.Now, RateLimit: 1 << 30, Logger: slog.New(slog.DiscardHandler)}
			if kept {
				opts.StateFile = filepath.Join(b.TempDir(), "wecomsim.json")
			}
			sim := wecomsim.New(opts)
			b.Cleanup(sim.Close)
			sim.Seed(wecomsim.SeedConfig{Members: 5, Customers: 10})
			c := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
				Store: storetest.NewMemStore(clk.Now), Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			member := sim.Members()[0].UserID
			for i := range 100 {
				tags := make([]wecom.NewCorpTag, 10)
				for j := range tags {
					tags[j].Name = fmt.Sprintf("标签%d", j)
				}
				if _, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: fmt.Sprintf("分组%d", i), Tags: tags}); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 50 {
				if _, err := c.AddContactWay(ctx, wecom.ContactWay{Type: wecom.ContactWaySingle, Scene: wecom.ContactWaySceneQRCode,
					State: fmt.Sprintf("s%d", i), User: []string{member}}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: fmt.Sprintf("链接%d", i),
					Range: wecom.AcquisitionRange{UserList: []string{member}}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "基准", Tags: []wecom.NewCorpTag{{Name: fmt.Sprintf("t%d", i)}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMomentEngagement: one member's copy of a Moment read as the
// nightly Moments sync reads it (every send-result page, then the likes and
// comments), for a member with 10^3 and 10^4 customers, a day after it was
// published (everyone who will see it has).
func BenchmarkMomentEngagement(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("audience=%d", n), func(b *testing.B) {
			ctx := context.Background()
			clk := testclock.New(testclock.Date(2026, 11, 1, 9, 0, 0, 0, wecom.Beijing))
			sim := wecomsim.New(wecomsim.Options{Seed: 3, Now: clk.Now, RateLimit: 1 << 30, Logger: slog.New(slog.DiscardHandler)})
			b.Cleanup(sim.Close)
			sim.SetCallbackURL("")
			sim.Seed(wecomsim.SeedConfig{Members: 1, Customers: n})
			sim.SetEngagement(wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Minute, ReachWithin: 24 * time.Hour,
				LikePercent: 10, CommentPercent: 4})
			c := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
				Store: storetest.NewMemStore(clk.Now), Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			member := sim.Members()[0].UserID
			job, err := c.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "早安"},
				VisibleRange: &wecom.MomentVisibleRange{SenderList: &wecom.MomentSenders{UserList: []string{member}}}})
			if err != nil {
				b.Fatal(err)
			}
			res, err := c.GetMomentTaskResult(ctx, job)
			if err != nil {
				b.Fatal(err)
			}
			id := res.Result.MomentID
			clk.Advance(48 * time.Hour)
			b.ResetTimer()
			for range b.N {
				reached := 0
				req := wecom.MomentSendResultRequest{MomentID: id, UserID: member, Limit: wecom.MaxMomentSendResultLimit}
				for {
					page, err := c.GetMomentSendResult(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					reached += len(page.Customers)
					if page.NextCursor == "" {
						break
					}
					req.Cursor = page.NextCursor
				}
				cm, err := c.GetMomentComments(ctx, id, member)
				if err != nil {
					b.Fatal(err)
				}
				if reached < n*9/10 || len(cm.Likes) == 0 {
					b.Fatalf("reached %d of %d customers, %d likes", reached, n, len(cm.Likes))
				}
			}
		})
	}
}
