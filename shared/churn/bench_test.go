package churn_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/wecom"
)

// genDay appends n events to day d for customers named with prefix: each
// customer gets a half add, the full add, then either a delete by the
// customer (one in three) or a second member's add; members and channels
// cycle over 50 and 20 values.
func genDay(ctx context.Context, b *testing.B, log *events.Log, d calendar.Day, n int, prefix string) {
	b.Helper()
	start := d.Start(shanghai).Unix()
	storeEvents(ctx, b, log, n, func(i int) wecom.Event {
		k := i / 3
		customer := fmt.Sprintf("%s%08d", prefix, k)
		member := fmt.Sprintf("member%02d", k%50)
		when := time.Unix(start+int64(i)*86000/int64(n), 0)
		switch {
		case i%3 == 0:
			return halfAdd(member, customer, fmt.Sprintf("ch%02d", k%20), when)
		case i%3 == 1:
			return add(member, customer, fmt.Sprintf("ch%02d", k%20), when)
		case k%3 == 0:
			return delByCustomer(member, customer, when)
		default:
			return add(fmt.Sprintf("member%02d", (k+1)%50), customer, "ch99", when)
		}
	})
}

// storeEvents stores event(0..n-1) as Append would, a thousand per
// transaction: the setup of a million events should not take longer than
// what it measures.
func storeEvents(ctx context.Context, b *testing.B, log *events.Log, n int, event func(i int) wecom.Event) {
	b.Helper()
	var batch []store.Write
	for i := range n {
		_, it, err := log.Item(event(i), events.OriginCallback)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, store.Write{Item: it})
		if len(batch) == store.MaxLimit || i == n-1 {
			if err := store.WriteMany(ctx, log.Store, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// benchStore opens a SQLite file in a temp dir.
func benchStore(b *testing.B) store.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// peakHeap samples the heap while fn runs and returns the peak in MiB.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return float64(peak.Load()) / (1 << 20)
}

func newBenchRollup(st store.Store) (*churn.Rollup, *events.Log) {
	log := events.NewLog(st, shanghai, nil)
	r := churn.New(st, shanghai, slog.New(slog.DiscardHandler), nil)
	r.Log = log
	return r, log
}

// BenchmarkRollupDay is one day's rollup on SQLite at 10^4 and 10^5 events
// (10^6 with SIYU_BENCH_LARGE=1), with its peak heap.
func BenchmarkRollupDay(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("SIYU_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	ctx := context.Background()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			st := benchStore(b)
			r, log := newBenchRollup(st)
			genDay(ctx, b, log, day0, n, "c")
			measureDay(ctx, b, r)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
		})
	}
}

// BenchmarkRollupDayWithHistory is the same day (10^4 events) with 0, 10
// and 100 other days stored and rolled (2,000 events each): the time should
// not grow with history.
func BenchmarkRollupDayWithHistory(b *testing.B) {
	ctx := context.Background()
	for _, other := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("other_days=%d", other), func(b *testing.B) {
			st := benchStore(b)
			r, log := newBenchRollup(st)
			for i := 1; i <= other; i++ {
				d := day0.AddDays(-i)
				genDay(ctx, b, log, d, 2_000, fmt.Sprintf("h%03d-", i))
				if _, err := r.Day(ctx, d); err != nil {
					b.Fatal(err)
				}
			}
			genDay(ctx, b, log, day0, 10_000, "c")
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Day(ctx, day0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRollupDayDistinctCustomers is the memory worst case: every event
// of the day adds a different customer (WeCom-length ids), so the run keeps
// and hashes as many customers as events. 10^5 events, 10^6 with
// SIYU_BENCH_LARGE=1.
func BenchmarkRollupDayDistinctCustomers(b *testing.B) {
	n := 100_000
	if os.Getenv("SIYU_BENCH_LARGE") == "1" {
		n = 1_000_000
	}
	ctx := context.Background()
	st := benchStore(b)
	r, log := newBenchRollup(st)
	start := day0.Start(shanghai).Unix()
	storeEvents(ctx, b, log, n, func(i int) wecom.Event {
		when := time.Unix(start+int64(i)*86000/int64(n), 0)
		return add(fmt.Sprintf("member%02d", i%50), fmt.Sprintf("wmAbCdEfGhIjKlMnOpQrStUv%08d", i), fmt.Sprintf("ch%02d", i%20), when)
	})
	measureDay(ctx, b, r)
}

// measureDay runs day0 once (the first run applies every fact), then
// measures re-runs (the nightly job re-runs 30 days for each new one), and
// reports the first run's time and the peak heap of all runs.
func measureDay(ctx context.Context, b *testing.B, r *churn.Rollup) {
	b.Helper()
	run := func() {
		if _, err := r.Day(ctx, day0); err != nil {
			b.Fatal(err)
		}
	}
	first := time.Now()
	peak := peakHeap(run)
	firstRun := time.Since(first)
	b.ResetTimer()
	for b.Loop() {
		peak = max(peak, peakHeap(run))
	}
	b.ReportMetric(peak, "peak-MiB")
	b.ReportMetric(firstRun.Seconds(), "first-run-s")
}
