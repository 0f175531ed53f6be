package dynamostore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/store"
)

var _ store.Batcher = (*Store)(nil)

const (
	// batchGetKeys is the most keys one BatchGetItem request takes.
	batchGetKeys = 100
	// batchGetInFlight bounds the BatchGetItem requests of one GetMany.
	batchGetInFlight = 4
	// queryInFlight bounds the partitions one QueryMany reads at once.
	queryInFlight = 8
	// writeInFlight bounds the keys one WriteMany writes at once.
	writeInFlight = 8
	// unprocessedAttempts bounds the BatchGetItem requests in a row that
	// leave every key they carried unprocessed; a request that gets some of
	// its keys through starts the count again, so the loop always ends.
	unprocessedAttempts = 8
)

// The back-off before retrying unprocessed keys: full jitter over an
// exponentially growing window, capped. Variables so tests can shrink them.
var (
	backoffBase = 25 * time.Millisecond
	backoffMax  = 2 * time.Second
)

// GetMany reads keys with BatchGetItem, up to 100 keys a request and a few
// requests at once, as consistently as Get reads one. Missing, expired and
// repeated keys are handled as Get would: absent from the map, or once.
func (s *Store) GetMany(ctx context.Context, keys []store.Key) (map[store.Key]store.Item, error) {
	seen := make(map[store.Key]bool, len(keys))
	uniq := make([]store.Key, 0, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if k.PK == "" || k.SK == "" {
			return nil, fmt.Errorf("dynamodb: batch get %q/%q: pk and sk must not be empty", k.PK, k.SK)
		}
		// No stored key is invalid UTF-8, so Get finds nothing there.
		if !utf8.ValidString(k.PK) || !utf8.ValidString(k.SK) {
			continue
		}
		uniq = append(uniq, k)
	}
	chunks := (len(uniq) + batchGetKeys - 1) / batchGetKeys
	found := make([][]store.Item, chunks)
	err := parallel(ctx, chunks, batchGetInFlight, func(ctx context.Context, i int) error {
		chunk := uniq[i*batchGetKeys : min((i+1)*batchGetKeys, len(uniq))]
		items, err := s.batchGet(ctx, chunk)
		found[i] = items
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[store.Key]store.Item, len(uniq))
	for _, items := range found {
		for _, it := range items {
			out[store.Key{PK: it.PK, SK: it.SK}] = it
		}
	}
	return out, nil
}

// batchGet reads up to 100 distinct keys, retrying the ones DynamoDB leaves
// unprocessed (throttling, or more than 16 MB in one answer), and returns
// the live items among them.
func (s *Store) batchGet(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	pending := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		pending[i] = key(k.PK, k.SK)
	}
	var items []store.Item
	for stalled := 0; ; {
		out, err := s.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems: map[string]types.KeysAndAttributes{
				s.table: {Keys: pending, ConsistentRead: aws.Bool(s.ConsistentRead)},
			},
		})
		if err != nil {
			return nil, fmt.Errorf("dynamodb: batch get of %d keys: %w", len(pending), err)
		}
		now := time.UnixMilli(s.nowMs())
		for _, m := range out.Responses[s.table] {
			it, err := decode(m)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: batch get: %w", err)
			}
			if it.Live(now) {
				items = append(items, it)
			}
		}
		left := out.UnprocessedKeys[s.table].Keys
		if len(left) == 0 {
			return items, nil
		}
		if len(left) < len(pending) {
			stalled = 0
		} else {
			stalled++
		}
		if stalled >= unprocessedAttempts {
			return nil, fmt.Errorf("dynamodb: batch get: %d keys still unprocessed after %d attempts without progress", len(left), stalled)
		}
		if err := clock.Sleep(ctx, backoff(stalled)); err != nil {
			return nil, fmt.Errorf("dynamodb: batch get: waiting to retry %d unprocessed keys: %w", len(left), err)
		}
		pending = left
	}
}

// backoff is a random wait in [0, min(backoffMax, backoffBase·2^attempt)).
func backoff(attempt int) time.Duration {
	window := backoffMax
	if attempt < 30 {
		window = min(backoffMax, backoffBase<<attempt)
	}
	if window <= 0 {
		return 0
	}
	return rand.N(window)
}

// QueryMany reads each distinct partition whole with Query, a few
// partitions at once.
func (s *Store) QueryMany(ctx context.Context, pks []string) (map[string][]store.Item, error) {
	seen := make(map[string]bool, len(pks))
	uniq := make([]string, 0, len(pks))
	for _, pk := range pks {
		if !seen[pk] {
			seen[pk] = true
			uniq = append(uniq, pk)
		}
	}
	found := make([][]store.Item, len(uniq))
	err := parallel(ctx, len(uniq), queryInFlight, func(ctx context.Context, i int) error {
		items, err := store.QueryAll(ctx, s, store.Query{PK: uniq[i], Limit: store.MaxLimit})
		if err != nil {
			return fmt.Errorf("dynamodb: batch query %s: %w", uniq[i], err)
		}
		found[i] = items
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]store.Item, len(uniq))
	for i, items := range found {
		if len(items) > 0 {
			out[uniq[i]] = items
		}
	}
	return out, nil
}

// WriteMany applies writes with Put and Delete (Always), the only way to
// bump each item's version as Put does; BatchWriteItem cannot. Writes to
// different keys run a few at once, writes to one key one after another in
// their order, so the last write of a key wins. Every key is checked first,
// so a bad key writes nothing; after that, the first failure stops the rest
// and earlier writes stay.
func (s *Store) WriteMany(ctx context.Context, writes []store.Write) error {
	byKey := make(map[store.Key]int, len(writes))
	var groups [][]store.Write
	for _, w := range writes {
		if err := checkKey(w.Item.PK, w.Item.SK); err != nil {
			return fmt.Errorf("dynamodb: batch write %q/%q: %w", w.Item.PK, w.Item.SK, err)
		}
		k := store.Key{PK: w.Item.PK, SK: w.Item.SK}
		g, ok := byKey[k]
		if !ok {
			g = len(groups)
			byKey[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], w)
	}
	return parallel(ctx, len(groups), writeInFlight, func(ctx context.Context, i int) error {
		for _, w := range groups[i] {
			var err error
			if w.Delete {
				err = s.Delete(ctx, w.Item.PK, w.Item.SK, store.Always)
			} else {
				_, err = s.Put(ctx, w.Item, store.Always)
			}
			if err != nil {
				return fmt.Errorf("dynamodb: batch write %s/%s: %w", w.Item.PK, w.Item.SK, err)
			}
		}
		return nil
	})
}

// parallel calls fn(ctx, i) for every i in [0, n), at most limit at once.
// The first error cancels the calls still running, stops new ones and is
// returned; so is ctx's error when ctx ends before every call has started.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() {
			firstErr = err
			cancel(err)
		})
	}
	for range min(n, limit) {
		wg.Go(func() {
			for {
				if ctx.Err() != nil {
					fail(context.Cause(ctx))
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
