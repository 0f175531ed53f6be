package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Key names one item.
type Key struct{ PK, SK string }

// Write is one unconditional change of a batch: a Put (Always) of Item, or,
// when Delete is set, a Delete (Always) of Item's key.
type Write struct {
	Item   Item
	Delete bool
}

// Batcher is implemented by adapters that serve many keys in one round trip
// (one SQL statement or transaction, one DynamoDB BatchGetItem). Callers do
// not use it directly: GetMany, QueryMany and WriteMany use it when the
// store has it and fall back to one call per key otherwise, with the same
// results either way.
type Batcher interface {
	// GetMany returns the live items among keys; missing and expired keys
	// are absent from the map.
	GetMany(ctx context.Context, keys []Key) (map[Key]Item, error)
	// QueryMany returns every live item of each partition in sk order;
	// partitions without items are absent from the map.
	QueryMany(ctx context.Context, pks []string) (map[string][]Item, error)
	// WriteMany applies writes as Put/Delete with Always, in order (a later
	// write of the same key wins). Keys are already checked.
	WriteMany(ctx context.Context, writes []Write) error
}

// GetMany returns the live items at keys (missing and expired keys are
// absent from the map).
func GetMany(ctx context.Context, s Store, keys []Key) (map[Key]Item, error) {
	if len(keys) == 0 {
		return map[Key]Item{}, nil
	}
	if b, ok := s.(Batcher); ok {
		return b.GetMany(ctx, keys)
	}
	out := make(map[Key]Item, len(keys))
	for _, k := range keys {
		it, err := s.Get(ctx, k.PK, k.SK)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[k] = it
	}
	return out, nil
}

// QueryMany reads whole partitions: every live item of each pk in sk order.
// It is meant for many small partitions (a customer's facts); a large one is
// read whole too, so keep partitions that grow without bound out of it.
func QueryMany(ctx context.Context, s Store, pks []string) (map[string][]Item, error) {
	if len(pks) == 0 {
		return map[string][]Item{}, nil
	}
	for _, pk := range pks {
		if pk == "" {
			return nil, fmt.Errorf("store: query needs a pk")
		}
	}
	if b, ok := s.(Batcher); ok {
		return b.QueryMany(ctx, pks)
	}
	out := make(map[string][]Item, len(pks))
	for _, pk := range pks {
		if _, done := out[pk]; done {
			continue
		}
		items, err := QueryAll(ctx, s, Query{PK: pk, Limit: MaxLimit})
		if err != nil {
			return nil, err
		}
		if len(items) > 0 {
			out[pk] = items
		}
	}
	return out, nil
}

// QueryAll reads every page of q and returns their items together. For a
// partition too large to hold at once, range over Pages instead.
func QueryAll(ctx context.Context, s Store, q Query) ([]Item, error) {
	var out []Item
	for page, err := range Pages(ctx, s, q) {
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
}

// Pages reads q one page at a time, following each page's Next, so a caller
// holds one page of a large partition at once. A failed read is yielded as
// the error with an empty page and ends the sequence.
func Pages(ctx context.Context, s Store, q Query) iter.Seq2[Page, error] {
	return func(yield func(Page, error) bool) {
		for {
			page, err := s.Query(ctx, q)
			if err != nil {
				yield(Page{}, err)
				return
			}
			if !yield(page, nil) || page.Next == "" {
				return
			}
			q.Cursor = page.Next
		}
	}
}

// WriteMany applies writes as unconditional Puts and Deletes, in order. Every
// key is checked before anything is written. Adapters make one round trip
// (or a few) where they can; a SQL store writes the whole batch in one
// transaction, DynamoDB item by item, so callers must not rely on the batch
// being atomic — only on each write being applied exactly as Put or Delete
// would.
func WriteMany(ctx context.Context, s Store, writes []Write) error {
	if len(writes) == 0 {
		return nil
	}
	for _, w := range writes {
		if err := CheckKey(w.Item.PK, w.Item.SK); err != nil {
			return err
		}
	}
	if b, ok := s.(Batcher); ok {
		return b.WriteMany(ctx, writes)
	}
	for _, w := range writes {
		var err error
		if w.Delete {
			err = s.Delete(ctx, w.Item.PK, w.Item.SK, Always)
		} else {
			_, err = s.Put(ctx, w.Item, Always)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
