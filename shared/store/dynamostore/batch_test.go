package dynamostore_test

import (
	"fmt"
	"testing"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
)

// perKey hides the adapter's Batcher, so the store helpers fall back to one
// call per key.
type perKey struct{ store.Store }

// BenchmarkGetMany500 reads 500 keys (half of them stored) with
// BatchGetItem and with one GetItem per key, against dynalite.
func BenchmarkGetMany500(b *testing.B) {
	client := dynalite(b)
	if err := dynamostore.CreateTable(b.Context(), client, "bench"); err != nil {
		b.Fatal(err)
	}
	s := dynamostore.New(client, "bench")
	var keys []store.Key
	var writes []store.Write
	for i := range 500 {
		k := store.Key{PK: fmt.Sprintf("p%d", i%10), SK: fmt.Sprintf("s%04d", i)}
		keys = append(keys, k)
		if i%2 == 0 {
			writes = append(writes, store.Write{Item: store.Item{PK: k.PK, SK: k.SK, Data: []byte("payload")}})
		}
	}
	if err := store.WriteMany(b.Context(), s, writes); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		s    store.Store
	}{{"native", s}, {"one Get per key", perKey{s}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := store.GetMany(b.Context(), bc.s, keys)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != len(writes) {
					b.Fatalf("got %d items, want %d", len(got), len(writes))
				}
			}
		})
	}
}

// BenchmarkWriteMany500 writes 500 items with the native WriteMany (eight
// keys at a time) and with one Put after another, against dynalite.
func BenchmarkWriteMany500(b *testing.B) {
	client := dynalite(b)
	if err := dynamostore.CreateTable(b.Context(), client, "bench"); err != nil {
		b.Fatal(err)
	}
	s := dynamostore.New(client, "bench")
	var writes []store.Write
	for i := range 500 {
		writes = append(writes, store.Write{Item: store.Item{PK: fmt.Sprintf("p%d", i%10), SK: fmt.Sprintf("s%04d", i), Data: []byte("payload")}})
	}
	for _, bc := range []struct {
		name string
		s    store.Store
	}{{"native", s}, {"one Put after another", perKey{s}}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := store.WriteMany(b.Context(), bc.s, writes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
