package firsttouch

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/events"
)

// Queue is the in-process Dispatcher: a bounded channel drained by
// Workers goroutines. Dispatch never blocks: when the queue is full the
// event is dropped and its pending marker waits for the sweep.
type Queue struct {
	// Workers is how many events are worked on at once (1 when unset; set
	// before Start). Work is safe to run concurrently, even for one event:
	// each welcome, tag and alert is claimed before it is sent.
	Workers int
	// RetryAfter is the pause between tries of one event (200 ms when
	// unset); a driver whose store fails on purpose, call after call, may
	// shorten it.
	RetryAfter time.Duration
	svc        *Service
	ch         chan events.Record
	logger     *slog.Logger
	dropped    atomic.Int64
	// busy counts the events queued or being worked on (Idle waits for 0).
	busy   atomic.Int64
	wg     sync.WaitGroup
	mu     sync.RWMutex
	closed bool
}

var _ Dispatcher = (*Queue)(nil)

// NewQueue returns a queue of size events for svc. Start runs its workers.
func NewQueue(svc *Service, size int) *Queue {
	if size <= 0 {
		size = 256
	}
	return &Queue{svc: svc, ch: make(chan events.Record, size), logger: svc.Logger}
}

// Dispatch queues rec, or drops it to the sweep when the queue is full
// or closed.
func (q *Queue) Dispatch(ctx context.Context, rec events.Record) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		q.dropped.Add(1)
		return
	}
	q.busy.Add(1)
	select {
	case q.ch <- rec:
	default:
		q.busy.Add(-1)
		// One line per hundred drops: a stalled worker must not flood the log.
		if n := q.dropped.Add(1); n%100 == 1 {
			q.logger.LogAttrs(ctx, slog.LevelWarn, "first-touch queue full: the sweep will do it", slog.String("event", rec.Key), slog.Int64("dropped", n))
		}
	}
}

// Dropped counts the events left to the sweep.
func (q *Queue) Dropped() int64 { return q.dropped.Load() }

// Start runs the workers until ctx ends or the queue is closed and
// drained; Wait waits for them.
func (q *Queue) Start(ctx context.Context) {
	for range max(q.Workers, 1) {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case rec, ok := <-q.ch:
					if !ok {
						return
					}
					q.work(ctx, rec)
					q.busy.Add(-1)
				}
			}
		}()
	}
}

// Close stops taking events; the workers finish those queued, then stop.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// Wait waits for the workers to stop (ctx ended, or closed and drained).
func (q *Queue) Wait() { q.wg.Wait() }

// Tries is how often the worker tries one event before leaving it to the
// sweep; retryAfter is the pause between tries. A store write failing now
// and then must not cost a welcome: the sweep comes a minute later, when
// the code (20 s) is dead. A try after a claim was written never resends
// (the claim says so), so retrying is safe.
const (
	Tries      = 3
	retryAfter = 200 * time.Millisecond
)

func (q *Queue) work(ctx context.Context, rec events.Record) {
	var err error
	for try := 1; try <= Tries; try++ {
		if err = q.svc.Work(ctx, rec); err == nil || ctx.Err() != nil {
			break
		}
		if try < Tries {
			clock.Sleep(ctx, cmp.Or(q.RetryAfter, retryAfter))
		}
	}
	if err != nil {
		q.logger.LogAttrs(ctx, slog.LevelWarn, "first-touch work left to the sweep", slog.String("event", rec.Key), slog.String("err", err.Error()))
	}
}

// Idle waits until every event dispatched so far has been worked on (or
// ctx ends): a driver that moves a test clock calls it before moving on.
func (q *Queue) Idle(ctx context.Context) {
	for q.busy.Load() > 0 && ctx.Err() == nil {
		clock.Sleep(ctx, time.Millisecond)
	}
}
