// Package storetest is the conformance suite of the store port. Every
// adapter runs it against a real backend:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return openMine(t, opts...) })
//	}
//
// open is called once per subtest with the options to open the store with
// (a subtest that drives the store's clock passes store.WithClock). It may
// return a fresh store or a shared one: every subtest writes only under its
// own partition keys.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/testclock"
)

// Run runs the suite. Subtests are independent and safe to run with
// go test -run on one name.
func Run(t *testing.T, open func(t *testing.T, opts ...store.Option) store.Store) {
	run := time.Now().UnixNano()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			pk := fmt.Sprintf("storetest#%d#%s", run, t.Name())
			tc.fn(t, s, pk)
		})
	}
	for _, at := range []time.Time{
		time.Date(2001, 1, 1, 8, 0, 0, 0, time.UTC),
		time.Date(2101, 1, 1, 8, 0, 0, 0, time.UTC),
	} {
		t.Run(fmt.Sprintf("Expiry follows the store's clock at %d, not the wall clock", at.Year()), func(t *testing.T) {
			clk := testclock.New(at)
			s := open(t, store.WithClock(clk.Now))
			testInjectedClock(t, s, fmt.Sprintf("storetest#%d#%s", run, t.Name()), clk)
		})
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store, pk string)
}

var cases = []testCase{
	{"Get of a missing item returns ErrNotFound", testGetMissing},
	{"Put Always creates version 1 and bumps it on every write", testPutAlwaysVersions},
	{"Put replaces Data, N and ExpiresAt", testPutReplaces},
	{"Put IfAbsent on a live item fails and changes nothing", testIfAbsentExisting},
	{"Put IfAbsent over an expired item succeeds as a new item", testIfAbsentExpired},
	{"Put Always over an expired item starts again at version 1", testPutAlwaysExpired},
	{"Put IfVersion writes only on the current live version", testIfVersion},
	{"Incr creates the counter at delta and adds to it", testIncr},
	{"Incr keeps Data and expiry unless given a new expiry", testIncrKeeps},
	{"Incr over an expired item restarts from zero", testIncrExpired},
	{"Concurrent Incr calls lose no increment", testIncrConcurrent},
	{"Delete removes an item and ignores an absent one", testDeleteAlways},
	{"Delete IfVersion removes only the expected version", testDeleteIfVersion},
	{"Expired items are absent for Get and Query", testExpiry},
	{"An expiry at the Unix epoch means expired, not never", testExpiryEpoch},
	{"Query selects by prefix and inclusive range in both directions", testQueryShapes},
	{"Query pages return every item exactly once in order", testQueryPaging},
	{"Query never returns another partition's items", testQueryPartitions},
	{"Query rejects a bad cursor", testQueryBadCursor},
	{"Data round-trips every byte value and empty data", testBinaryData},
	{"Unicode keys round-trip and sort by UTF-8 bytes", testUnicodeKeys},
	{"Invalid queries and keys are rejected", testValidation},
	{"Racing IfAbsent writers: exactly one wins", testRaceIfAbsent},
	{"Racing IfVersion writers: exactly one wins", testRaceIfVersion},
	{"GetMany returns the live items of the asked keys only", testGetMany},
	{"QueryMany returns each partition whole, in order, and nothing else", testQueryMany},
	{"WriteMany applies each write exactly as Put or Delete Always would", testWriteMany},
	{"WriteMany and GetMany take batches larger than one round trip", testWriteManyLarge},
}

func ctx(t *testing.T) context.Context { return t.Context() }

// ms is the precision adapters keep for ExpiresAt.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

func past() time.Time   { return ms(time.Now().Add(-time.Minute)) }
func future() time.Time { return ms(time.Now().Add(time.Hour)) }

func mustPut(t *testing.T, s store.Store, it store.Item, cond store.Cond) store.Item {
	t.Helper()
	got, err := s.Put(ctx(t), it, cond)
	if err != nil {
		t.Fatalf("Put(%s/%s, %s): %v", it.PK, it.SK, cond, err)
	}
	return got
}

func mustGet(t *testing.T, s store.Store, pk, sk string) store.Item {
	t.Helper()
	got, err := s.Get(ctx(t), pk, sk)
	if err != nil {
		t.Fatalf("Get(%s/%s): %v", pk, sk, err)
	}
	return got
}

