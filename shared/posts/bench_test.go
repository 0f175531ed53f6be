package posts

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// instantWeCom accepts every task at once and counts calls.
type instantWeCom struct {
	WeCom
	calls atomic.Int64
	seq   atomic.Int64
}

func (w *instantWeCom) AddMomentTask(context.Context, wecom.MomentTask) (string, error) {
	w.calls.Add(1)
	return fmt.Sprintf("job%d", w.seq.Add(1)), nil
}

func (w *instantWeCom) GetMomentTaskResult(_ context.Context, job string) (wecom.MomentTaskResult, error) {
	w.calls.Add(1)
	return wecom.MomentTaskResult{Status: wecom.MomentTaskFinished, Result: wecom.MomentTaskOutcome{MomentID: "m" + job}}, nil
}

// tickBench is a poster over n stored future posts.
type tickBench struct {
	svc   *Service
	st    *storetest.Counting
	wc    *instantWeCom
	now   time.Time
	added int
}

var benchStart = testclock.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func newTickBench(tb testing.TB, open func(now func() time.Time) store.Store, n int) *tickBench {
	tb.Helper()
	ctx := context.Background()
	b := &tickBench{wc: &instantWeCom{}, now: benchStart}
	b.st = &storetest.Counting{Store: open(func() time.Time { return b.now })}
	b.svc = New(b.st, b.wc, time.UTC, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	b.svc.Now = func() time.Time { return b.now }
	// History: n posts from 30 days ahead, one every 7 minutes.
	for i := range n {
		p := Post{ID: fmt.Sprintf("future%07d", i), Kind: Moment, Status: Scheduled, Text: "later",
			SendAt: benchStart.Add(30*24*time.Hour + time.Duration(i)*7*time.Minute)}
		if err := b.svc.put(ctx, &p, store.Always); err != nil {
			tb.Fatal(err)
		}
		if err := b.svc.putDue(ctx, p, benchStart); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := b.svc.Tick(ctx); err != nil { // sets the cursor
		tb.Fatal(err)
	}
	return b
}

// addDue stores 10 posts due now.
func (b *tickBench) addDue(tb testing.TB) {
	for range 10 {
		b.added++
		p := Post{ID: fmt.Sprintf("due%07d", b.added), Kind: Moment, Status: Scheduled, Text: "now", SendAt: b.now}
		if err := b.svc.put(context.Background(), &p, store.Always); err != nil {
			tb.Fatal(err)
		}
		if err := b.svc.putDue(context.Background(), p, b.now); err != nil {
			tb.Fatal(err)
		}
	}
}

// tick runs one tick and returns its reads, writes and WeCom calls.
func (b *tickBench) tick(tb testing.TB) (reads, writes, calls int64) {
	r0, w0, c0 := b.st.Reads.Load(), b.st.Writes.Load(), b.wc.calls.Load()
	res, err := b.svc.Tick(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if res.Created != 10 {
		tb.Fatalf("tick created %d tasks, want 10", res.Created)
	}
	return b.st.Reads.Load() - r0, b.st.Writes.Load() - w0, b.wc.calls.Load() - c0
}

// BenchmarkTick: 10 posts due per tick among 10^3..10^5 stored ones, on
// SQLite. Each tick also follows the previous tick's 10 jobs.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) {
			tb := newTickBench(b, func(now func() time.Time) store.Store {
				st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "siyu.db"), store.WithClock(now))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				return st
			}, n)
			var reads, writes, calls int64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				tb.now = tb.now.Add(time.Minute)
				tb.addDue(b)
				b.StartTimer()
				r, w, c := tb.tick(b)
				reads, writes, calls = reads+r, writes+w, calls+c
			}
			b.ReportMetric(float64(reads)/float64(b.N), "reads/tick")
			b.ReportMetric(float64(writes)/float64(b.N), "writes/tick")
			b.ReportMetric(float64(calls)/float64(b.N), "wecom/tick")
		})
	}
}

func TestATickReadsTheSameWhateverTheHistory(t *testing.T) {
	var got []int64
	for _, n := range []int{100, 10_000} {
		tb := newTickBench(t, func(now func() time.Time) store.Store { return storetest.NewMemStore(now) }, n)
		tb.now = tb.now.Add(time.Minute)
		tb.addDue(t)
		tb.tick(t)
		tb.now = tb.now.Add(time.Minute)
		tb.addDue(t)
		r, _, c := tb.tick(t)
		if c != 20 {
			t.Errorf("with %d stored posts a tick made %d WeCom calls, want 20 (10 tasks, 10 job polls)", n, c)
		}
		got = append(got, r)
	}
	if got[0] != got[1] {
		t.Fatalf("store reads per tick = %v for 100 and 10 000 stored posts; want equal", got)
	}
}
