package firsttouch_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// BenchmarkCallbackTo200 measures the callback's answer to an add event
// with a welcome to send, on SQLite in process, against the simulator:
// "async" hands the event to the in-process queue (the worker greets
// behind it); "inline" greets before answering (the name, the send, the
// claim and the outcome), as the SCF callback does. Run: go test -run '^$' -bench CallbackTo200 ./shared/firsttouch/
func BenchmarkCallbackTo200(b *testing.B) {
	for _, mode := range []string{"async", "inline"} {
		b.Run(mode, func(b *testing.B) {
			w := benchWorld(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var dispatch func(context.Context, events.Record)
			if mode == "async" {
				q := firsttouch.NewQueue(w.svc, 1<<16)
				q.Start(ctx)
				dispatch = q.Dispatch
			} else {
				dispatch = firsttouch.Inline(w.svc, 3*time.Second)
			}
			w.cb.FirstTouch = pending.Marker{Store: w.st, Dispatch: dispatch}
			w.sim.SetCallbackURL("") // each event is delivered below, timed
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				ev, err := w.sim.ArriveThroughContactWay(ctx, w.way, fmt.Sprintf("bc%d", i), w.clk.Now())
				if err != nil {
					b.Fatal(err)
				}
				req := w.request(ev)
				b.StartTimer()
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				took = append(took, time.Since(start))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("callback answered %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			reportPercentiles(b, took)
		})
	}
}

// BenchmarkStoreCallsPerAdd counts the table reads and writes one add
// event costs with a channel welcome and two tags: the callback's, and the
// first-touch worker's. Run: go test -run '^$' -bench StoreCalls ./shared/firsttouch/
func BenchmarkStoreCallsPerAdd(b *testing.B) {
	loc, _ := calendar.Zone("")
	clk := testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, loc))
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/siyu.db", store.WithClock(clk.Now))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	counting := &storetest.Counting{Store: st}
	w := newWorldOn(b, counting, clk, loc)
	w.sim.AddTags("t1", "t2")
	w.channel(hello, "t1", "t2")
	// Warm the token cache, as a running function has it.
	if _, err := w.wc.GetExternalContact(context.Background(), "none"); err != nil && !wecom.IsCode(err, wecom.CodeInvalidExternalID) {
		b.Log(err)
	}
	var cbReads, cbWrites, ftReads, ftWrites int64
	b.ResetTimer()
	for i := range b.N {
		r0, w0 := counting.Reads.Load(), counting.Writes.Load()
		rec := w.arrive(fmt.Sprintf("sc%d", i))
		r1, w1 := counting.Reads.Load(), counting.Writes.Load()
		if err := w.svc.Work(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
		r2, w2 := counting.Reads.Load(), counting.Writes.Load()
		cbReads, cbWrites = cbReads+r1-r0, cbWrites+w1-w0
		ftReads, ftWrites = ftReads+r2-r1, ftWrites+w2-w1
	}
	n := float64(b.N)
	b.ReportMetric(float64(cbReads)/n, "callback-reads/add")
	b.ReportMetric(float64(cbWrites)/n, "callback-writes/add")
	b.ReportMetric(float64(ftReads)/n, "worker-reads/add")
	b.ReportMetric(float64(ftWrites)/n, "worker-writes/add")
}

// benchWorld is the test world with a channel welcome and two tags.
func benchWorld(b *testing.B) *world {
	loc, _ := calendar.Zone("")
	clk := testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, loc))
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/siyu.db", store.WithClock(clk.Now))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	w := newWorldOn(b, st, clk, loc)
	w.sim.AddTags("t1", "t2")
	w.channel(hello, "t1", "t2")
	return w
}

func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) float64 {
		return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