func wantMissing(t *testing.T, s store.Store, pk, sk string) {
	t.Helper()
	if it, err := s.Get(ctx(t), pk, sk); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s/%s) = %+v, %v; want ErrNotFound", pk, sk, it, err)
	}
}

// sameItem compares what a caller sees of an item.
func sameItem(t *testing.T, got, want store.Item) {
	t.Helper()
	if got.PK != want.PK || got.SK != want.SK || !bytes.Equal(got.Data, want.Data) ||
		got.N != want.N || got.Version != want.Version || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("item = %s\nwant   %s", show(got), show(want))
	}
}

func show(it store.Item) string {
	exp := "never"
	if !it.ExpiresAt.IsZero() {
		exp = it.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("{%q %q data=%q n=%d v=%d exp=%s}", it.PK, it.SK, it.Data, it.N, it.Version, exp)
}

func testGetMissing(t *testing.T, s store.Store, pk string) {
	wantMissing(t, s, pk, "nothing-here")
}

func testPutAlwaysVersions(t *testing.T, s store.Store, pk string) {
	for v := int64(1); v <= 3; v++ {
		data := fmt.Appendf(nil, `{"write":%d}`, v)
		got := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: data, Version: 99}, store.Always)
		want := store.Item{PK: pk, SK: "a", Data: data, Version: v}
		sameItem(t, got, want)
		sameItem(t, mustGet(t, s, pk, "a"), want)
	}
}

func testPutReplaces(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("old"), N: 7, ExpiresAt: future()}, store.Always)
	later := future().Add(time.Hour)
	got := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("new"), N: 3, ExpiresAt: later}, store.Always)
	sameItem(t, got, store.Item{PK: pk, SK: "a", Data: []byte("new"), N: 3, Version: 2, ExpiresAt: later})

	t.Run("and a zero ExpiresAt means the item never expires", func(t *testing.T) {
		got := mustPut(t, s, store.Item{PK: pk, SK: "a"}, store.Always)
		want := store.Item{PK: pk, SK: "a", Version: 3}
		sameItem(t, got, want)
		sameItem(t, mustGet(t, s, pk, "a"), want)
	})
}

func testIfAbsentExisting(t *testing.T, s store.Store, pk string) {
	first := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("first"), N: 1}, store.IfAbsent)
	sameItem(t, first, store.Item{PK: pk, SK: "a", Data: []byte("first"), N: 1, Version: 1})
	_, err := s.Put(ctx(t), store.Item{PK: pk, SK: "a", Data: []byte("second"), N: 2}, store.IfAbsent)
	if !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("second IfAbsent Put: err = %v, want ErrConditionFailed", err)
	}
	sameItem(t, mustGet(t, s, pk, "a"), first)
}

func testIfAbsentExpired(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("stale"), N: 5}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("stale"), N: 5, ExpiresAt: past()}, store.Always)
	got := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("fresh")}, store.IfAbsent)
	want := store.Item{PK: pk, SK: "a", Data: []byte("fresh"), Version: 1}
	sameItem(t, got, want)
	sameItem(t, mustGet(t, s, pk, "a"), want)
}

func testPutAlwaysExpired(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a"}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "a", ExpiresAt: past()}, store.Always)
	got := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("again")}, store.Always)
	sameItem(t, got, store.Item{PK: pk, SK: "a", Data: []byte("again"), Version: 1})
}

func testIfVersion(t *testing.T, s store.Store, pk string) {
	v1 := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("one")}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "expired", ExpiresAt: past()}, store.Always)

	tests := []struct {
		name    string
		sk      string
		version int64
		wantErr error
	}{
		{"an older version fails", "a", v1.Version - 1, store.ErrConditionFailed},
		{"a newer version fails", "a", v1.Version + 1, store.ErrConditionFailed},
		{"a missing item fails", "missing", 1, store.ErrConditionFailed},
		{"an expired item fails even at its version", "expired", 1, store.ErrConditionFailed},
		{"the current version succeeds", "a", v1.Version, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Put(ctx(t), store.Item{PK: pk, SK: tc.sk, Data: []byte("two")}, store.IfVersion(tc.version))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put IfVersion(%d): err = %v, want %v", tc.version, err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			sameItem(t, got, store.Item{PK: pk, SK: "a", Data: []byte("two"), Version: tc.version + 1})
		})
	}
	sameItem(t, mustGet(t, s, pk, "a"), store.Item{PK: pk, SK: "a", Data: []byte("two"), Version: 2})
	wantMissing(t, s, pk, "missing")
}

