// Package sqlstore implements the store port over database/sql. It knows no
// driver: the sqlite and mysql subpackages bring the driver, the schema and a
// Dialect, so a binary links only the database it uses.
//
// Table siyu_kv(pk, sk, data, n, version, expires_at) with PRIMARY KEY(pk, sk);
// expires_at is unix milliseconds, 0 for never. Keys must compare bytewise so
// that Query order matches DynamoDB's (UTF-8 byte order).
//
// Expired rows are never returned, and the store deletes them as it goes,
// as DynamoDB's TTL does: every purgeEvery writes, one statement deletes up
// to purgeBatch of them through an index on expires_at. Without it a
// partition of short-lived items (pending first-touch work, claims) would
// keep every item it ever held, and each read of it would step over them.
//
// On SQLite a write of one item is one statement that commits by itself and
// decides its condition in SQL (OneStatement). Elsewhere every conditional
// write is one transaction: read the row (locking it where the database
// locks rows), decide in Go, write, commit. MySQL locks the row with
// SELECT ... FOR UPDATE and reports a racing insert of a missing row as a
// duplicate key, after which the transaction is run again.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
)

// Table is the table every dialect creates.
const Table = "siyu_kv"

// Dialect is what differs between databases.
type Dialect struct {
	// Name is used in error messages ("sqlite", "mysql").
	Name string
	// ForUpdate is appended to the SELECT that reads a row inside a write
	// transaction (" FOR UPDATE" on MySQL, empty on SQLite, which locks the
	// whole database at BEGIN IMMEDIATE).
	ForUpdate string
	// TxOptions are the options of write transactions.
	TxOptions *sql.TxOptions
	// Conflict reports an error after which a write transaction may simply
	// run again: a racing insert (duplicate key), a deadlock, a busy database.
	Conflict func(error) bool
	// Upsert, when set, is appended to a multi-row INSERT so that a row whose
	// key exists is updated as Put Always would: data, n and expires_at
	// replaced, version + 1 when the existing row is live (its expires_at is
	// 0 or after the one ? placeholder, the current unix ms), 1 when expired.
	// WriteMany then writes many puts per statement instead of reading each
	// row first.
	Upsert string
	// Purge deletes up to the second ? expired rows: those whose expires_at
	// is non-zero and at or before the first ? (unix ms).
	Purge string
	// One, when set, writes one item with a single statement (see
	// OneStatement); otherwise each write is a transaction.
	One *OneStatement
	// ConnLost reports an error that means the connection to the server broke
	// (a serverless database that paused, a restart). Reads and uncommitted
	// writes are retried after it.
	ConnLost func(error) bool
}

// Store is the port over database/sql.
type Store struct {
	write *sql.DB
	read  *sql.DB
	d     Dialect
	now   func() time.Time
	// stmts caches prepared statements per pool and query text: parsing the
	// SQL again on every call was the largest single cost of a rollup.
	stmts sync.Map // stmtKey → *sql.Stmt
	// writes counts committed writes; every purgeEvery-th purges.
	writes atomic.Int64
}

// Expired rows are deleted purgeBatch at a time, once every purgeEvery
// writes: a write in a thousand pays for one indexed delete.
const (
	purgeEvery = 1000
	purgeBatch = 1000
)

// wrote counts one committed write and, every purgeEvery writes, deletes
// expired rows. A failed purge is left to the next one: the rows it missed
// are invisible anyway.
func (s *Store) wrote(ctx context.Context) {
	if s.writes.Add(1)%purgeEvery == 0 {
		_, _ = s.Purge(ctx, purgeBatch)
	}
}

