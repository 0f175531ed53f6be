package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// The batch helpers (store.GetMany, QueryMany, WriteMany) must give the same
// results whether the adapter implements store.Batcher or not.

func testGetMany(t *testing.T, s store.Store, pk string) {
	other := pk + "#other"
	a := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("A"), N: 3}, store.Always)
	b := mustPut(t, s, store.Item{PK: other, SK: "a", Data: []byte("B"), ExpiresAt: future()}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "expired", Data: []byte("gone"), ExpiresAt: past()}, store.Always)

	keys := []store.Key{{PK: pk, SK: "a"}, {PK: other, SK: "a"}, {PK: pk, SK: "expired"}, {PK: pk, SK: "missing"}, {PK: pk, SK: "a"}}
	got, err := store.GetMany(ctx(t), s, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("GetMany returned %d items, want 2 (a live item of each partition): %v", len(got), got)
	}
	sameItem(t, got[store.Key{PK: pk, SK: "a"}], a)
	sameItem(t, got[store.Key{PK: other, SK: "a"}], b)

	empty, err := store.GetMany(ctx(t), s, nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("GetMany(nil) = %v, %v; want an empty map", empty, err)
	}

	// More keys than one statement or one BatchGetItem takes.
	var many []store.Key
	var writes []store.Write
	for i := range 250 {
		sk := fmt.Sprintf("many-%03d", i)
		many = append(many, store.Key{PK: pk, SK: sk})
		if i%2 == 0 {
			writes = append(writes, store.Write{Item: store.Item{PK: pk, SK: sk, Data: []byte(sk)}})
		}
	}
	if err := store.WriteMany(ctx(t), s, writes); err != nil {
		t.Fatal(err)
	}
	got, err = store.GetMany(ctx(t), s, many)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 125 {
		t.Fatalf("GetMany of 250 keys (125 stored) returned %d", len(got))
	}
	for k, it := range got {
		if string(it.Data) != k.SK || it.PK != k.PK || it.SK != k.SK || it.Version != 1 {
			t.Fatalf("GetMany[%v] = %s", k, show(it))
		}
	}
}

