package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// MemStore is a small in-memory store.Store for unit tests: conditional
// writes, ordered and paged queries, expiry at read time against a clock
// the test controls. It passes Run like the real adapters (memstore_test.go),
// which is what makes it a fair stand-in where a database is not the point.
type MemStore struct {
	mu    sync.Mutex
	parts map[string]map[string]store.Item
	now   func() time.Time
}

// NewMemStore returns an empty store reading now for expiry (time.Now when nil).
func NewMemStore(now func() time.Time) *MemStore {
	if now == nil {
		now = time.Now
	}
	return &MemStore{parts: map[string]map[string]store.Item{}, now: now}
}

var _ store.Store = (*MemStore)(nil)

func (m *MemStore) live(pk, sk string) (store.Item, bool) {
	it, ok := m.parts[pk][sk]
	if !ok || !it.Live(m.now()) {
		return store.Item{}, false
	}
	return it, true
}

func (m *MemStore) Get(_ context.Context, pk, sk string) (store.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.live(pk, sk)
	if !ok {
		return store.Item{}, store.ErrNotFound
	}
	it.Data = append([]byte(nil), it.Data...)
	return it, nil
}

func (m *MemStore) check(pk, sk string, cond store.Cond) (store.Item, error) {
	cur, ok := m.live(pk, sk)
	switch {
	case cond.IsAbsent() && ok:
		return cur, store.ErrConditionFailed
	case cond.IsVersion() && (!ok || cur.Version != cond.Version()):
		return cur, store.ErrConditionFailed
	}
	return cur, nil
}

func (m *MemStore) Put(_ context.Context, it store.Item, cond store.Cond) (store.Item, error) {
	if err := store.CheckKey(it.PK, it.SK); err != nil {
		return store.Item{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.check(it.PK, it.SK, cond)
	if err != nil {
		return store.Item{}, err
	}
	it.Version = cur.Version + 1
	it.Data = append([]byte(nil), it.Data...)
	if m.parts[it.PK] == nil {
		m.parts[it.PK] = map[string]store.Item{}
	}
	m.parts[it.PK][it.SK] = it
	return it, nil
}

func (m *MemStore) Incr(_ context.Context, pk, sk string, delta int64, expiresAt time.Time) (int64, error) {
	if err := store.CheckKey(pk, sk); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.live(pk, sk)
	if !ok {
		cur = store.Item{PK: pk, SK: sk}
	}
	cur.N += delta
	cur.Version++
	if !expiresAt.IsZero() {
		cur.ExpiresAt = expiresAt
	}
	if m.parts[pk] == nil {
		m.parts[pk] = map[string]store.Item{}
	}
	m.parts[pk][sk] = cur
	return cur.N, nil
}

func (m *MemStore) Delete(_ context.Context, pk, sk string, cond store.Cond) error {
	if err := store.CheckKey(pk, sk); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.check(pk, sk, cond); err != nil {
		return err
	}
	delete(m.parts[pk], sk)
	return nil
}

func (m *MemStore) Query(_ context.Context, q store.Query) (store.Page, error) {
	if err := q.Validate(); err != nil {
		return store.Page{}, err
	}
	after := ""
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || len(b) == 0 {
			return store.Page{}, errors.New("memstore: bad cursor")
		}
		after = string(b)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for sk := range m.parts[q.PK] {
		switch {
		case q.Prefix != "" && !strings.HasPrefix(sk, q.Prefix):
		case q.From != "" && sk < q.From:
		case q.To != "" && sk > q.To:
		case after != "" && !q.Desc && sk <= after:
		case after != "" && q.Desc && sk >= after:
		default:
			keys = append(keys, sk)
		}
	}
	sort.Strings(keys)
	if q.Desc {
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	var page store.Page
	n := q.PageSize()
	if len(keys) > n {
		keys = keys[:n]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(keys[n-1]))
	}
	for _, k := range keys {
		if it, ok := m.live(q.PK, k); ok {
			it.Data = append([]byte(nil), it.Data...)
			page.Items = append(page.Items, it)
		}
	}
	return page, nil
}

func (m *MemStore) Close() error { return nil }

// Dump returns every item's data by "pk|sk", to compare whole stored states.
func (m *MemStore) Dump(prefix string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for pk, part := range m.parts {
		if !strings.HasPrefix(pk, prefix) {
			continue
		}
		for sk, it := range part {
			out[pk+"|"+sk] = string(it.Data)
		}
	}
	return out
}
