// Package metered wraps a store and counts what the same calls would cost on
// DynamoDB on-demand, for the cost model: read units per 4 KiB read (half
// for eventually consistent reads), write units per 1 KiB written, both
// rounded up per request, a minimum of one unit per request.
//
// Sizes follow dynamostore's attribute layout. What the wrapper cannot see
// is estimated low: an Incr or Delete counts one unit (the item's size is
// not known), and a Query's expired items, dropped by the adapter, are not
// counted though DynamoDB charges for reading them.
package metered

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// Counts is what a store has been asked to do so far.
type Counts struct {
	// Reads and Writes count calls (Get and Query; Put, Incr and Delete),
	// failed conditional writes included, as DynamoDB bills them.
	Reads, Writes int64
	// ItemsRead counts items returned by Get and Query.
	ItemsRead int64
	// ReadUnits and WriteUnits are DynamoDB capacity units.
	ReadUnits, WriteUnits float64
}

// Store is a store that counts.
type Store struct {
	s store.Store
	// Eventual prices reads as eventually consistent (half a unit per 4 KiB).
	// dynamostore reads strongly consistent by default.
	Eventual bool

	mu sync.Mutex
	c  Counts
}

var _ store.Store = (*Store)(nil)

// Wrap returns s counting its calls.
func Wrap(s store.Store) *Store { return &Store{s: s} }

// Counts returns the counts so far.
func (m *Store) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

// Reset sets the counts to zero.
func (m *Store) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c = Counts{}
}

// ItemSize estimates an item's size in DynamoDB: attribute name lengths plus
// values, numbers at one byte per two digits plus one.
func ItemSize(it store.Item) int {
	size := len("pk") + len(it.PK) + len("sk") + len(it.SK)
	if len(it.Data) > 0 {
		size += len("d") + len(it.Data)
	}
	size += len("n") + numSize(it.N) + len("v") + numSize(it.Version)
	if !it.ExpiresAt.IsZero() {
		size += len("exp_ms") + numSize(it.ExpiresAt.UnixMilli()) + len("ttl") + numSize(it.ExpiresAt.Unix())
	}
	return size
}

func numSize(n int64) int {
	if n < 0 {
		n = -n
	}
	digits := 1
	for n >= 10 {
		n /= 10
		digits++
	}
	return (digits+1)/2 + 1
}

func units(size, per int) float64 {
	return math.Max(1, math.Ceil(float64(size)/float64(per)))
}

func (m *Store) read(items, size int) {
	u := units(size, 4096)
	if m.Eventual {
		u /= 2
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.Reads++
	m.c.ItemsRead += int64(items)
	m.c.ReadUnits += u
}

func (m *Store) write(size int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.Writes++
	m.c.WriteUnits += units(size, 1024)
}

// Get counts one read of the item's size.
func (m *Store) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	it, err := m.s.Get(ctx, pk, sk)
	if err == nil {
		m.read(1, ItemSize(it))
	} else {
		m.read(0, 0)
	}
	return it, err
}

// Put counts one write of the item's size.
func (m *Store) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	m.write(ItemSize(it))
	return m.s.Put(ctx, it, cond)
}

// Incr counts one write unit.
func (m *Store) Incr(ctx context.Context, pk, sk string, delta int64, expiresAt time.Time) (int64, error) {
	m.write(0)
	return m.s.Incr(ctx, pk, sk, delta, expiresAt)
}

// Delete counts one write unit.
func (m *Store) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	m.write(0)
	return m.s.Delete(ctx, pk, sk, cond)
}

// Query counts one read of the page's total size.
func (m *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	page, err := m.s.Query(ctx, q)
	if err != nil {
		return page, err
	}
	size := 0
	for _, it := range page.Items {
		size += ItemSize(it)
	}
	m.read(len(page.Items), size)
	return page, nil
}

// Close closes the wrapped store.
func (m *Store) Close() error { return m.s.Close() }