func testIncr(t *testing.T, s store.Store, pk string) {
	steps := []struct {
		delta, want int64
	}{{5, 5}, {1, 6}, {-10, -4}, {0, -4}}
	for i, st := range steps {
		n, err := s.Incr(ctx(t), pk, "c", st.delta, time.Time{})
		if err != nil {
			t.Fatalf("Incr #%d: %v", i, err)
		}
		if n != st.want {
			t.Fatalf("Incr #%d by %d = %d, want %d", i, st.delta, n, st.want)
		}
	}
	got := mustGet(t, s, pk, "c")
	sameItem(t, got, store.Item{PK: pk, SK: "c", N: -4, Version: int64(len(steps))})
}

func testIncrKeeps(t *testing.T, s store.Store, pk string) {
	exp := future()
	mustPut(t, s, store.Item{PK: pk, SK: "c", Data: []byte("payload"), N: 10, ExpiresAt: exp}, store.Always)
	if n, err := s.Incr(ctx(t), pk, "c", 2, time.Time{}); err != nil || n != 12 {
		t.Fatalf("Incr = %d, %v; want 12", n, err)
	}
	sameItem(t, mustGet(t, s, pk, "c"), store.Item{PK: pk, SK: "c", Data: []byte("payload"), N: 12, Version: 2, ExpiresAt: exp})

	later := exp.Add(time.Hour)
	if n, err := s.Incr(ctx(t), pk, "c", 3, later); err != nil || n != 15 {
		t.Fatalf("Incr with expiry = %d, %v; want 15", n, err)
	}
	sameItem(t, mustGet(t, s, pk, "c"), store.Item{PK: pk, SK: "c", Data: []byte("payload"), N: 15, Version: 3, ExpiresAt: later})

	t.Run("and a new counter takes the given expiry", func(t *testing.T) {
		if _, err := s.Incr(ctx(t), pk, "new", 1, exp); err != nil {
			t.Fatal(err)
		}
		sameItem(t, mustGet(t, s, pk, "new"), store.Item{PK: pk, SK: "new", N: 1, Version: 1, ExpiresAt: exp})
	})
}

func testIncrExpired(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "c", Data: []byte("old window"), N: 100, ExpiresAt: past()}, store.Always)
	n, err := s.Incr(ctx(t), pk, "c", 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("Incr over expired = %d, want 1", n)
	}
	// The old item's data and expiry went with it.
	sameItem(t, mustGet(t, s, pk, "c"), store.Item{PK: pk, SK: "c", N: 1, Version: 1})

	t.Run("and takes a new expiry when given one", func(t *testing.T) {
		mustPut(t, s, store.Item{PK: pk, SK: "d", N: 100, ExpiresAt: past()}, store.Always)
		exp := future()
		if n, err := s.Incr(ctx(t), pk, "d", 4, exp); err != nil || n != 4 {
			t.Fatalf("Incr = %d, %v; want 4", n, err)
		}
		sameItem(t, mustGet(t, s, pk, "d"), store.Item{PK: pk, SK: "d", N: 4, Version: 1, ExpiresAt: exp})
	})
}

