package churn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
)

// What a finished run saw of a day's events, so the next run can tell it unchanged.

// applied is stored at rel#meta/applied#<day> when a run of the day has
// finished: what the day's event partition held when the run started.
type applied struct {
	Events int64  `json:"events"`
	Digest string `json:"digest"`
	// Format is factFormat of the code that ran.
	Format int `json:"format"`
}

// factFormat changes whenever the bytes of a fact or a live row derived
// from the same event change, so that a new version re-applies every day.
// 2: facts in the compact encoding (factV2) instead of JSON.
const factFormat = 2

func appliedSK(d calendar.Day) string { return "applied#" + d.String() }

// digest names a day's events: their number and a hash of their sort keys
// in order.
type digest struct {
	h hash.Hash
	n int64
}

func (d *digest) add(sk string) {
	if d.h == nil {
		d.h = sha256.New()
	}
	d.h.Write([]byte(sk))
	d.h.Write([]byte{'\n'})
	d.n++
}

func (d *digest) applied() applied {
	if d.h == nil {
		d.h = sha256.New()
	}
	return applied{Events: d.n, Digest: hex.EncodeToString(d.h.Sum(nil)), Format: factFormat}
}

// markApplied records what the finished run of d saw.
func (r *Rollup) markApplied(ctx context.Context, d calendar.Day, seen applied) error {
	data, err := json.Marshal(seen)
	if err != nil {
		return err
	}
	if cur, err := r.Store.Get(ctx, pkMeta, appliedSK(d)); err == nil && bytes.Equal(cur.Data, data) {
		return nil
	}
	if _, err := r.Store.Put(ctx, store.Item{PK: pkMeta, SK: appliedSK(d), Data: data}, store.Always); err != nil {
		return fmt.Errorf("record the run of %s: %w", d, err)
	}
	return nil
}
