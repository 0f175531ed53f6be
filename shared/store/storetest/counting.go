package storetest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// Counting wraps a store and counts the calls that reach it: Reads (Get,
// Query) and Writes (Put, Incr, Delete, whether or not their condition
// held). Batch calls go through the per-key fallback, so each key counts.
type Counting struct {
	store.Store
	Reads, Writes atomic.Int64
}

func (c *Counting) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	c.Reads.Add(1)
	return c.Store.Get(ctx, pk, sk)
}

func (c *Counting) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.Reads.Add(1)
	return c.Store.Query(ctx, q)
}

func (c *Counting) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	c.Writes.Add(1)
	return c.Store.Put(ctx, it, cond)
}

func (c *Counting) Incr(ctx context.Context, pk, sk string, d int64, exp time.Time) (int64, error) {
	c.Writes.Add(1)
	return c.Store.Incr(ctx, pk, sk, d, exp)
}

func (c *Counting) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	c.Writes.Add(1)
	return c.Store.Delete(ctx, pk, sk, cond)
}
