// Package mysql is the store over MySQL-compatible databases (Tencent Cloud
// TDSQL-C Serverless, MariaDB). Importing it registers the "mysql" scheme
// (SIYU_STORE=mysql:DSN, DSN in go-sql-driver form, e.g.
// user:pass@tcp(127.0.0.1:3306)/siyu).
//
// TDSQL-C Serverless pauses when idle and drops its connections; the pool
// retires connections early and reads (and writes that never reached COMMIT)
// are retried after a lost connection, so the first request after a pause
// pays the resume time instead of failing.
package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore"
)

func init() {
	store.Register("mysql", func(ctx context.Context, dsn string, opts ...store.Option) (store.Store, error) {
		return Open(ctx, dsn, opts...)
	})
}

// Keys are VARBINARY so they compare bytewise, which is DynamoDB's order;
// 1024 bytes each (store.CheckKey's limit) keeps the primary key under
// InnoDB's 3072-byte index limit. MEDIUMBLOB holds DynamoDB's 400 KB item.
const schema = `CREATE TABLE IF NOT EXISTS ` + sqlstore.Table + ` (
	pk         VARBINARY(1024) NOT NULL,
	sk         VARBINARY(1024) NOT NULL,
	data       MEDIUMBLOB      NOT NULL,
	n          BIGINT          NOT NULL DEFAULT 0,
	version    BIGINT          NOT NULL,
	expires_at BIGINT          NOT NULL DEFAULT 0,
	PRIMARY KEY (pk, sk),
	KEY expiring (expires_at)
) ENGINE=InnoDB`

var dialect = sqlstore.Dialect{
	Name:      "mysql",
	ForUpdate: " FOR UPDATE",
	// READ COMMITTED takes no gap locks: two writers of a missing key both
	// insert, one gets a duplicate key and runs again, instead of deadlocking.
	TxOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	Conflict:  isConflict,
	ConnLost:  isConnLost,
	// Assignments run left to right and see the columns already assigned,
	// so version is decided on the old expires_at before it is replaced.
	// VALUES(col) is the row that collided (MariaDB has no row alias).
	Upsert: ` ON DUPLICATE KEY UPDATE
		version = IF(expires_at = 0 OR expires_at > ?, version + 1, 1),
		data = VALUES(data), n = VALUES(n), expires_at = VALUES(expires_at)`,
	Purge: `DELETE FROM ` + sqlstore.Table + ` WHERE expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
}

// Pool settings: connections idle longer than the database's pause delay
// are dead anyway; a bounded lifetime also follows failovers.
const (
	connMaxIdleTime = 30 * time.Second
	connMaxLifetime = 5 * time.Minute
	maxOpenConns    = 10
)

// Open connects to the database named in dsn and creates the table if it is
// missing.
func Open(ctx context.Context, dsn string, opts ...store.Option) (*sqlstore.Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		// The parse error never holds the password; the DSN might.
		return nil, fmt.Errorf("mysql: bad DSN: %w", err)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("mysql: DSN for %s names no database", cfg.Addr)
	}
	if !strings.Contains(dsn, "interpolateParams=") {
		// One round trip per statement instead of prepare, execute, close.
		cfg.InterpolateParams = true
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second // resuming a paused database takes seconds
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql: %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	db := sql.OpenDB(conn)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)

	for attempt := 0; ; attempt++ {
		_, err = db.ExecContext(ctx, schema)
		if err == nil || !isConnLost(err) || attempt == 2 {
			break
		}
		if err = clock.Sleep(ctx, time.Duration(attempt+1)*500*time.Millisecond); err != nil {
			break
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: create table on %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	if err := addExpiringIndex(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("mysql: index expiring rows on %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	return sqlstore.New(db, db, dialect, opts...), nil
}

// addExpiringIndex gives a table created before the purge of expired rows
// its index on expires_at (MySQL has no CREATE INDEX IF NOT EXISTS).
func addExpiringIndex(ctx context.Context, db *sql.DB) error {
	var n int
	err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND table_name = ? AND index_name = 'expiring'`, sqlstore.Table).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	_, err = db.ExecContext(ctx, "ALTER TABLE "+sqlstore.Table+" ADD INDEX expiring (expires_at)")
	return err
}

// MySQL error numbers.
const (
	errDupEntry        = 1062
	errLockWaitTimeout = 1205
	errDeadlock        = 1213
	errServerShutdown  = 1053
	errConnKilled      = 1927
)

func isConflict(err error) bool {
	var e *mysql.MySQLError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Number {
	case errDupEntry, errDeadlock, errLockWaitTimeout:
		return true
	}
	return false
}

func isConnLost(err error) bool {
	var e *mysql.MySQLError
	if errors.As(err, &e) {
		return e.Number == errServerShutdown || e.Number == errConnKilled
	}
	var netErr net.Error
	return errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &netErr)
}
