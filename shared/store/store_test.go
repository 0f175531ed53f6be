package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
)

func TestOpen(t *testing.T) {
	store.Register("storetest-fake", func(ctx context.Context, arg string, _ ...store.Option) (store.Store, error) {
		if arg != "x" {
			t.Errorf("opener got %q, want the part after the colon", arg)
		}
		return nil, nil
	})
	tests := []struct {
		name    string
		spec    string
		wantErr string
	}{
		{"a registered scheme opens with its argument", "storetest-fake:x", ""},
		{"a spec without a colon is refused", "sqlite", "must look like scheme:argument"},
		{"a spec without an argument is refused", "sqlite:", "must look like scheme:argument"},
		{"an unlinked scheme names the linked ones", "nosuch:arg", "storetest-fake"},
		{"a DSN password never shows in the error", "mysql-nope:user:secret@tcp(h:3306)/db:", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(t.Context(), tc.spec)
			switch {
			case tc.wantErr == "" && strings.HasPrefix(tc.spec, "storetest-fake"):
				if err != nil {
					t.Fatal(err)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func TestQueryPageSize(t *testing.T) {
	tests := []struct {
		limit, want int
	}{{0, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit}, {store.MaxLimit + 1, store.MaxLimit}}
	for _, tc := range tests {
		if got := (store.Query{Limit: tc.limit}).PageSize(); got != tc.want {
			t.Errorf("PageSize(limit %d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}

func TestItemLive(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		exp  time.Time
		want bool
	}{
		{"an item without expiry is live", time.Time{}, true},
		{"an item expiring later is live", now.Add(time.Millisecond), true},
		{"an item expiring now is gone", now, false},
		{"an item that expired is gone", now.Add(-time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (store.Item{ExpiresAt: tc.exp}).Live(now); got != tc.want {
				t.Fatalf("Live = %v, want %v", got, tc.want)
			}
		})
	}
}

// failingQuery answers the first ok queries of the store it wraps, then fails.
type failingQuery struct {
	store.Store
	ok    int
	calls int
}

var errQueryFailed = errors.New("query failed")

func (f *failingQuery) Query(ctx context.Context, q store.Query) (store.Page, error) {
	f.calls++
	if f.calls > f.ok {
		return store.Page{}, errQueryFailed
	}
	return f.Store.Query(ctx, q)
}

func TestPages(t *testing.T) {
	mem := storetest.NewMemStore(time.Now)
	for _, sk := range []string{"a", "b", "c", "d", "e"} {
		if _, err := mem.Put(t.Context(), store.Item{PK: "p", SK: sk}, store.Always); err != nil {
			t.Fatal(err)
		}
	}
	q := store.Query{PK: "p", Limit: 2}

	t.Run("every item comes once, in order, a page at a time", func(t *testing.T) {
		var got []string
		pages := 0
		for page, err := range store.Pages(t.Context(), mem, q) {
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range page.Items {
				got = append(got, it.SK)
			}
		}
		if strings.Join(got, "") != "abcde" || pages != 3 {
			t.Fatalf("read %q in %d pages, want abcde in 3", got, pages)
		}
	})
	t.Run("stopping early reads no further page", func(t *testing.T) {
		f := &failingQuery{Store: mem, ok: 1}
		for _, err := range store.Pages(t.Context(), f, q) {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if f.calls != 1 {
			t.Fatalf("%d queries, want 1", f.calls)
		}
	})
	t.Run("a failed read is the last thing yielded", func(t *testing.T) {
		f := &failingQuery{Store: mem, ok: 1}
		var errs []error
		for _, err := range store.Pages(t.Context(), f, q) {
			errs = append(errs, err)
		}
		if len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], errQueryFailed) {
			t.Fatalf("yielded errors %v, want nil then the failure", errs)
		}
		if _, err := store.QueryAll(t.Context(), &failingQuery{Store: mem, ok: 1}, q); !errors.Is(err, errQueryFailed) {
			t.Fatalf("QueryAll err = %v, want the failure", err)
		}
	})
}
