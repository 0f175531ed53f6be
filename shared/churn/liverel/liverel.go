// Package liverel is the index of live relationships the churn rollup
// keeps: one row per member–customer pair Siyu believes live, with the
// channel and start of the relationship (for a relationship older than
// Siyu, the baseline's channel and WeCom's follow createtime). The rollup
// writes it; readers outside the rollup (the churn alert, in the callback
// function) read a row here without linking the rollup.
//
//	rel#live   sk <customer>#<member>   Row JSON
package liverel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/siyuhq/siyu/shared/store"
)

// PK is the partition of the index.
const PK = "rel#live"

// SK is the sort key of the pair's row.
func SK(customer, member string) string { return customer + "#" + member }

// Row is one live relationship.
type Row struct {
	Member   string `json:"m"`
	Customer string `json:"c"`
	// Channel is the State of the add.
	Channel string `json:"ch,omitempty"`
	// Since is when the relationship started (unix seconds).
	Since int64 `json:"since"`
}

// Encode is the row's stored form.
func (r Row) Encode() []byte {
	data, _ := json.Marshal(r) // strings and ints only: cannot fail
	return data
}

// Get reads the row of member and customer; ok is false when the index has
// none. It is the index as the rollup last folded it: a relationship added
// since is absent, one ended since is still there.
func Get(ctx context.Context, s store.Store, member, customer string) (r Row, ok bool, err error) {
	it, err := s.Get(ctx, PK, SK(customer, member))
	if errors.Is(err, store.ErrNotFound) {
		return Row{}, false, nil
	}
	if err != nil {
		return Row{}, false, fmt.Errorf("read live relationship %s/%s: %w", member, customer, err)
	}
	if err := json.Unmarshal(it.Data, &r); err != nil {
		return Row{}, false, fmt.Errorf("decode live relationship %s: %w", it.SK, err)
	}
	return r, true, nil
}