// Purge deletes up to limit expired rows and says how many it deleted.
func (s *Store) Purge(ctx context.Context, limit int) (int64, error) {
	if s.d.Purge == "" || limit <= 0 {
		return 0, nil
	}
	st, err := s.prepared(ctx, s.write, s.d.Purge)
	if err != nil {
		return 0, fmt.Errorf("%s: purge expired rows: %w", s.d.Name, err)
	}
	res, err := st.ExecContext(ctx, s.now().UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("%s: purge expired rows: %w", s.d.Name, err)
	}
	return res.RowsAffected()
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// prepared returns the statement for query on db, preparing it once.
func (s *Store) prepared(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{db, query}
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// writeStmts are the statements of a conditional write, prepared on the
// write pool before its transaction starts (the pool may have a single
// connection, which the transaction then holds).
type writeStmts struct{ sel, del, upd, ins *sql.Stmt }

func (s *Store) writeStatements(ctx context.Context) (w writeStmts, err error) {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&w.sel, "SELECT data, n, version, expires_at FROM " + Table + " WHERE pk = ? AND sk = ?" + s.d.ForUpdate},
		{&w.del, "DELETE FROM " + Table + " WHERE pk = ? AND sk = ?"},
		{&w.upd, "UPDATE " + Table + " SET data = ?, n = ?, version = ?, expires_at = ? WHERE pk = ? AND sk = ?"},
		{&w.ins, "INSERT INTO " + Table + " (pk, sk, data, n, version, expires_at) VALUES (?, ?, ?, ?, ?, ?)"},
	} {
		if *p.dst, err = s.prepared(ctx, s.write, p.query); err != nil {
			return w, err
		}
	}
	return w, nil
}

var _ store.Store = (*Store)(nil)

// New returns a store writing through write and reading through read (they
// may be the same pool). The table must exist.
func New(write, read *sql.DB, d Dialect, opts ...store.Option) *Store {
	if d.Conflict == nil {
		d.Conflict = func(error) bool { return false }
	}
	if d.ConnLost == nil {
		d.ConnLost = func(error) bool { return false }
	}
	return &Store{write: write, read: read, d: d, now: store.NewOptions(opts...).Now}
}

// Close closes both pools.
func (s *Store) Close() error {
	s.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// DB returns the write pool, for tests and maintenance.
func (s *Store) DB() *sql.DB { return s.write }

const (
	// writeAttempts bounds how often a write transaction runs after a
	// conflict or a lost connection.
	writeAttempts = 8
	// readAttempts: a read is retried once after a lost connection.
	readAttempts = 2
)

// retryDelay backs off between attempts; a paused serverless database takes
// a few seconds to resume, a conflict clears in milliseconds.
func retryDelay(attempt int, connLost bool) time.Duration {
	if connLost {
		return time.Duration(attempt+1) * 500 * time.Millisecond
	}
	return time.Duration(attempt+1) * 2 * time.Millisecond
}

// ExpiryMillis is how ExpiresAt is stored: unix milliseconds, 0 for never.
// A non-zero time at or before the epoch is kept as 1 (long expired), so it
// cannot turn into "never".
func ExpiryMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 1)
}

// ExpiryTime is the inverse of ExpiryMillis.
func ExpiryTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func live(expMs, nowMs int64) bool { return expMs == 0 || expMs > nowMs }

// blob keeps empty data a zero-length blob rather than NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Get returns the live item at pk/sk.
func (s *Store) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	it := store.Item{PK: pk, SK: sk}
	var exp int64
	err := s.readRetry(ctx, func() error {
		st, err := s.prepared(ctx, s.read, "SELECT data, n, version, expires_at FROM "+Table+" WHERE pk = ? AND sk = ?")
		if err != nil {
			return err
		}
		return st.QueryRowContext(ctx, pk, sk).Scan(&it.Data, &it.N, &it.Version, &exp)
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !live(exp, s.now().UnixMilli())) {
		return store.Item{}, store.ErrNotFound
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("%s: get %s/%s: %w", s.d.Name, pk, sk, err)
	}
	it.Data = nilIfEmpty(it.Data)
	it.ExpiresAt = ExpiryTime(exp)
	return it, nil
}

func (s *Store) readRetry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := range readAttempts {
		if err = fn(); err == nil || !s.d.ConnLost(err) || attempt == readAttempts-1 {
			return err
		}
		if werr := clock.Sleep(ctx, retryDelay(attempt, true)); werr != nil {
			return err
		}
	}
	return err
}

// row is the current state of a key inside a write transaction.
type row struct {
	found   bool
	live    bool
	data    []byte
	n       int64
	version int64
	exp     int64
}

// change is what a write decides to store; nil means delete.
type change struct {
	data    []byte
	n       int64
	version int64
	exp     int64
}

// errAtCommit marks a failure of COMMIT itself: the write may have happened,
// so it is not retried.
type errAtCommit struct{ err error }

