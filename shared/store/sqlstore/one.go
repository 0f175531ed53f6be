package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
)

// OneStatement are a dialect's writes of one item as single statements
// that commit by themselves (INSERT … ON CONFLICT … RETURNING, as SQLite
// has it), instead of a transaction that reads the row, decides in Go and
// writes. Each has the live test of the row it meets in SQL, with the
// current unix ms as a parameter; a write whose condition fails changes
// nothing and returns no row.
type OneStatement struct {
	// PutAlways and PutIfAbsent take pk, sk, data, n, expires_at, now and
	// return the new version.
	PutAlways, PutIfAbsent string
	// Incr takes pk, sk, delta, expires_at, now, now, now, now and returns
	// the new n.
	Incr string
}

// LiveRow is the SQL test that the row a statement meets is live, with the
// current unix ms as its one parameter.
const LiveRow = "(expires_at = 0 OR expires_at > ?)"

// writeOne runs a self-committing write statement, again after a conflict
// (another process holds the write lock beyond the busy timeout). scan
// reads the statement's returned row; a statement that returns none (its
// condition failed) is store.ErrConditionFailed. A nil scan executes, and
// a statement that changed no row is store.ErrConditionFailed when
// mustChange.
func (s *Store) writeOne(ctx context.Context, query string, args []any, scan func(*sql.Row) error, mustChange bool) error {
	st, err := s.prepared(ctx, s.write, query)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	for attempt := range writeAttempts {
		if scan != nil {
			err = scan(st.QueryRowContext(ctx, args...))
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrConditionFailed
			}
		} else {
			var res sql.Result
			if res, err = st.ExecContext(ctx, args...); err == nil {
				if n, rerr := res.RowsAffected(); mustChange && rerr == nil && n == 0 {
					return store.ErrConditionFailed
				}
			}
		}
		if err == nil {
			s.wrote(ctx)
			return nil
		}
		if !s.d.Conflict(err) {
			return err
		}
		if werr := clock.Sleep(ctx, retryDelay(attempt, false)); werr != nil {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", writeAttempts, err)
}

// putOne is Put through the dialect's single statements.
func (s *Store) putOne(ctx context.Context, it store.Item, cond store.Cond) (int64, error) {
	now, exp := s.now().UnixMilli(), ExpiryMillis(it.ExpiresAt)
	var version int64
	scanVersion := func(r *sql.Row) error { return r.Scan(&version) }
	var err error
	switch {
	case cond.IsAbsent():
		err = s.writeOne(ctx, s.d.One.PutIfAbsent, []any{it.PK, it.SK, blob(it.Data), it.N, exp, now}, scanVersion, true)
	case cond.IsVersion():
		version = cond.Version() + 1
		err = s.writeOne(ctx, "UPDATE "+Table+" SET data = ?, n = ?, expires_at = ?, version = version + 1"+
			" WHERE pk = ? AND sk = ? AND version = ? AND "+LiveRow,
			[]any{blob(it.Data), it.N, exp, it.PK, it.SK, cond.Version(), now}, nil, true)
	default:
		err = s.writeOne(ctx, s.d.One.PutAlways, []any{it.PK, it.SK, blob(it.Data), it.N, exp, now}, scanVersion, true)
	}
	return version, err
}

// incrOne is Incr through the dialect's single statement.
func (s *Store) incrOne(ctx context.Context, pk, sk string, delta int64, exp int64) (int64, error) {
	now := s.now().UnixMilli()
	var n int64
	err := s.writeOne(ctx, s.d.One.Incr, []any{pk, sk, delta, exp, now, now, now, now}, func(r *sql.Row) error { return r.Scan(&n) }, true)
	return n, err
}

// deleteOne is Delete through a single statement: deleting nothing is no
// failure unless the delete is conditional.
func (s *Store) deleteOne(ctx context.Context, pk, sk string, cond store.Cond) error {
	if !cond.IsVersion() {
		return s.writeOne(ctx, "DELETE FROM "+Table+" WHERE pk = ? AND sk = ?", []any{pk, sk}, nil, false)
	}
	return s.writeOne(ctx, "DELETE FROM "+Table+" WHERE pk = ? AND sk = ? AND version = ? AND "+LiveRow,
		[]any{pk, sk, cond.Version(), s.now().UnixMilli()}, nil, true)
}
