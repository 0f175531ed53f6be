package moments_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store/metered"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// BenchmarkSync100Posts syncs 100 Moments, each targeting 20 members with
// 500 customers apiece (10^4 customers reached per post), on SQLite, and
// reports the WeCom calls and store operations of one full run.
func BenchmarkSync100Posts(b *testing.B) {
	const posts, members, perMember = 100, 20, 500
	f := newFixture(b)
	var names []string
	for i := range members {
		m := fmt.Sprintf("m%02d", i)
		names = append(names, m)
		f.customers(b, m, perMember)
	}
	f.sim.SetEngagement(wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Hour, ReachWithin: time.Hour, LikePercent: 10, CommentPercent: 4})
	for i := range posts {
		f.moment(b, fmt.Sprintf("p%03d", i), names...)
		f.clock.Advance(7 * time.Second) // add_moment_task: 10 per minute
	}
	f.clock.Advance(3 * time.Hour)
	m := metered.Wrap(f.store)
	f.svc.Store = m
	paths := []string{wecomsim.PathGetMomentTask, wecomsim.PathGetMomentSendResult, wecomsim.PathGetMomentComments}
	b.ResetTimer()
	for range b.N {
		m.Reset()
		before := 0
		for _, p := range paths {
			before += f.sim.Calls(p)
		}
		start := time.Now()
		res, err := f.svc.Sync(context.Background())
		if err != nil || !res.Complete || res.Synced != posts {
			b.Fatalf("sync = %+v, %v", res, err)
		}
		calls := 0
		for _, p := range paths {
			calls += f.sim.Calls(p)
		}
		c := m.Counts()
		b.ReportMetric(float64(calls-before), "wecom-calls")
		b.ReportMetric(float64(c.Writes), "store-writes")
		b.ReportMetric(float64(c.Reads), "store-reads")
		b.ReportMetric(c.WriteUnits, "WCU")
		b.ReportMetric(time.Since(start).Seconds(), "s/run")
	}
	got, err := f.svc.PostStats(context.Background(), "p000")
	if err != nil || got.CustomersReached != members*perMember {
		b.Fatalf("p000 reached %d, %v", got.CustomersReached, err)
	}
}
