package metered_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/metered"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
)

func open(t *testing.T, opts ...store.Option) *metered.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	m := metered.Wrap(s)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMeteredStorePassesTheSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return open(t, opts...) })
}

func TestCounts(t *testing.T) {
	small := []byte(`{"a":1}`)
	big := bytes.Repeat([]byte("x"), 5000) // 5 write units, 2 read units
	tests := []struct {
		name     string
		eventual bool
		do       func(ctx context.Context, s store.Store) error
		want     metered.Counts
	}{
		{
			name: "a small put costs one write unit",
			do: func(ctx context.Context, s store.Store) error {
				_, err := s.Put(ctx, store.Item{PK: "p", SK: "s", Data: small}, store.Always)
				return err
			},
			want: metered.Counts{Writes: 1, WriteUnits: 1},
		},
		{
			name: "a 5000-byte put costs five write units and its read two",
			do: func(ctx context.Context, s store.Store) error {
				if _, err := s.Put(ctx, store.Item{PK: "p", SK: "s", Data: big}, store.Always); err != nil {
					return err
				}
				_, err := s.Get(ctx, "p", "s")
				return err
			},
			want: metered.Counts{Writes: 1, WriteUnits: 5, Reads: 1, ItemsRead: 1, ReadUnits: 2},
		},
		{
			name:     "an eventually consistent read costs half",
			eventual: true,
			do: func(ctx context.Context, s store.Store) error {
				if _, err := s.Put(ctx, store.Item{PK: "p", SK: "s", Data: big}, store.Always); err != nil {
					return err
				}
				_, err := s.Get(ctx, "p", "s")
				return err
			},
			want: metered.Counts{Writes: 1, WriteUnits: 5, Reads: 1, ItemsRead: 1, ReadUnits: 1},
		},
		{
			name: "a missing item still costs a read unit",
			do: func(ctx context.Context, s store.Store) error {
				_, err := s.Get(ctx, "p", "missing")
				if err == store.ErrNotFound {
					return nil
				}
				return err
			},
			want: metered.Counts{Reads: 1, ReadUnits: 1},
		},
		{
			name: "a failed conditional put is billed like a write",
			do: func(ctx context.Context, s store.Store) error {
				s.Put(ctx, store.Item{PK: "p", SK: "s"}, store.Always)
				_, err := s.Put(ctx, store.Item{PK: "p", SK: "s"}, store.IfAbsent)
				if err == store.ErrConditionFailed {
					return nil
				}
				return fmt.Errorf("want ErrConditionFailed, got %v", err)
			},
			want: metered.Counts{Writes: 2, WriteUnits: 2},
		},
		{
			name: "a query page is billed by its total size, not per item",
			do: func(ctx context.Context, s store.Store) error {
				for i := range 100 {
					if _, err := s.Incr(ctx, "p", fmt.Sprintf("day#%03d", i), 1, time.Time{}); err != nil {
						return err
					}
				}
				_, err := s.Query(ctx, store.Query{PK: "p", Limit: 100})
				return err
			},
			// 100 items of about 20 bytes fit in one 4 KiB unit.
			want: metered.Counts{Writes: 100, WriteUnits: 100, Reads: 1, ItemsRead: 100, ReadUnits: 1},
		},
		{
			name: "a batch read is one request per 100 distinct keys, each key billed as a get",
			do: func(ctx context.Context, s store.Store) error {
				if err := store.WriteMany(ctx, s, []store.Write{
					{Item: store.Item{PK: "p", SK: "big", Data: big}},
					{Item: store.Item{PK: "p", SK: "gone"}, Delete: true},
				}); err != nil {
					return err
				}
				keys := []store.Key{{PK: "p", SK: "big"}, {PK: "p", SK: "big"}}
				for i := range 149 {
					keys = append(keys, store.Key{PK: "p", SK: fmt.Sprintf("missing%03d", i)})
				}
				got, err := store.GetMany(ctx, s, keys)
				if err == nil && len(got) != 1 {
					err = fmt.Errorf("GetMany found %d items, want 1", len(got))
				}
				return err
			},
			// 150 distinct keys: 2 requests; the 5000-byte item 2 units, 149 misses 1 each.
			want: metered.Counts{Writes: 2, WriteUnits: 6, Reads: 2, ItemsRead: 1, ReadUnits: 151},
		},
		{
			name: "a batch of partitions is one query each",
			do: func(ctx context.Context, s store.Store) error {
				if _, err := s.Put(ctx, store.Item{PK: "a", SK: "1", Data: small}, store.Always); err != nil {
					return err
				}
				_, err := store.QueryMany(ctx, s, []string{"a", "b", "a"})
				return err
			},
			want: metered.Counts{Writes: 1, WriteUnits: 1, Reads: 2, ItemsRead: 1, ReadUnits: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := open(t)
			m.Eventual = tc.eventual
			if err := tc.do(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			if got := m.Counts(); got != tc.want {
				t.Fatalf("counts = %+v, want %+v", got, tc.want)
			}
			m.Reset()
			if got := m.Counts(); got != (metered.Counts{}) {
				t.Fatalf("after Reset: %+v", got)
			}
		})
	}
}