func testIncrConcurrent(t *testing.T, s store.Store, pk string) {
	const workers, each = 8, 50
	var wg sync.WaitGroup
	var failures atomic.Int64
	errc := make(chan error, 1)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.Incr(ctx(t), pk, "hits", 1, time.Time{}); err != nil {
					if failures.Add(1) == 1 {
						errc <- err
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d workers failed, first: %v", failures.Load(), <-errc)
	}
	got := mustGet(t, s, pk, "hits")
	if got.N != workers*each || got.Version != workers*each {
		t.Fatalf("after %d increments: n=%d version=%d", workers*each, got.N, got.Version)
	}
}

func testDeleteAlways(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a"}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "b"}, store.Always)
	if err := s.Delete(ctx(t), pk, "a", store.Always); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMissing(t, s, pk, "a")
	mustGet(t, s, pk, "b")
	if err := s.Delete(ctx(t), pk, "a", store.Always); err != nil {
		t.Fatalf("Delete of a deleted item: %v", err)
	}
	if err := s.Delete(ctx(t), pk, "never-written", store.Always); err != nil {
		t.Fatalf("Delete of a never written item: %v", err)
	}
}

func testDeleteIfVersion(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a"}, store.Always)
	v2 := mustPut(t, s, store.Item{PK: pk, SK: "a", Data: []byte("kept")}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "expired", ExpiresAt: past()}, store.Always)

	tests := []struct {
		name    string
		sk      string
		version int64
		wantErr error
	}{
		{"a stale version fails", "a", 1, store.ErrConditionFailed},
		{"a missing item fails", "missing", 1, store.ErrConditionFailed},
		{"an expired item fails", "expired", 1, store.ErrConditionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Delete(ctx(t), pk, tc.sk, store.IfVersion(tc.version))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Delete IfVersion(%d): err = %v, want %v", tc.version, err, tc.wantErr)
			}
		})
	}
	sameItem(t, mustGet(t, s, pk, "a"), v2)
	if err := s.Delete(ctx(t), pk, "a", store.IfVersion(v2.Version)); err != nil {
		t.Fatalf("Delete IfVersion(current): %v", err)
	}
	wantMissing(t, s, pk, "a")
}

func testExpiry(t *testing.T, s store.Store, pk string) {
	soon := ms(time.Now().Add(-time.Millisecond))
	mustPut(t, s, store.Item{PK: pk, SK: "1-live", Data: []byte("live"), ExpiresAt: future()}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "2-expired", ExpiresAt: past()}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "3-just-expired", ExpiresAt: soon}, store.Always)
	mustPut(t, s, store.Item{PK: pk, SK: "4-never"}, store.Always)

	wantMissing(t, s, pk, "2-expired")
	wantMissing(t, s, pk, "3-just-expired")
	mustGet(t, s, pk, "1-live")

	for _, desc := range []bool{false, true} {
		page, err := s.Query(ctx(t), store.Query{PK: pk, Desc: desc})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"1-live", "4-never"}
		if desc {
			slices.Reverse(want)
		}
		if got := sks(page.Items); !slices.Equal(got, want) {
			t.Fatalf("Query(desc=%v) = %q, want %q", desc, got, want)
		}
	}
}

func testExpiryEpoch(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a", ExpiresAt: time.Unix(0, 0)}, store.Always)
	wantMissing(t, s, pk, "a")
	mustPut(t, s, store.Item{PK: pk, SK: "b", ExpiresAt: time.Unix(0, 1)}, store.Always)
	wantMissing(t, s, pk, "b")
}

func sks(items []store.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.SK
	}
	return out
}

func testQueryShapes(t *testing.T, s store.Store, pk string) {
	keys := []string{"day#2024-05-01", "day#2024-05-02", "day#2024-05-03", "day#2024-06-01", "post#1", "post#2", "z"}
	for i, sk := range keys {
		mustPut(t, s, store.Item{PK: pk, SK: sk, N: int64(i)}, store.Always)
	}
	tests := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"everything ascending", store.Query{}, keys},
		{"by prefix", store.Query{Prefix: "day#2024-05"}, keys[:3]},
		{"by prefix descending", store.Query{Prefix: "post#", Desc: true}, []string{"post#2", "post#1"}},
		{"by a prefix that matches nothing", store.Query{Prefix: "nope"}, nil},
		{"by an inclusive range", store.Query{From: "day#2024-05-02", To: "day#2024-06-01"}, keys[1:4]},
		{"by an inclusive range descending", store.Query{From: "day#2024-05-02", To: "day#2024-06-01", Desc: true}, []string{"day#2024-06-01", "day#2024-05-03", "day#2024-05-02"}},
		{"by a range between keys", store.Query{From: "day#2024-05-02x", To: "post#"}, keys[2:4]},
		{"from a key on", store.Query{From: "post#1"}, keys[4:]},
		{"up to a key", store.Query{To: "day#2024-05-02"}, keys[:2]},
		{"up to a key descending", store.Query{To: "day#2024-05-02", Desc: true}, []string{"day#2024-05-02", "day#2024-05-01"}},
		{"by a range of one key", store.Query{From: "z", To: "z"}, []string{"z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.PK = pk
			page, err := s.Query(ctx(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := sks(page.Items); !slices.Equal(got, tc.want) {
				t.Fatalf("Query = %q, want %q", got, tc.want)
			}
			if page.Next != "" {
				t.Fatalf("Next = %q on a single page", page.Next)
			}
			for _, it := range page.Items {
				if it.PK != pk || it.Version != 1 || it.N != int64(slices.Index(keys, it.SK)) {
					t.Fatalf("item %s is not what was written", show(it))
				}
			}
		})
	}
}

