// Package sqlite is the embedded store: sqlstore over pure-Go SQLite (no
// cgo). Importing it registers the "sqlite" scheme (SIYU_STORE=sqlite:PATH).
//
// Durability: WAL with synchronous=NORMAL. A committed write survives a crash
// of the process; a power loss may drop the last transactions, never corrupt
// the file. That is the laptop and small self-hosting trade-off; use the
// mysql or dynamodb adapters where a lost write matters more than speed.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore"
)

func init() {
	store.Register("sqlite", func(ctx context.Context, path string, opts ...store.Option) (store.Store, error) {
		return Open(ctx, path, opts...)
	})
}

// The table is WITHOUT ROWID: its rows are stored in the primary key's
// B-tree, so a partition's items sit together in sk order and a query reads
// them in sequence, and a point lookup or write walks one tree. (A rowid
// table keeps (pk, sk) in a separate index and seeks the row of every hit
// elsewhere in the file.)
const columns = ` (
	pk         TEXT    NOT NULL,
	sk         TEXT    NOT NULL,
	data       BLOB    NOT NULL DEFAULT x'',
	n          INTEGER NOT NULL DEFAULT 0,
	version    INTEGER NOT NULL,
	expires_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (pk, sk)
) WITHOUT ROWID`

const schema = `CREATE TABLE IF NOT EXISTS ` + sqlstore.Table + columns + `;
CREATE INDEX IF NOT EXISTS ` + sqlstore.Table + `_expiring ON ` + sqlstore.Table + ` (expires_at) WHERE expires_at > 0`

// migrate turns a table created by an earlier version (a rowid table) into
// the current one, in one transaction: copied, dropped, renamed.
func migrate(ctx context.Context, db *sql.DB) error {
	var ddl string
	err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, sqlstore.Table).Scan(&ddl)
	if errors.Is(err, sql.ErrNoRows) || err == nil && strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
		return nil
	}
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, stmt := range []string{
		`CREATE TABLE ` + sqlstore.Table + `_new` + columns,
		`INSERT INTO ` + sqlstore.Table + `_new (pk, sk, data, n, version, expires_at) SELECT pk, sk, data, n, version, expires_at FROM ` + sqlstore.Table,
		`DROP TABLE ` + sqlstore.Table,
		`ALTER TABLE ` + sqlstore.Table + `_new RENAME TO ` + sqlstore.Table,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// upsert turns an INSERT of one or many rows into Put Always: in DO UPDATE,
// bare column names are the existing row and every SET expression sees its
// old values.
const upsert = ` ON CONFLICT (pk, sk) DO UPDATE SET
		version = CASE WHEN ` + sqlstore.LiveRow + ` THEN version + 1 ELSE 1 END,
		data = excluded.data, n = excluded.n, expires_at = excluded.expires_at`

// insertOne inserts one new row at version 1.
const insertOne = "INSERT INTO " + sqlstore.Table + " (pk, sk, data, n, version, expires_at) VALUES (?, ?, ?, ?, 1, ?)"

// dialect: SQLite's default BINARY collation compares TEXT with memcmp, which
// is UTF-8 byte order, as DynamoDB sorts.
var dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Conflict: isBusy,
	Upsert:   upsert,
	// A write of one item is one statement that commits by itself: no
	// BEGIN, no read of the row into Go, no COMMIT round trip (a put at
	// 10^5 customers cost ~57 µs as a transaction). RETURNING needs SQLite
	// 3.35 or later.
	One: &sqlstore.OneStatement{
		PutAlways: insertOne + upsert + " RETURNING version",
		PutIfAbsent: insertOne + ` ON CONFLICT (pk, sk) DO UPDATE SET
			version = 1, data = excluded.data, n = excluded.n, expires_at = excluded.expires_at
			WHERE NOT ` + sqlstore.LiveRow + ` RETURNING version`,
		// An expired counter starts again: no data, n = delta, version 1,
		// the given expiry; a live one keeps its data, and its expiry
		// unless a new one is given.
		Incr: "INSERT INTO " + sqlstore.Table + ` (pk, sk, data, n, version, expires_at) VALUES (?, ?, X'', ?, 1, ?)
			ON CONFLICT (pk, sk) DO UPDATE SET
			data = CASE WHEN ` + sqlstore.LiveRow + ` THEN data ELSE X'' END,
			n = CASE WHEN ` + sqlstore.LiveRow + ` THEN n + excluded.n ELSE excluded.n END,
			version = CASE WHEN ` + sqlstore.LiveRow + ` THEN version + 1 ELSE 1 END,
			expires_at = CASE WHEN ` + sqlstore.LiveRow + ` AND excluded.expires_at = 0 THEN expires_at ELSE excluded.expires_at END
			RETURNING n`,
	},
	// Through the partial index of expiring rows.
	Purge: `DELETE FROM ` + sqlstore.Table + ` WHERE (pk, sk) IN (SELECT pk, sk FROM ` + sqlstore.Table +
		` WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)`,
}

// Open opens (creating if needed) the database file at path.
//
// Reads and writes go through one connection whose transactions BEGIN
// IMMEDIATE, so goroutines of this process queue in Go instead of failing
// with SQLITE_BUSY; other processes on the same file wait up to the busy
// timeout. One connection, not a pool of readers beside the writer: in WAL
// mode a connection keeps its page cache across its own commits but empties
// it at its next read after another connection's commit, so under a steady
// stream of writes every read of a separate reader began with an empty
// cache (a year at 10^5 customers spent ~17 % of its CPU refilling and
// freeing them; one connection made a month's nightly runs ~20 % faster).
// A read waits for a write in progress; each holds the connection for one
// statement or one short transaction.
func Open(ctx context.Context, path string, opts ...store.Option) (*sqlstore.Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: path %q must be a file path without ? or #", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	// A larger page cache: a day's rollup touches a customer partition per
	// event, and with SQLite's 2 MB default cache a large table pays a
	// read syscall per page. No memory map: in WAL mode the file grows at
	// each checkpoint, and every connection then unmaps and maps it again
	// at its next transaction; under a steady stream of callbacks that
	// cost more (a year at 10^5 customers: the callbacks ~35 % slower)
	// than mapped reads saved the nightly (~20 %).
	params.Add("_pragma", "cache_size(-16384)")
	params.Set("_txlock", "immediate")

	write, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: move %s to the current table: %w", path, err)
	}
	if _, err := write.ExecContext(ctx, schema); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: create table in %s: %w", path, err)
	}
	return sqlstore.New(write, write, dialect, opts...), nil
}

func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code() & 0xff // primary code without the extended bits
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}
