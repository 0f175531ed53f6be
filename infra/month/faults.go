package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// errInjected is a store write the fault store failed on purpose.
var errInjected = errors.New("month: injected store failure")

// faultStore fails a share of writes while armed (callbacks and poster
// ticks; the nightly run is left alone), can make the next post state
// write after a WeCom send fail (a tick dying between the call and its
// write), and counts requests for the nightly figures.
type faultStore struct {
	store.Store
	batch store.Batcher // nil when the adapter has none

	on       atomic.Bool
	perMille int
	mu       sync.Mutex
	rng      *rand.Rand
	injected atomic.Int64
	// dieAfterSend: the next post state write after a WeCom send fails.
	dieAfterSend atomic.Bool
	sent         atomic.Bool
	died         atomic.Int64

	reads, writes atomic.Int64
	// items counts the items read and written (a batch call counts each).
	items atomic.Int64
}

func newFaultStore(s store.Store, seed int64, perMille int) *faultStore {
	f := &faultStore{Store: s, perMille: perMille, rng: rand.New(rand.NewPCG(uint64(seed), 0xfa17))}
	f.batch, _ = s.(store.Batcher)
	return f
}

func (f *faultStore) fail() bool {
	if !f.on.Load() {
		return false
	}
	f.mu.Lock()
	n := f.rng.IntN(1000)
	f.mu.Unlock()
	if n < f.perMille {
		f.injected.Add(1)
		return true
	}
	return false
}

func (f *faultStore) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	f.reads.Add(1)
	f.items.Add(1)
	return f.Store.Get(ctx, pk, sk)
}

func (f *faultStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	f.reads.Add(1)
	p, err := f.Store.Query(ctx, q)
	f.items.Add(int64(max(1, len(p.Items))))
	return p, err
}

func (f *faultStore) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	f.writes.Add(1)
	f.items.Add(1)
	if strings.HasPrefix(it.PK, "post#") && it.SK == "post" && f.dieAfterSend.Load() && f.sent.Load() {
		f.dieAfterSend.Store(false)
		f.died.Add(1)
		return store.Item{}, errInjected
	}
	if f.fail() {
		return store.Item{}, errInjected
	}
	return f.Store.Put(ctx, it, cond)
}

func (f *faultStore) Incr(ctx context.Context, pk, sk string, d int64, exp time.Time) (int64, error) {
	f.writes.Add(1)
	f.items.Add(1)
	if f.fail() {
		return 0, errInjected
	}
	return f.Store.Incr(ctx, pk, sk, d, exp)
}

func (f *faultStore) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	f.writes.Add(1)
	f.items.Add(1)
	if f.fail() {
		return errInjected
	}
	return f.Store.Delete(ctx, pk, sk, cond)
}

// batched is faultStore with the adapter's batch calls passed through, so
// the nightly run costs what it costs on the adapter.
type batched struct{ *faultStore }

func (b batched) GetMany(ctx context.Context, keys []store.Key) (map[store.Key]store.Item, error) {
	b.reads.Add(1)
	b.items.Add(int64(len(keys)))
	return b.batch.GetMany(ctx, keys)
}

func (b batched) QueryMany(ctx context.Context, pks []string) (map[string][]store.Item, error) {
	b.reads.Add(1)
	m, err := b.batch.QueryMany(ctx, pks)
	n := len(pks)
	for _, items := range m {
		n += max(0, len(items)-1)
	}
	b.items.Add(int64(n))
	return m, err
}

func (b batched) WriteMany(ctx context.Context, writes []store.Write) error {
	b.writes.Add(1)
	b.items.Add(int64(len(writes)))
	if b.fail() {
		return errInjected
	}
	return b.batch.WriteMany(ctx, writes)
}

// wrap returns the store the stack uses.
func (f *faultStore) wrap() store.Store {
	if f.batch != nil {
		return batched{f}
	}
	return f
}

// sendWatch marks when the app's WeCom client has made a send (a Moment
// task or a group message), for faultStore.dieAfterSend. The client uses
// http.DefaultTransport.
type sendWatch struct {
	base  http.RoundTripper
	store atomic.Pointer[faultStore]
	// calls counts the app's WeCom API calls.
	calls atomic.Int64
}

func (t *sendWatch) RoundTrip(r *http.Request) (*http.Response, error) {
	t.calls.Add(1)
	resp, err := t.base.RoundTrip(r)
	if f := t.store.Load(); f != nil && err == nil && f.dieAfterSend.Load() &&
		(strings.HasSuffix(r.URL.Path, "/add_moment_task") || strings.HasSuffix(r.URL.Path, "/add_msg_template")) {
		f.sent.Store(true)
	}
	return resp, err
}

var watch = func() *sendWatch {
	t := &sendWatch{base: http.DefaultTransport}
	http.DefaultTransport = t
	return t
}()