func testQueryPaging(t *testing.T, s store.Store, pk string) {
	const total = 250
	var all []string
	for i := range total {
		sk := fmt.Sprintf("ev#%04d", i)
		all = append(all, sk)
		exp := time.Time{}
		if i%50 == 7 {
			exp = past() // expired items are skipped, never repeated
		}
		mustPut(t, s, store.Item{PK: pk, SK: sk, Data: []byte(sk), ExpiresAt: exp}, store.Always)
	}
	var live []string
	for i, sk := range all {
		if i%50 != 7 {
			live = append(live, sk)
		}
	}
	tests := []struct {
		name  string
		q     store.Query
		limit int
		want  []string
	}{
		{"ascending by 7", store.Query{}, 7, live},
		{"descending by 100", store.Query{Desc: true}, 100, reversed(live)},
		{"ascending by exactly the live count", store.Query{}, len(live), live},
		{"by prefix, ascending by 30", store.Query{Prefix: "ev#01"}, 30, between(live, "ev#0100", "ev#0199")},
		{"by range, descending by 9", store.Query{From: "ev#0010", To: "ev#0060", Desc: true}, 9, reversed(between(live, "ev#0010", "ev#0060"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.PK, q.Limit = pk, tc.limit
			var got []string
			for pages := 0; ; pages++ {
				if pages > total {
					t.Fatal("paging does not end")
				}
				page, err := s.Query(ctx(t), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) > tc.limit {
					t.Fatalf("page of %d items, limit %d", len(page.Items), tc.limit)
				}
				for _, it := range page.Items {
					if string(it.Data) != it.SK {
						t.Fatalf("item %s has another item's data", show(it))
					}
				}
				got = append(got, sks(page.Items)...)
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("paged %d items, want %d\ngot  %q\nwant %q", len(got), len(tc.want), got, tc.want)
			}
		})
	}
}

func between(s []string, from, to string) []string {
	var out []string
	for _, v := range s {
		if v >= from && v <= to {
			out = append(out, v)
		}
	}
	return out
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func testQueryPartitions(t *testing.T, s store.Store, pk string) {
	for _, p := range []string{pk + "x", pk + "#", pk[:len(pk)-1], "a" + pk} {
		mustPut(t, s, store.Item{PK: p, SK: "a"}, store.Always)
		mustPut(t, s, store.Item{PK: p, SK: "b"}, store.Always)
	}
	mustPut(t, s, store.Item{PK: pk, SK: "b"}, store.Always)
	for _, q := range []store.Query{{PK: pk}, {PK: pk, Desc: true}, {PK: pk, Prefix: "b"}, {PK: pk, From: "a", To: "b"}} {
		page, err := s.Query(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].PK != pk || page.Items[0].SK != "b" {
			t.Fatalf("Query(%+v) = %+v, want only %s/b", q, page.Items, pk)
		}
	}
	wantMissing(t, s, pk, "a")
}

func testQueryBadCursor(t *testing.T, s store.Store, pk string) {
	mustPut(t, s, store.Item{PK: pk, SK: "a"}, store.Always)
	if _, err := s.Query(ctx(t), store.Query{PK: pk, Cursor: "%%% not a cursor %%%"}); err == nil {
		t.Fatal("Query with a garbage cursor succeeded")
	}
}

func testBinaryData(t *testing.T, s store.Store, pk string) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"every byte value", all},
		{"every byte value backwards", reversedBytes(all)},
		{"empty data", []byte{}},
		{"nil data", nil},
		{"a lone zero byte", []byte{0}},
		{"invalid UTF-8", []byte{0xff, 0xfe, 0xc3}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sk := fmt.Sprintf("bin#%d", i)
			mustPut(t, s, store.Item{PK: pk, SK: sk, Data: tc.data}, store.Always)
			got := mustGet(t, s, pk, sk)
			if !bytes.Equal(got.Data, tc.data) {
				t.Fatalf("Data = %x, want %x", got.Data, tc.data)
			}
			page, err := s.Query(ctx(t), store.Query{PK: pk, From: sk, To: sk})
			if err != nil || len(page.Items) != 1 || !bytes.Equal(page.Items[0].Data, tc.data) {
				t.Fatalf("Query = %+v, %v; want the same data", page.Items, err)
			}
		})
	}
}