func testQueryMany(t *testing.T, s store.Store, pk string) {
	p1, p2, p3, empty := pk+"#1", pk+"#2", pk+"#3", pk+"#empty"
	// p2 sorts between p1 and p3, and p1's keys are a prefix of p1x's: no
	// partition may leak into another.
	p1x := p1 + "x"
	var writes []store.Write
	for _, k := range []string{"c", "a", "b"} {
		writes = append(writes, store.Write{Item: store.Item{PK: p1, SK: k, Data: []byte(p1 + k)}})
	}
	writes = append(writes,
		store.Write{Item: store.Item{PK: p1x, SK: "a", Data: []byte("x")}},
		store.Write{Item: store.Item{PK: p2, SK: "z", N: 7}},
		store.Write{Item: store.Item{PK: p3, SK: "old", ExpiresAt: past()}},
	)
	// A partition larger than a Query page.
	for i := range store.MaxLimit + 5 {
		writes = append(writes, store.Write{Item: store.Item{PK: p3, SK: fmt.Sprintf("%05d", i)}})
	}
	if err := store.WriteMany(ctx(t), s, writes); err != nil {
		t.Fatal(err)
	}

	got, err := store.QueryMany(ctx(t), s, []string{p3, p1, empty, p2, p1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("QueryMany returned partitions %v, want %s, %s and %s", keysOf(got), p1, p2, p3)
	}
	if sk := sks(got[p1]); !slices.Equal(sk, []string{"a", "b", "c"}) {
		t.Fatalf("partition 1 = %q, want a b c", sk)
	}
	for _, it := range got[p1] {
		if it.PK != p1 || string(it.Data) != p1+it.SK || it.Version != 1 {
			t.Fatalf("partition 1 item %s", show(it))
		}
	}
	if items := got[p2]; len(items) != 1 || items[0].N != 7 || items[0].PK != p2 {
		t.Fatalf("partition 2 = %v", items)
	}
	p3sk := sks(got[p3])
	if len(p3sk) != store.MaxLimit+5 || !slices.IsSorted(p3sk) || p3sk[0] != "00000" {
		t.Fatalf("partition 3 has %d items (want %d, sorted, expired one absent)", len(p3sk), store.MaxLimit+5)
	}
	if _, err := store.QueryMany(ctx(t), s, []string{p1, ""}); err == nil {
		t.Fatal("QueryMany with an empty pk succeeded")
	}
}

func keysOf(m map[string][]store.Item) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func testWriteMany(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "kept", Data: []byte("v1")}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "kept", Data: []byte("v2")}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "dropped", Data: []byte("x")}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "expired", Data: []byte("old"), ExpiresAt: past()}, store.Always)
	exp := future()
	err := store.WriteMany(ctx(t), s, []store.Write{
		{Item: store.Item{PK: pk, SK: "kept", Data: []byte("v3"), N: 4, Version: 99}},
		{Item: store.Item{PK: pk, SK: "new", Data: []byte("first"), ExpiresAt: exp}},
		{Item: store.Item{PK: pk, SK: "dropped"}, Delete: true},
		{Item: store.Item{PK: pk, SK: "never-there"}, Delete: true},
		{Item: store.Item{PK: pk, SK: "expired", Data: []byte("again")}},
		{Item: store.Item{PK: pk, SK: "twice", Data: []byte("one")}},
		{Item: store.Item{PK: pk, SK: "twice", Data: []byte("two")}},
		{Item: store.Item{PK: pk, SK: "put-then-deleted", Data: []byte("x")}},
		{Item: store.Item{PK: pk, SK: "put-then-deleted"}, Delete: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Exactly what Put Always and Delete Always would have left.
	sameItem(t, mustGet(t, s, pk, "kept"), store.Item{PK: pk, SK: "kept", Data: []byte("v3"), N: 4, Version: 3})
	sameItem(t, mustGet(t, s, pk, "new"), store.Item{PK: pk, SK: "new", Data: []byte("first"), Version: 1, ExpiresAt: exp})
	sameItem(t, mustGet(t, s, pk, "expired"), store.Item{PK: pk, SK: "expired", Data: []byte("again"), Version: 1})
	sameItem(t, mustGet(t, s, pk, "twice"), store.Item{PK: pk, SK: "twice", Data: []byte("two"), Version: 2})
	wantMissing(t, s, pk, "dropped")
	wantMissing(t, s, pk, "never-there")
	wantMissing(t, s, pk, "put-then-deleted")

	// A bad key anywhere: nothing of the batch is written.
	err = store.WriteMany(ctx(t), s, []store.Write{
		{Item: store.Item{PK: pk, SK: "before-bad", Data: []byte("x")}},
		{Item: store.Item{PK: pk, SK: ""}},
	})
	if err == nil {
		t.Fatal("WriteMany with an empty sk succeeded")
	}
	wantMissing(t, s, pk, "before-bad")
	if err := store.WriteMany(ctx(t), s, nil); err != nil {
		t.Fatalf("WriteMany(nil) = %v", err)
	}
}

// testWriteManyLarge writes more items than one SQL statement binds or one
// DynamoDB batch carries, then reads them back.
func testWriteManyLarge(t *testing.T, s store.Store, pk string) {
	var writes []store.Write
	var keys []store.Key
	for i := range 2500 {
		sk := fmt.Sprintf("%05d", i)
		writes = append(writes, store.Write{Item: store.Item{PK: fmt.Sprintf("%s#%d", pk, i%7), SK: sk, Data: []byte(sk)}})
		keys = append(keys, store.Key{PK: fmt.Sprintf("%s#%d", pk, i%7), SK: sk})
	}
	start := time.Now()
	if err := store.WriteMany(ctx(t), s, writes); err != nil {
		t.Fatal(err)
	}
	t.Logf("WriteMany of %d items: %v", len(writes), time.Since(start))
	got, err := store.GetMany(ctx(t), s, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(keys) {
		t.Fatalf("read back %d of %d items", len(got), len(keys))
	}
}