func (e errAtCommit) Error() string { return "commit: " + e.err.Error() }
func (e errAtCommit) Unwrap() error { return e.err }

// update runs decide in a write transaction over the row at pk/sk and stores
// its result. decide returns store.ErrConditionFailed to refuse.
func (s *Store) update(ctx context.Context, pk, sk string, decide func(cur row, nowMs int64) (*change, error)) (*change, error) {
	var err error
	for attempt := range writeAttempts {
		var ch *change
		ch, err = s.tryUpdate(ctx, pk, sk, decide)
		if err == nil || errors.Is(err, store.ErrConditionFailed) {
			return ch, err
		}
		var atCommit errAtCommit
		lost := s.d.ConnLost(err) && !errors.As(err, &atCommit)
		if !lost && !s.d.Conflict(err) {
			return nil, err
		}
		if werr := clock.Sleep(ctx, retryDelay(attempt, lost)); werr != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", writeAttempts, err)
}

func (s *Store) tryUpdate(ctx context.Context, pk, sk string, decide func(cur row, nowMs int64) (*change, error)) (*change, error) {
	ws, err := s.writeStatements(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	tx, err := s.write.BeginTx(ctx, s.d.TxOptions)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	ch, err := s.applyInTx(ctx, tx, ws, pk, sk, decide)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, errAtCommit{err}
	}
	s.wrote(ctx)
	return ch, nil
}

// applyInTx reads the row at pk/sk inside tx, lets decide choose, and
// writes the choice.
func (s *Store) applyInTx(ctx context.Context, tx *sql.Tx, ws writeStmts, pk, sk string, decide func(cur row, nowMs int64) (*change, error)) (*change, error) {
	var cur row
	err := tx.StmtContext(ctx, ws.sel).QueryRowContext(ctx, pk, sk).Scan(&cur.data, &cur.n, &cur.version, &cur.exp)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("read: %w", err)
	default:
		cur.found = true
	}
	nowMs := s.now().UnixMilli()
	cur.live = cur.found && live(cur.exp, nowMs)

	ch, err := decide(cur, nowMs)
	if err != nil {
		return nil, err
	}
	switch {
	case ch == nil && cur.found:
		_, err = tx.StmtContext(ctx, ws.del).ExecContext(ctx, pk, sk)
	case ch == nil:
		return nil, nil
	case cur.found:
		_, err = tx.StmtContext(ctx, ws.upd).ExecContext(ctx,
			blob(ch.data), ch.n, ch.version, ch.exp, pk, sk)
	default:
		_, err = tx.StmtContext(ctx, ws.ins).ExecContext(ctx,
			pk, sk, blob(ch.data), ch.n, ch.version, ch.exp)
	}
	if err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	return ch, nil
}

// Put writes it under cond.
func (s *Store) Put(ctx context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	if err := store.CheckKey(it.PK, it.SK); err != nil {
		return store.Item{}, err
	}
	var version int64
	var err error
	if s.d.One != nil {
		version, err = s.putOne(ctx, it, cond)
	} else {
		var ch *change
		if ch, err = s.update(ctx, it.PK, it.SK, putDecision(it, cond)); err == nil {
			version = ch.version
		}
	}
	if errors.Is(err, store.ErrConditionFailed) {
		return store.Item{}, err
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("%s: put %s/%s (%s): %w", s.d.Name, it.PK, it.SK, cond, err)
	}
	return store.Item{
		PK: it.PK, SK: it.SK, Data: nilIfEmpty(it.Data), N: it.N,
		Version: version, ExpiresAt: ExpiryTime(ExpiryMillis(it.ExpiresAt)),
	}, nil
}

// putDecision is what Put under cond stores over the current row.
func putDecision(it store.Item, cond store.Cond) func(cur row, _ int64) (*change, error) {
	return func(cur row, _ int64) (*change, error) {
		version := int64(1) // an expired item is gone: a new one starts again
		switch {
		case cond.IsAbsent():
			if cur.live {
				return nil, store.ErrConditionFailed
			}
		case cond.IsVersion():
			if !cur.live || cur.version != cond.Version() {
				return nil, store.ErrConditionFailed
			}
			version = cur.version + 1
		case cur.live:
			version = cur.version + 1
		}
		return &change{data: it.Data, n: it.N, version: version, exp: ExpiryMillis(it.ExpiresAt)}, nil
	}
}

