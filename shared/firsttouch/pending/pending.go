// Package pending is the first-touch work still to do: a marker per add or
// delete event, written by the callback before the event is appended and
// deleted once the work (welcome, tags, alerts) is done. However the event
// reaches the worker — an in-process queue, an asynchronous invoke, or not
// at all — the every-minute sweep finds what is left by querying this one
// small partition, never the event log.
//
// The callback links this package and nothing that calls WeCom.
//
// Store layout:
//
//	firsttouch#pending  sk <event key>  Work JSON, expires Window after receipt
package pending

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// PK is the partition of pending work.
const PK = "firsttouch#pending"

// Window is how long a marker waits for its work: an event older than
// this is past helping (its welcome code died after 20 s; a tag or alert an
// hour late is left to the operator), and its marker expires.
const Window = time.Hour

// Work is one event whose first-touch work is pending. WelcomeCode is kept
// here because the event log does not keep it (single-use and short-lived).
type Work struct {
	Record      events.Record `json:"record"`
	WelcomeCode string        `json:"welcome_code,omitempty"`
}

// Needs reports whether e is followed by first-touch work: a relationship
// added (welcome, tags) or ended (alerts).
func Needs(e wecom.Event) bool {
	if e.Event != wecom.EventExternalContact || e.UserID == "" || e.ExternalUserID == "" {
		return false
	}
	switch e.ChangeType {
	case wecom.ChangeAddExternalContact, wecom.ChangeAddHalfExternalContact,
		wecom.ChangeDelFollowUser, wecom.ChangeDelExternalContact:
		return true
	}
	return false
}

// Marker writes markers and hands newly stored events on; the callback
// handler takes it as its first-touch hook.
type Marker struct {
	Store store.Store
	// Dispatch, when set, hands a newly stored event to the worker; it
	// must not wait for WeCom. Without it the sweep does the work.
	Dispatch func(ctx context.Context, rec events.Record)
}

// Mark records rec's pending work, when it has any, before rec is appended:
// a crash between the two leaves a marker the sweep handles, never an
// event whose work nobody knows of. A retry of the same event rewrites the
// same marker, and handling it again changes nothing.
func (m Marker) Mark(ctx context.Context, rec events.Record) error {
	if !Needs(rec.Event) {
		return nil
	}
	w := Work{Record: rec, WelcomeCode: rec.WelcomeCode}
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode pending work %s: %w", rec.Key, err)
	}
	exp := time.UnixMilli(rec.ReceivedAt).Add(Window)
	if _, err := m.Store.Put(ctx, store.Item{PK: PK, SK: rec.Key, Data: data, ExpiresAt: exp}, store.Always); err != nil {
		return fmt.Errorf("mark pending work %s: %w", rec.Key, err)
	}
	return nil
}

// Stored hands a newly stored event on to the worker.
func (m Marker) Stored(ctx context.Context, rec events.Record) {
	if m.Dispatch != nil && Needs(rec.Event) {
		m.Dispatch(ctx, rec)
	}
}

// ErrNotFound is answered for work that is done or expired.
var ErrNotFound = errors.New("pending: no such work")

// Get reads the pending work of the event with key.
func Get(ctx context.Context, st store.Store, key string) (Work, error) {
	it, err := st.Get(ctx, PK, key)
	if errors.Is(err, store.ErrNotFound) {
		return Work{}, ErrNotFound
	}
	if err != nil {
		return Work{}, fmt.Errorf("read pending work %s: %w", key, err)
	}
	return decode(it)
}

func decode(it store.Item) (Work, error) {
	var w Work
	if err := json.Unmarshal(it.Data, &w); err != nil {
		return Work{}, fmt.Errorf("decode pending work %s: %w", it.SK, err)
	}
	w.Record.WelcomeCode = w.WelcomeCode
	if w.Record.Event.Event != "" {
		w.Record.Known = w.Record.Raw == ""
	}
	return w, nil
}

// Older returns the pending work received before cutoff, oldest first.
// The partition holds only the last Window's unfinished events, so this is
// one small query.
func Older(ctx context.Context, st store.Store, cutoff time.Time) ([]Work, error) {
	items, err := store.QueryAll(ctx, st, store.Query{PK: PK})
	if err != nil {
		return nil, fmt.Errorf("read pending work: %w", err)
	}
	var out []Work
	for _, it := range items {
		w, err := decode(it)
		if err != nil {
			return nil, err
		}
		if w.Record.ReceivedAt < cutoff.UnixMilli() {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b Work) int { return cmp.Compare(a.Record.ReceivedAt, b.Record.ReceivedAt) })
	return out, nil
}

// Done deletes the marker of the event with key.
func Done(ctx context.Context, st store.Store, key string) error {
	if err := st.Delete(ctx, PK, key, store.Always); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("clear pending work %s: %w", key, err)
	}
	return nil
}
