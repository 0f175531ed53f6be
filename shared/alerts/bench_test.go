package alerts_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/alerts"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store/storetest"
)

// BenchmarkHandle measures Handle on SQLite against the simulator, with the
// store calls each event makes (the WeCom client's token cache, on the same
// table in production, is left out of the count).
//
//	go test -run '^$' -bench Handle -benchtime 2000x ./shared/alerts
func BenchmarkHandle(b *testing.B) {
	for _, tc := range []struct {
		name string
		// event prepares the i-th relationship and returns how to make its
		// deletion.
		event func(e *env, i int) func() events.Record
		again bool
	}{
		{name: "add_external_contact", event: addEvent},
		{name: "del_follow_user", event: churnEvent},
		{name: "del_follow_user redelivered", event: churnEvent, again: true},
		{name: "del_external_contact", event: deletionEvent},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			counted := &storetest.Counting{Store: e.store}
			svc := alerts.New(counted, e.client, e.sim.AgentID(), shanghai, alerts.LangZH, slog.New(slog.NewTextHandler(io.Discard, nil)), e.clock.Now)
			e.saveChannel(channels.Channel{ID: "ch1", Draft: channels.Draft{Name: "双十一海报", Kind: channels.KindContactWay, State: "poster1111"}})
			recs := make([]func() events.Record, b.N)
			for i := range b.N {
				recs[i] = tc.event(e, i)
			}
			e.clock.Advance(24 * time.Hour)
			var reads, writes int64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				rec := recs[i]()
				if tc.again {
					if err := svc.Handle(e.ctx, rec); err != nil {
						b.Fatal(err)
					}
				}
				r0, w0 := counted.Reads.Load(), counted.Writes.Load()
				e.clock.Advance(time.Second)
				b.StartTimer()
				if err := svc.Handle(e.ctx, rec); err != nil {
					b.Fatal(err)
				}
				reads += counted.Reads.Load() - r0
				writes += counted.Writes.Load() - w0
			}
			b.ReportMetric(float64(reads)/float64(b.N), "reads/event")
			b.ReportMetric(float64(writes)/float64(b.N), "writes/event")
		})
	}
}

// addEvent: a customer adding the member through a channel.
func addEvent(e *env, i int) func() events.Record {
	return func() events.Record {
		return e.record(e.sim.AddCustomer(e.ctx, "alice", fmt.Sprintf("wm%07d", i), "poster1111", e.clock.Now()))
	}
}

// churnEvent: a customer added through a channel (the add handled), later
// deleting the member.
func churnEvent(e *env, i int) func() events.Record {
	customer := fmt.Sprintf("wm%07d", i)
	e.handle(e.record(e.sim.AddCustomer(e.ctx, "alice", customer, "poster1111", e.clock.Now())))
	return func() events.Record {
		return e.record(e.sim.CustomerDeletesMember(e.ctx, "alice", customer, e.clock.Now()))
	}
}

// deletionEvent: the member deleting a customer every 10 minutes, under
// the threshold (the common case: counted, no burst).
func deletionEvent(e *env, i int) func() events.Record {
	customer := fmt.Sprintf("wm%07d", i)
	e.relate("bob", customer, start)
	return func() events.Record {
		e.clock.Advance(10 * time.Minute)
		return e.record(e.sim.MemberDeletesCustomer(e.ctx, "bob", customer, false, e.clock.Now()))
	}
}