func deleteDecision(cur row, _ int64) (*change, error) { return nil, nil }

// Incr adds delta to the counter at pk/sk.
func (s *Store) Incr(ctx context.Context, pk, sk string, delta int64, expiresAt time.Time) (int64, error) {
	if err := store.CheckKey(pk, sk); err != nil {
		return 0, err
	}
	if s.d.One != nil {
		n, err := s.incrOne(ctx, pk, sk, delta, ExpiryMillis(expiresAt))
		if err != nil {
			return 0, fmt.Errorf("%s: incr %s/%s: %w", s.d.Name, pk, sk, err)
		}
		return n, nil
	}
	ch, err := s.update(ctx, pk, sk, func(cur row, _ int64) (*change, error) {
		ch := &change{n: delta, version: 1, exp: ExpiryMillis(expiresAt)}
		if cur.live {
			ch.data, ch.n, ch.version = cur.data, cur.n+delta, cur.version+1
			if expiresAt.IsZero() {
				ch.exp = cur.exp
			}
		}
		return ch, nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: incr %s/%s: %w", s.d.Name, pk, sk, err)
	}
	return ch.n, nil
}

// Delete removes the item at pk/sk under cond (Always or IfVersion).
func (s *Store) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	if err := store.CheckKey(pk, sk); err != nil {
		return err
	}
	if cond.IsAbsent() {
		return fmt.Errorf("%s: delete %s/%s: %s makes no sense for a delete", s.d.Name, pk, sk, cond)
	}
	var err error
	if s.d.One != nil {
		err = s.deleteOne(ctx, pk, sk, cond)
	} else {
		_, err = s.update(ctx, pk, sk, func(cur row, _ int64) (*change, error) {
			if cond.IsVersion() && (!cur.live || cur.version != cond.Version()) {
				return nil, store.ErrConditionFailed
			}
			return nil, nil
		})
	}
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("%s: delete %s/%s (%s): %w", s.d.Name, pk, sk, cond, err)
	}
	return err
}

// EncodeCursor and DecodeCursor turn the last sk of a page into an opaque
// cursor and back.
func EncodeCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

// DecodeCursor is the inverse of EncodeCursor.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("store: bad cursor %q", c)
	}
	return string(b), nil
}

// PrefixEnd is the smallest string greater than every string starting with
// prefix, in byte order, or "" when there is none (a prefix of 0xff bytes).
func PrefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// Query reads one page of a partition. Expired items are filtered by the
// database, so pages are full.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if err := q.Validate(); err != nil {
		return store.Page{}, err
	}
	limit := q.PageSize()
	where := "pk = ? AND (expires_at = 0 OR expires_at > ?)"
	args := []any{q.PK, s.now().UnixMilli()}
	if q.Prefix != "" {
		where += " AND sk >= ?"
		args = append(args, q.Prefix)
		if end := PrefixEnd(q.Prefix); end != "" {
			where += " AND sk < ?"
			args = append(args, end)
		}
	}
	if q.From != "" {
		where += " AND sk >= ?"
		args = append(args, q.From)
	}
	if q.To != "" {
		where += " AND sk <= ?"
		args = append(args, q.To)
	}
	order := "ASC"
	if q.Desc {
		order = "DESC"
	}
	if q.Cursor != "" {
		after, err := DecodeCursor(q.Cursor)
		if err != nil {
			return store.Page{}, err
		}
		if q.Desc {
			where += " AND sk < ?"
		} else {
			where += " AND sk > ?"
		}
		args = append(args, after)
	}
	// One row more than the page tells whether there is a next page.
	args = append(args, limit+1)
	query := "SELECT pk, sk, data, n, version, expires_at FROM " + Table + " WHERE " + where +
		" ORDER BY sk " + order + " LIMIT ?"

	var page store.Page
	err := s.selectItems(ctx, query, args, func(it store.Item) { page.Items = append(page.Items, it) })
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: query %s: %w", s.d.Name, q.PK, err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = EncodeCursor(page.Items[limit-1].SK)
	}
	return page, nil
}
