package metered

import (
	"context"

	"github.com/siyuhq/siyu/shared/store"
)

var _ store.Batcher = (*Store)(nil)

// batchGetKeys is how many keys one DynamoDB BatchGetItem reads.
const batchGetKeys = 100

// GetMany counts what dynamostore spends: one BatchGetItem request per 100
// distinct keys, and per key the units a GetItem would (a missing key
// still costs one).
func (m *Store) GetMany(ctx context.Context, keys []store.Key) (map[store.Key]store.Item, error) {
	out, err := store.GetMany(ctx, m.s, keys)
	if err != nil {
		return nil, err
	}
	distinct := map[store.Key]bool{}
	for _, k := range keys {
		distinct[k] = true
	}
	var u float64
	for k := range distinct {
		size := 0
		if it, ok := out[k]; ok {
			size = ItemSize(it)
		}
		r := units(size, 4096)
		if m.Eventual {
			r /= 2
		}
		u += r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.Reads += int64((len(distinct) + batchGetKeys - 1) / batchGetKeys)
	m.c.ItemsRead += int64(len(out))
	m.c.ReadUnits += u
	return out, nil
}

// QueryMany counts one Query per distinct partition, as dynamostore reads
// them.
func (m *Store) QueryMany(ctx context.Context, pks []string) (map[string][]store.Item, error) {
	out, err := store.QueryMany(ctx, m.s, pks)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, pk := range pks {
		if seen[pk] {
			continue
		}
		seen[pk] = true
		size := 0
		for _, it := range out[pk] {
			size += ItemSize(it)
		}
		m.read(len(out[pk]), size)
	}
	return out, nil
}

// WriteMany counts one write per item, as dynamostore writes them (a batch
// write could not bump versions).
func (m *Store) WriteMany(ctx context.Context, writes []store.Write) error {
	for _, w := range writes {
		if w.Delete {
			m.write(0)
		} else {
			m.write(ItemSize(w.Item))
		}
	}
	return store.WriteMany(ctx, m.s, writes)
}
