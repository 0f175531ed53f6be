package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
)

var _ store.Batcher = (*Store)(nil)

const (
	// batchKeys is the most keys or partitions one SELECT asks for. Smaller
	// batches are padded to a power of two (repeating a key changes nothing),
	// so a handful of statement shapes are prepared and cached.
	batchKeys = 128
	// batchWrites is the most writes one transaction carries: big enough that
	// a page of a rollup commits once, small enough that a MySQL transaction
	// holds its row locks briefly.
	batchWrites = 1000
)

// padded is the statement size for n keys: the next power of two, at most
// batchKeys.
func padded(n int) int {
	size := 1
	for size < n {
		size *= 2
	}
	return min(size, batchKeys)
}

func dedupe[T comparable](in []T) []T {
	seen := make(map[T]struct{}, len(in))
	out := make([]T, 0, len(in))
	for _, v := range in {
		if _, ok := seen[v]; !ok {
			seen[v] = struct{}{}
			out = append(out, v)
		}
	}
	return out
}

// GetMany reads keys batchKeys at a time from the primary key: the keys of
// a partition with several asked for as "pk = ? AND sk IN (...)", the rest
// as OR-ed (pk, sk) lookups.
func (s *Store) GetMany(ctx context.Context, keys []store.Key) (map[store.Key]store.Item, error) {
	keys = dedupe(keys)
	out := make(map[store.Key]store.Item, len(keys))
	collect := func(it store.Item) { out[store.Key{PK: it.PK, SK: it.SK}] = it }
	bySK := map[string][]string{}
	var pks []string
	for _, k := range keys {
		if _, ok := bySK[k.PK]; !ok {
			pks = append(pks, k.PK)
		}
		bySK[k.PK] = append(bySK[k.PK], k.SK)
	}
	var single []store.Key
	for _, pk := range pks {
		sks := bySK[pk]
		if len(sks) == 1 {
			single = append(single, store.Key{PK: pk, SK: sks[0]})
			continue
		}
		for len(sks) > 0 {
			chunk := sks[:min(len(sks), batchKeys)]
			sks = sks[len(chunk):]
			size := padded(len(chunk))
			query := "SELECT pk, sk, data, n, version, expires_at FROM " + Table +
				" WHERE pk = ? AND sk IN (" + strings.Repeat("?, ", size-1) + "?)"
			args := make([]any, 0, size+1)
			args = append(args, pk)
			for i := range size {
				args = append(args, chunk[min(i, len(chunk)-1)])
			}
			if err := s.selectItems(ctx, query, args, collect); err != nil {
				return nil, fmt.Errorf("%s: get %d keys of %s: %w", s.d.Name, len(chunk), pk, err)
			}
		}
	}
	for len(single) > 0 {
		chunk := single[:min(len(single), batchKeys)]
		single = single[len(chunk):]
		size := padded(len(chunk))
		query := "SELECT pk, sk, data, n, version, expires_at FROM " + Table + " WHERE " +
			strings.Repeat("(pk = ? AND sk = ?) OR ", size-1) + "(pk = ? AND sk = ?)"
		args := make([]any, 0, 2*size)
		for i := range size {
			k := chunk[min(i, len(chunk)-1)]
			args = append(args, k.PK, k.SK)
		}
		if err := s.selectItems(ctx, query, args, collect); err != nil {
			return nil, fmt.Errorf("%s: get %d keys: %w", s.d.Name, len(chunk), err)
		}
	}
	return out, nil
}

// QueryMany reads whole partitions batchKeys at a time, in (pk, sk) order
// straight off the primary key.
func (s *Store) QueryMany(ctx context.Context, pks []string) (map[string][]store.Item, error) {
	pks = dedupe(pks)
	out := make(map[string][]store.Item, len(pks))
	for len(pks) > 0 {
		chunk := pks[:min(len(pks), batchKeys)]
		pks = pks[len(chunk):]
		size := padded(len(chunk))
		query := "SELECT pk, sk, data, n, version, expires_at FROM " + Table + " WHERE pk IN (" +
			strings.Repeat("?, ", size-1) + "?) AND (expires_at = 0 OR expires_at > ?) ORDER BY pk, sk"
		args := make([]any, 0, size+1)
		for i := range size {
			args = append(args, chunk[min(i, len(chunk)-1)])
		}
		args = append(args, s.now().UnixMilli())
		if err := s.selectItems(ctx, query, args, func(it store.Item) {
			out[it.PK] = append(out[it.PK], it)
		}); err != nil {
			return nil, fmt.Errorf("%s: query %d partitions: %w", s.d.Name, len(chunk), err)
		}
	}
	return out, nil
}