func reversedBytes(b []byte) []byte {
	out := slices.Clone(b)
	slices.Reverse(out)
	return out
}

func testUnicodeKeys(t *testing.T, s store.Store, pk string) {
	upk := pk + "#客户流失"
	// In UTF-8 byte order: ASCII < é (c3) < 中 (e4) < 😀 (f0).
	keys := []string{"2024-05-01#张三", "Z", "z", "é", "中文", "企业微信", "😀"}
	for _, sk := range keys {
		mustPut(t, s, store.Item{PK: upk, SK: sk, Data: []byte(sk)}, store.Always)
	}
	want := slices.Clone(keys)
	slices.Sort(want) // Go compares strings bytewise, as DynamoDB does.
	page, err := s.Query(ctx(t), store.Query{PK: upk})
	if err != nil {
		t.Fatal(err)
	}
	if got := sks(page.Items); !slices.Equal(got, want) {
		t.Fatalf("Query = %q, want %q", got, want)
	}
	got := mustGet(t, s, upk, "企业微信")
	if got.PK != upk || string(got.Data) != "企业微信" {
		t.Fatalf("Get = %s", show(got))
	}
	page, err = s.Query(ctx(t), store.Query{PK: upk, Prefix: "中"})
	if err != nil || !slices.Equal(sks(page.Items), []string{"中文"}) {
		t.Fatalf("Query by prefix 中 = %q, %v", sks(page.Items), err)
	}
	page, err = s.Query(ctx(t), store.Query{PK: upk, Prefix: "é"})
	if err != nil || !slices.Equal(sks(page.Items), []string{"é"}) {
		t.Fatalf("Query by prefix é = %q, %v", sks(page.Items), err)
	}
}

func testValidation(t *testing.T, s store.Store, pk string) {
	queries := []struct {
		name string
		q    store.Query
	}{
		{"a query without pk", store.Query{Prefix: "a"}},
		{"a query with a prefix and a range", store.Query{PK: pk, Prefix: "a", From: "a"}},
		{"a query with a prefix and an upper bound", store.Query{PK: pk, Prefix: "a", To: "b"}},
		{"a query with a reversed range", store.Query{PK: pk, From: "b", To: "a"}},
		{"a query with a negative limit", store.Query{PK: pk, Limit: -1}},
	}
	for _, tc := range queries {
		t.Run(tc.name+" fails", func(t *testing.T) {
			if _, err := s.Query(ctx(t), tc.q); err == nil {
				t.Fatalf("Query(%+v) succeeded", tc.q)
			}
		})
	}
	long := string(bytes.Repeat([]byte("k"), 1025))
	keys := []struct {
		name   string
		pk, sk string
	}{
		{"an empty pk", "", "a"},
		{"an empty sk", pk, ""},
		{"a key over 1024 bytes", pk, long},
	}
	for _, k := range keys {
		t.Run("a write with "+k.name+" fails", func(t *testing.T) {
			if _, err := s.Put(ctx(t), store.Item{PK: k.pk, SK: k.sk}, store.Always); err == nil {
				t.Error("Put succeeded")
			}
			if _, err := s.Incr(ctx(t), k.pk, k.sk, 1, time.Time{}); err == nil {
				t.Error("Incr succeeded")
			}
			if err := s.Delete(ctx(t), k.pk, k.sk, store.Always); err == nil {
				t.Error("Delete succeeded")
			}
		})
	}
}

