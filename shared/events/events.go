// Package events is Siyu's durable event log: every WeCom customer, group
// and tag event, stored once under a day-partitioned key so that a day's
// rollup reads that day only, and so that retries and replays of the same
// event land on the same key and change nothing.
package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Origins of a record.
const (
	// OriginCallback: delivered by WeCom's callback.
	OriginCallback = "callback"
	// OriginReconciled: found by the nightly sync (WeCom has a relationship the
	// log lacks, or the reverse) and written so it is counted exactly once.
	OriginReconciled = "reconciled"
	// OriginSiyu: Siyu's own action (a welcome sent, a tag applied), which
	// WeCom reports through no callback. Own events never start or end a
	// relationship, so no churn number reads them.
	OriginSiyu = "siyu"
)

// Record is one stored event.
type Record struct {
	wecom.Event
	// Origin is OriginCallback, OriginReconciled or OriginSiyu.
	Origin string `json:"origin"`
	// ReceivedAt is when Siyu stored it (unix ms).
	ReceivedAt int64 `json:"received_at"`
	// Key is the idempotency key (hex), derived from the event's own fields.
	Key string `json:"key"`
}

// Time is the event's creation time.
func (r Record) Time() time.Time { return time.Unix(r.CreateTime, 0) }

// Key builds the idempotency key from the event's own fields — corp, event,
// change type, member, customer or chat, member-change version, create time
// — and never from the envelope's signature or nonce, which differ between
// WeCom's retries. Unknown events are keyed by their raw body.
func Key(e wecom.Event, origin string) string {
	h := sha256.New()
	for _, f := range []string{
		origin, e.ToUserName, e.Event, e.ChangeType, e.UserID, e.ExternalUserID,
		e.ChatID, e.UpdateDetail, e.LastMemVer, e.CurMemVer, e.TagID, e.TagType,
		e.StrategyID, e.Source, e.FailReason, strconv.FormatInt(e.CreateTime, 10),
	} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	if !e.Known {
		h.Write([]byte(e.Raw))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// PK is the partition of a day's events.
func PK(d calendar.Day) string { return "ev#" + d.String() }

// UndatedPK holds events that carry no CreateTime. Such an event has no day
// to be counted in, and its key must come from its content alone: placing
// it by the envelope's timestamp or the time it arrived would store a retry
// that arrives after midnight a second time.
const UndatedPK = "ev#undated"

// Log appends and reads events.
type Log struct {
	Store store.Store
	Loc   *time.Location
	Now   func() time.Time
}

// NewLog returns a log over s, bucketing days in loc, stamping receipt
// times by now (time.Now when nil).
func NewLog(s store.Store, loc *time.Location, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{Store: s, Loc: loc, Now: now}
}

// Append stores e exactly once. It reports whether the event was new; a
// duplicate (same key) returns false and no error.
func (l *Log) Append(ctx context.Context, e wecom.Event, origin string) (Record, bool, error) {
	rec, it, err := l.Item(e, origin)
	if err != nil {
		return rec, false, err
	}
	if _, err := l.Store.Put(ctx, it, store.IfAbsent); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return rec, false, nil
		}
		return rec, false, fmt.Errorf("store event %s/%s: %w", it.PK, it.SK, err)
	}
	return rec, true, nil
}

// Item is the record of e and the item Append stores it as.
func (l *Log) Item(e wecom.Event, origin string) (Record, store.Item, error) {
	rec := Record{Event: e, Origin: origin, ReceivedAt: l.Now().UnixMilli(), Key: Key(e, origin)}
	data, err := json.Marshal(rec)
	if err != nil {
		return rec, store.Item{}, fmt.Errorf("encode event: %w", err)
	}
	if e.CreateTime == 0 {
		return rec, store.Item{PK: UndatedPK, SK: rec.Key, Data: data}, nil
	}
	day := calendar.Of(rec.Time(), l.Loc)
	return rec, store.Item{PK: PK(day), SK: SK(e.CreateTime, rec.Key), Data: data}, nil
}

// SK orders a day's events by time, then key.
func SK(createTime int64, key string) string {
	return fmt.Sprintf("%010d#%s", createTime, key)
}

// Day calls fn for every event of day d in time order, reading the day's
// partition page by page and nothing else.
func (l *Log) Day(ctx context.Context, d calendar.Day, fn func(Record) error) error {
	return l.DayPages(ctx, d, func(recs []Record) error {
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// DayPages is Day a page (up to store.MaxLimit events) at a time, for
// callers that batch their own reads and writes per page. The slice is
// reused between calls.
func (l *Log) DayPages(ctx context.Context, d calendar.Day, fn func([]Record) error) error {
	var recs []Record
	return l.dayItems(ctx, d, func(items []store.Item) error {
		recs = recs[:0]
		for _, it := range items {
			var rec Record
			if err := json.Unmarshal(it.Data, &rec); err != nil {
				return fmt.Errorf("decode event %s/%s: %w", it.PK, it.SK, err)
			}
			if rec.Event.Event != "" {
				rec.Known = rec.Raw == ""
			}
			recs = append(recs, rec)
		}
		return fn(recs)
	})
}

// DayKeys calls fn with the sort keys of day d's events, a page at a time,
// in order, without decoding the events: what a reader needs to tell
// whether a day changed since it last looked. The slice is reused.
func (l *Log) DayKeys(ctx context.Context, d calendar.Day, fn func(sks []string) error) error {
	var sks []string
	return l.dayItems(ctx, d, func(items []store.Item) error {
		sks = sks[:0]
		for _, it := range items {
			sks = append(sks, it.SK)
		}
		return fn(sks)
	})
}

// dayItems reads day d's partition page by page, calling fn with each
// non-empty page.
func (l *Log) dayItems(ctx context.Context, d calendar.Day, fn func([]store.Item) error) error {
	for page, err := range store.Pages(ctx, l.Store, store.Query{PK: PK(d), Limit: store.MaxLimit}) {
		if err != nil {
			return fmt.Errorf("read events of %s: %w", d, err)
		}
		if len(page.Items) > 0 {
			if err := fn(page.Items); err != nil {
				return err
			}
		}
	}
	return nil
}