// selectItems runs a SELECT of whole rows on the read pool and passes every
// live row to fn.
func (s *Store) selectItems(ctx context.Context, query string, args []any, fn func(store.Item)) error {
	var items []store.Item
	err := s.readRetry(ctx, func() error {
		items = items[:0]
		st, err := s.prepared(ctx, s.read, query)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		nowMs := s.now().UnixMilli()
		for rows.Next() {
			var it store.Item
			var exp int64
			if err := rows.Scan(&it.PK, &it.SK, &it.Data, &it.N, &it.Version, &exp); err != nil {
				return err
			}
			if !live(exp, nowMs) {
				continue
			}
			it.Data = nilIfEmpty(it.Data)
			it.ExpiresAt = ExpiryTime(exp)
			items = append(items, it)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, it := range items {
		fn(it)
	}
	return nil
}

// WriteMany applies writes in transactions of up to batchWrites, each write
// exactly as Put or Delete with Always would (same versions, same expiry
// rules). A conflict or a lost connection runs the transaction again; a
// batch is atomic per transaction, not as a whole.
func (s *Store) WriteMany(ctx context.Context, writes []store.Write) error {
	for len(writes) > 0 {
		chunk := writes[:min(len(writes), batchWrites)]
		writes = writes[len(chunk):]
		if err := s.writeChunk(ctx, chunk); err != nil {
			return fmt.Errorf("%s: write %d items: %w", s.d.Name, len(chunk), err)
		}
	}
	return nil
}

func (s *Store) writeChunk(ctx context.Context, writes []store.Write) error {
	var err error
	for attempt := range writeAttempts {
		if err = s.tryWriteChunk(ctx, writes); err == nil {
			return nil
		}
		var atCommit errAtCommit
		lost := s.d.ConnLost(err) && !errors.As(err, &atCommit)
		if !lost && !s.d.Conflict(err) {
			return err
		}
		if werr := clock.Sleep(ctx, retryDelay(attempt, lost)); werr != nil {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", writeAttempts, err)
}

func (s *Store) tryWriteChunk(ctx context.Context, writes []store.Write) error {
	ws, err := s.writeStatements(ctx)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	// Prepared before the transaction starts: the write pool may have a
	// single connection, which the transaction then holds.
	var upserts upsertStmts
	if s.d.Upsert != "" {
		for size := 1; size <= upsertRows; size *= 2 {
			query := "INSERT INTO " + Table + " (pk, sk, data, n, version, expires_at) VALUES " +
				strings.Repeat("(?, ?, ?, ?, 1, ?), ", size-1) + "(?, ?, ?, ?, 1, ?)" + s.d.Upsert
			if upserts[bits.Len(uint(size))-1], err = s.prepared(ctx, s.write, query); err != nil {
				return fmt.Errorf("prepare upsert: %w", err)
			}
		}
	}
	tx, err := s.write.BeginTx(ctx, s.d.TxOptions)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if s.d.Upsert == "" {
		for _, w := range writes {
			decide := deleteDecision
			if !w.Delete {
				decide = putDecision(w.Item, store.Always)
			}
			if _, err := s.applyInTx(ctx, tx, ws, w.Item.PK, w.Item.SK, decide); err != nil {
				return fmt.Errorf("%s/%s: %w", w.Item.PK, w.Item.SK, err)
			}
		}
	} else {
		// Runs of puts go as multi-row upserts; a delete ends a run, so a
		// later write of the same key still lands after an earlier one.
		nowMs := s.now().UnixMilli()
		run := 0
		for i, w := range writes {
			if !w.Delete {
				run++
				if i < len(writes)-1 {
					continue
				}
			}
			end := i
			if !w.Delete {
				end = i + 1
			}
			if err := upserts.write(ctx, tx, writes[end-run:end], nowMs); err != nil {
				return err
			}
			run = 0
			if w.Delete {
				if _, err := tx.StmtContext(ctx, ws.del).ExecContext(ctx, w.Item.PK, w.Item.SK); err != nil {
					return fmt.Errorf("%s/%s: delete: %w", w.Item.PK, w.Item.SK, err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return errAtCommit{err}
	}
	s.wrote(ctx)
	return nil
}

// upsertRows is the most rows one upsert statement carries (6 placeholders
// a row).
const upsertRows = 64

// upsertStmts holds the upsert of 1, 2, 4, ... upsertRows rows (index =
// log2 of the row count).
type upsertStmts [7]*sql.Stmt

// write stores puts with the dialect's multi-row upsert, in statements of
// upsertRows, upsertRows/2, ... rows.
func (u *upsertStmts) write(ctx context.Context, tx *sql.Tx, puts []store.Write, nowMs int64) error {
	for len(puts) > 0 {
		size := upsertRows
		for size > len(puts) {
			size /= 2
		}
		chunk := puts[:size]
		puts = puts[size:]
		args := make([]any, 0, 5*size+1)
		for _, w := range chunk {
			it := w.Item
			args = append(args, it.PK, it.SK, blob(it.Data), it.N, ExpiryMillis(it.ExpiresAt))
		}
		args = append(args, nowMs)
		if _, err := tx.StmtContext(ctx, u[bits.Len(uint(size))-1]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("upsert %d rows from %s/%s: %w", size, chunk[0].Item.PK, chunk[0].Item.SK, err)
		}
	}
	return nil
}