// race runs fn in two goroutines released together, rounds times, and
// returns how many calls succeeded in each round.
func race(t *testing.T, rounds int, setup func(round int), fn func(round int) error) {
	t.Helper()
	for round := range rounds {
		setup(round)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = fn(round)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConditionFailed):
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1 (errors %v)", round, wins, errs)
		}
	}
}

func testRaceIfAbsent(t *testing.T, s store.Store, pk string) {
	race(t, 20, func(int) {}, func(round int) error {
		_, err := s.Put(ctx(t), store.Item{PK: pk, SK: fmt.Sprintf("claim#%d", round)}, store.IfAbsent)
		return err
	})
}

func testRaceIfVersion(t *testing.T, s store.Store, pk string) {
	var v int64
	race(t, 20, func(int) {
		v = mustPut(t, s, store.Item{PK: pk, SK: "lease"}, store.Always).Version
	}, func(round int) error {
		_, err := s.Put(ctx(t), store.Item{PK: pk, SK: "lease", Data: fmt.Appendf(nil, "%d", round)}, store.IfVersion(v))
		return err
	})
	if got := mustGet(t, s, pk, "lease"); got.Version != 40 {
		t.Fatalf("version after 20 rounds = %d, want 40", got.Version)
	}
}

// testInjectedClock: an item written to live an hour of the clock's time is
// live for every operation during that hour and absent for every operation
// after it, whatever the wall clock says (the clock stands decades away).
func testInjectedClock(t *testing.T, s store.Store, pk string, clk *testclock.Clock) {
	hour := ms(clk.Now().Add(time.Hour))
	mustPut(t, s, store.Item{PK: pk, SK: "lease", Data: []byte("held"), ExpiresAt: hour}, store.Always)
	if n, err := s.Incr(ctx(t), pk, "rate", 1, hour); err != nil || n != 1 {
		t.Fatalf("first Incr = %d, %v; want 1", n, err)
	}

	clk.Advance(59 * time.Minute)
	mustGet(t, s, pk, "lease")
	if _, err := s.Put(ctx(t), store.Item{PK: pk, SK: "lease"}, store.IfAbsent); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("Put IfAbsent on a lease live by the store's clock = %v, want ErrConditionFailed", err)
	}
	if n, err := s.Incr(ctx(t), pk, "rate", 1, hour); err != nil || n != 2 {
		t.Fatalf("Incr within the hour = %d, %v; want 2 (the counter must not restart)", n, err)
	}
	if page, err := s.Query(ctx(t), store.Query{PK: pk}); err != nil || len(page.Items) != 2 {
		t.Fatalf("Query within the hour = %q, %v; want both items", sks(page.Items), err)
	}
	if got, err := store.GetMany(ctx(t), s, []store.Key{{PK: pk, SK: "lease"}}); err != nil || len(got) != 1 {
		t.Fatalf("GetMany within the hour = %d items, %v; want 1", len(got), err)
	}

	clk.Advance(2 * time.Minute)
	wantMissing(t, s, pk, "lease")
	if page, err := s.Query(ctx(t), store.Query{PK: pk}); err != nil || len(page.Items) != 0 {
		t.Fatalf("Query after the hour = %q, %v; want nothing", sks(page.Items), err)
	}
	if got, err := store.GetMany(ctx(t), s, []store.Key{{PK: pk, SK: "lease"}}); err != nil || len(got) != 0 {
		t.Fatalf("GetMany after the hour = %d items, %v; want none", len(got), err)
	}
	if n, err := s.Incr(ctx(t), pk, "rate", 1, ms(clk.Now().Add(time.Hour))); err != nil || n != 1 {
		t.Fatalf("Incr after the hour = %d, %v; want 1 (a new window)", n, err)
	}
	mustPut(t, s, store.Item{PK: pk, SK: "lease", Data: []byte("taken again")}, store.IfAbsent)
}
