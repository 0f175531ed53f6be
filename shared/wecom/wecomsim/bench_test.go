package wecomsim_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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
