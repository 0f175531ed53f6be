package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/testutil"
)

func open(t testing.TB, dsn string, opts ...store.Option) store.Store {
	t.Helper()
	s, err := mysql.Open(context.Background(), dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMariaDB shares one server (its data directory takes seconds to
// initialise) between the suite and the restart test, which runs last.
func TestMariaDB(t *testing.T) {
	srv := testutil.StartMariaDB(t)
	t.Run("passes the conformance suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store { return open(t, srv.DSN, opts...) })
	})
	t.Run("deletes expired rows", func(t *testing.T) { testPurge(t, srv) })
	t.Run("gives an older table its index of expiring rows", func(t *testing.T) { testIndexMigration(t, srv) })
	t.Run("survives a server restart", func(t *testing.T) { testRestart(t, srv) })
}

func testPurge(t *testing.T, srv *testutil.MariaDBServer) {
	clk := testclock.New(time.Date(2031, 3, 2, 9, 0, 0, 0, time.UTC)) // after anything the suite left
	s, err := mysql.Open(t.Context(), srv.DSN, store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 40 {
		exp := clk.Now().Add(time.Minute)
		if i%4 == 0 {
			exp = clk.Now().Add(time.Hour)
		}
		if _, err := s.Put(t.Context(), store.Item{PK: "purge", SK: fmt.Sprint(i), Data: []byte("x"), ExpiresAt: exp}, store.Always); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)
	for {
		n, err := s.Purge(t.Context(), 7)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var n int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM siyu_kv WHERE pk = 'purge'").Scan(&n); err != nil || n != 10 {
		t.Fatalf("%d rows of the partition after purging (%v), want the 10 live ones", n, err)
	}
}

func testRestart(t *testing.T, srv *testutil.MariaDBServer) {
	s, err := store.Open(t.Context(), "mysql:"+srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	want, err := s.Put(ctx, store.Item{PK: "tenant", SK: "token", Data: []byte("cached")}, store.Always)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the pool with connections that the restart will kill.
	if _, err := s.Query(ctx, store.Query{PK: "tenant"}); err != nil {
		t.Fatal(err)
	}

	t.Run("a read while the server is down fails instead of hanging", func(t *testing.T) {
		srv.Stop()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if _, err := s.Get(ctx, "tenant", "token"); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get with the server down: err = %v, want a connection error", err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("after a restart reads and writes work again", func(t *testing.T) {
		srv.Stop()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "tenant", "token")
		if err != nil || string(got.Data) != "cached" || got.Version != want.Version {
			t.Fatalf("Get after restart = %+v, %v", got, err)
		}
		if _, err := s.Put(ctx, store.Item{PK: "tenant", SK: "token", Data: []byte("fresh")}, store.IfVersion(want.Version)); err != nil {
			t.Fatalf("Put after restart: %v", err)
		}
		if n, err := s.Incr(ctx, "tenant", "calls", 1, time.Time{}); err != nil || n != 1 {
			t.Fatalf("Incr after restart = %d, %v", n, err)
		}
	})
}

func TestOpenRejectsBadDSNs(t *testing.T) {
	tests := []struct{ name, dsn string }{
		{"a DSN that does not parse", "not a dsn"},
		{"a DSN without a database", "root@tcp(127.0.0.1:1)/"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if s, err := mysql.Open(t.Context(), tc.dsn); err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

// A table created before expired rows were purged gets the index when the
// store opens it.
func testIndexMigration(t *testing.T, srv *testutil.MariaDBServer) {
	s := open(t, srv.DSN)
	db := s.(interface{ DB() *sql.DB }).DB()
	if _, err := db.ExecContext(t.Context(), "ALTER TABLE siyu_kv DROP INDEX expiring"); err != nil {
		t.Fatal(err)
	}
	open(t, srv.DSN)
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = 'siyu_kv' AND index_name = 'expiring'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("index expiring after reopening: %d (%v), want it back", n, err)
	}
}
