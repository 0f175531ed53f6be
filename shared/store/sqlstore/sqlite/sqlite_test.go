package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
)

func open(t testing.TB, opts ...store.Option) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return open(t, opts...) })
}

func TestOpenBySIYUSTORE(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "siyu.db")
	s, err := store.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), store.Item{PK: "p", SK: "s", Data: []byte("x")}, store.Always); err != nil {
		t.Fatal(err)
	}

	t.Run("a second open of the same file sees the data", func(t *testing.T) {
		s2, err := store.Open(t.Context(), "sqlite:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		it, err := s2.Get(t.Context(), "p", "s")
		if err != nil || string(it.Data) != "x" {
			t.Fatalf("Get = %+v, %v", it, err)
		}
	})
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "a.db?mode=ro"} {
		t.Run(fmt.Sprintf("path %q is refused", path), func(t *testing.T) {
			if s, err := sqlite.Open(t.Context(), path); err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func BenchmarkPutIfAbsent(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	data := []byte(`{"event":"add_external_contact","user":"zhangsan","customer":"wmABCDEFG"}`)
	i := 0
	for b.Loop() {
		if _, err := s.Put(ctx, store.Item{PK: "bench", SK: fmt.Sprintf("ev#%09d", i), Data: data}, store.IfAbsent); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkQueryPage(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	data := []byte(`{"event":"add_external_contact","user":"zhangsan","customer":"wmABCDEFG"}`)
	for i := range 1000 {
		if _, err := s.Put(ctx, store.Item{PK: "bench", SK: fmt.Sprintf("ev#%09d", i), Data: data}, store.Always); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		page, err := s.Query(ctx, store.Query{PK: "bench", Prefix: "ev#", Limit: 100})
		if err != nil || len(page.Items) != 100 {
			b.Fatalf("Query = %d items, %v", len(page.Items), err)
		}
	}
}

// Two stores on one file stand for two processes (the local stack and a
// job run by hand): they contend for SQLite's write lock, not for a Go pool.
func TestTwoHandlesOnOneFileLoseNoIncrement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "siyu.db")
	var stores []store.Store
	for range 2 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	const each = 100
	errc := make(chan error, len(stores))
	for _, s := range stores {
		go func() {
			for range each {
				if _, err := s.Incr(t.Context(), "p", "hits", 1, time.Time{}); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range stores {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	it, err := stores[0].Get(t.Context(), "p", "hits")
	if err != nil || it.N != 2*each {
		t.Fatalf("Get = %+v, %v; want n=%d", it, err, 2*each)
	}
}

// Expired rows are deleted, by Purge and every thousand writes, and only
// they: DynamoDB's TTL does the same, and a partition of short-lived items
// must not keep every item it ever held.
func TestExpiredRowsAreDeleted(t *testing.T) {
	clk := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rows := func() (n int) {
		t.Helper()
		if err := s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM siyu_kv").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	put := func(pk string, n int, exp time.Time) {
		t.Helper()
		for i := range n {
			if _, err := s.Put(t.Context(), store.Item{PK: pk, SK: fmt.Sprint(i), Data: []byte("x"), ExpiresAt: exp}, store.Always); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("short", 50, clk.Now().Add(time.Minute))
	put("long", 20, clk.Now().Add(time.Hour))
	put("forever", 10, time.Time{})
	clk.Advance(2 * time.Minute)

	if n, err := s.Purge(t.Context(), 30); err != nil || n != 30 {
		t.Fatalf("Purge(30) = %d, %v; want 30 of the 50 expired", n, err)
	}
	if n, err := s.Purge(t.Context(), 1000); err != nil || n != 20 {
		t.Fatalf("Purge(1000) = %d, %v; want the 20 expired left", n, err)
	}
	if n := rows(); n != 30 {
		t.Fatalf("%d rows after purging, want the 30 live ones", n)
	}

	// Without Purge: the thousandth write deletes what has expired.
	put("short", 500, clk.Now().Add(time.Minute))
	clk.Advance(2 * time.Minute)
	put("other", 500, time.Time{}) // writes 581..1080 of the store
	if n := rows(); n != 530 {
		t.Fatalf("%d rows after a thousand writes, want 530: the 500 expired ones deleted", n)
	}
	if page, err := s.Query(t.Context(), store.Query{PK: "long"}); err != nil || len(page.Items) != 20 {
		t.Fatalf("live items of \"long\" = %d, %v; want 20 kept", len(page.Items), err)
	}
}

// TestATableOfAnEarlierVersionIsMovedOnOpen: files made before the table
// was WITHOUT ROWID open with every item, version and expiry kept.
func TestATableOfAnEarlierVersionIsMovedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "siyu.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE siyu_kv (pk TEXT NOT NULL, sk TEXT NOT NULL, data BLOB NOT NULL DEFAULT x'', n INTEGER NOT NULL DEFAULT 0,
			version INTEGER NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (pk, sk))`,
		`CREATE INDEX siyu_kv_expiring ON siyu_kv (expires_at) WHERE expires_at > 0`,
		`INSERT INTO siyu_kv VALUES ('p', 'a', x'7b7d', 0, 3, 0), ('p', 'b', x'', 7, 2, 0), ('q', 'a', x'01', 0, 1, 4102444800000)`,
	} {
		if _, err := old.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	clk := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	s, err := sqlite.Open(t.Context(), path, store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var ddl string
	if err := s.DB().QueryRowContext(t.Context(), `SELECT sql FROM sqlite_master WHERE name = 'siyu_kv'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "WITHOUT ROWID") {
		t.Fatalf("table after open: %s", ddl)
	}
	got := map[string]store.Item{}
	for _, pk := range []string{"p", "q"} {
		page, err := s.Query(t.Context(), store.Query{PK: pk})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got[it.PK+"/"+it.SK] = it
		}
	}
	if len(got) != 3 || string(got["p/a"].Data) != "{}" || got["p/a"].Version != 3 || got["p/b"].N != 7 ||
		got["q/a"].ExpiresAt.IsZero() {
		t.Fatalf("items after the move: %+v", got)
	}
	// The index of expiring rows is there again, and writes go on.
	if _, err := s.Put(t.Context(), store.Item{PK: "p", SK: "a", Data: []byte("x")}, store.IfVersion(3)); err != nil {
		t.Fatal(err)
	}
	var idx int
	if err := s.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE name = 'siyu_kv_expiring'`).Scan(&idx); err != nil || idx != 1 {
		t.Fatalf("expiring index: %d, %v", idx, err)
	}
	// A second open finds the current table and moves nothing.
	s2, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}
