package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

func deletionPK(member string) string { return "deln#" + member }

// bucketSK is the sort key of the minute bucket holding t.
func bucketSK(t time.Time) string { return fmt.Sprintf("m#%010d", t.Unix()/60*60) }

const skBurst = "burst"

// burst is the member's current burst of crossing deletions (unix seconds
// of its first and last crossing deletion) with its alert's claim.
type burst struct {
	Start int64 `json:"start"`
	Last  int64 `json:"last"`
	Count int   `json:"count"`
	From  int64 `json:"from"` // first deletion the alert's count covers
	claim
}

// deletion counts a member's deletion once and alerts the admins when it
// starts a burst.
func (s *Service) deletion(ctx context.Context, rec events.Record, set channels.DeletionAlert, lang string) error {
	threshold, windowMin := set.Threshold, set.WindowMinutes
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	if windowMin <= 0 {
		windowMin = DefaultWindowMinutes
	}
	window := time.Duration(windowMin) * time.Minute
	t := rec.Time()
	pk := deletionPK(rec.UserID)

	// Count once: the dedupe mark before the Incr. A crash between the two
	// loses one count, never adds one.
	mark := store.Item{PK: "alert#" + rec.Key, SK: "count", ExpiresAt: t.Add(MaxAge + time.Hour)}
	_, err := s.st.Put(ctx, mark, store.IfAbsent)
	switch {
	case err == nil:
		minute := t.Truncate(time.Minute)
		if _, err := s.st.Incr(ctx, pk, bucketSK(t), 1, minute.Add(window+MaxAge)); err != nil {
			return fmt.Errorf("alerts: count deletion of %s: %w", rec.UserID, err)
		}
	case !errors.Is(err, store.ErrConditionFailed):
		return fmt.Errorf("alerts: mark deletion %s: %w", rec.Key, err)
	}

	cross, ok, err := s.firstCrossing(ctx, pk, t, window, threshold)
	if err != nil || !ok {
		return err
	}
	return s.crossed(ctx, rec, pk, cross, window, set.Admins, lang)
}

// firstCrossing finds the first window holding the event's minute in which
// the member deleted more than threshold customers. Every such window ends
// at a minute with deletions in [minute, minute+W), so one query of the
// buckets in (minute−W, minute+W) answers it.
//
// Looking past the event's own minute is what makes concurrent handling
// safe: deletions handled out of order, each counting before the others,
// may each see too few behind them, but the last of a crossing window to
// count sees every one of them, and its minute lies in that window. A
// repeat of a handled event reads the same buckets and reaches the same
// verdict.
func (s *Service) firstCrossing(ctx context.Context, pk string, t time.Time, window time.Duration, threshold int) (burst, bool, error) {
	minute := t.Truncate(time.Minute)
	q := store.Query{PK: pk, From: bucketSK(minute.Add(-window + time.Minute)), To: bucketSK(minute.Add(window - time.Minute)), Limit: store.MaxLimit}
	items, err := store.QueryAll(ctx, s.st, q)
	if err != nil {
		return burst{}, false, fmt.Errorf("alerts: read deletions %s: %w", pk, err)
	}
	// at[i] is the minute of the i-th bucket, sum[i] the deletions before it.
	var at []int64
	sum := []int{0}
	for _, it := range items {
		m, err := strconv.ParseInt(strings.TrimPrefix(it.SK, "m#"), 10, 64)
		if err != nil || it.N <= 0 {
			continue
		}
		at = append(at, m)
		sum = append(sum, sum[len(sum)-1]+int(it.N))
	}
	w := int64(window / time.Second)
	for end := range at {
		if at[end] < minute.Unix() {
			continue
		}
		first := sort.Search(len(at), func(i int) bool { return at[i] > at[end]-w })
		if n := sum[end+1] - sum[first]; n > threshold {
			return burst{Start: at[end], Last: at[end], Count: n, From: at[first]}, true, nil
		}
	}
	return burst{}, false, nil
}

// crossed joins the crossing deletion nb to the member's burst, or starts a
// new burst and sends its alert. Bounded retries on write conflicts with
// concurrent deletions of the same member.
func (s *Service) crossed(ctx context.Context, rec events.Record, pk string, nb burst, window time.Duration, admins []string, lang string) error {
	w := int64(window / time.Second)
	for range 8 {
		var cur burst
		cond := store.IfAbsent
		it, err := s.st.Get(ctx, pk, skBurst)
		switch {
		case err == nil:
			if err := json.Unmarshal(it.Data, &cur); err != nil {
				return fmt.Errorf("alerts: decode burst of %s: %w", rec.UserID, err)
			}
			cond = store.IfVersion(it.Version)
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("alerts: read burst of %s: %w", rec.UserID, err)
		}
		var h held
		switch {
		case err == nil && nb.Last <= cur.Start-w:
			// Older than the stored burst by a window: an earlier burst,
			// long since alerted.
			return nil
		case err == nil && nb.Last < cur.Last+w:
			// The same burst: extend it; send only if its alert waits for
			// a retry.
			next := cur
			next.Start, next.Last = min(cur.Start, nb.Start), max(cur.Last, nb.Last)
			retry := cur.Status == statusRetry
			if retry {
				next.Status, next.Tries, next.At = statusSending, cur.Tries+1, s.now().Unix()
			} else if next == cur {
				return nil
			}
			stored, err := s.putBurst(ctx, pk, next, window, cond)
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
			if err != nil || !retry {
				return err
			}
			h = held{pk: pk, sk: skBurst, version: stored.Version, expires: stored.ExpiresAt, c: next.claim}
			nb = next
		default:
			// A new burst: whoever writes it sends its alert.
			nb.claim = claim{Status: statusSending, Tries: 1, At: s.now().Unix()}
			if len(admins) == 0 {
				nb.Status, nb.Reason = statusSkipped, "no admins in settings.deletion_alert.admins"
			}
			stored, err := s.putBurst(ctx, pk, nb, window, cond)
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
			if err != nil {
				return err
			}
			if nb.Status == statusSkipped {
				s.log.LogAttrs(ctx, slog.LevelWarn, "删人提醒 not sent: no admins named in the settings",
					slog.String("member", rec.UserID), slog.Int("count", nb.Count))
				return nil
			}
			h = held{pk: pk, sk: skBurst, version: stored.Version, expires: stored.ExpiresAt, c: nb.claim}
		}
		msg := wecom.AppMessage{ToUser: admins, MsgType: wecom.AppMsgText, Text: &wecom.Text{
			Content: deletionText(rec.UserID, nb.Count, int(window/time.Minute), time.Unix(nb.From, 0), time.Unix(nb.Start, 0), lang, s.loc)}}
		next, sendErr := s.send(ctx, msg, &h.c)
		if next == "" {
			s.log.LogAttrs(ctx, slog.LevelInfo, "删人提醒 sent", slog.String("member", rec.UserID), slog.Int("count", nb.Count))
			return nil
		}
		nb.claim = h.c
		nb.Status = next
		return s.settleBurst(ctx, pk, nb, window, h.version, sendErr)
	}
	return fmt.Errorf("alerts: burst of %s: too much contention", rec.UserID)
}

func (s *Service) putBurst(ctx context.Context, pk string, b burst, window time.Duration, cond store.Cond) (store.Item, error) {
	data, _ := json.Marshal(b) // strings and ints: cannot fail
	it := store.Item{PK: pk, SK: skBurst, Data: data, ExpiresAt: time.Unix(b.Last, 0).Add(window + MaxAge)}
	stored, err := s.st.Put(ctx, it, cond)
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		err = fmt.Errorf("alerts: store burst %s: %w", pk, err)
	}
	return stored, err
}

// settleBurst records an unsent 删人提醒 on the burst, which concurrent
// deletions may have extended meanwhile (their extension is kept).
func (s *Service) settleBurst(ctx context.Context, pk string, b burst, window time.Duration, version int64, cause error) error {
	for range 8 {
		_, err := s.putBurst(ctx, pk, b, window, store.IfVersion(version))
		if !errors.Is(err, store.ErrConditionFailed) {
			if err != nil {
				s.log.LogAttrs(ctx, slog.LevelError, "删人提醒 outcome not recorded", slog.String("key", pk), slog.String("error", err.Error()))
			}
			break
		}
		it, err := s.st.Get(ctx, pk, skBurst)
		if err != nil {
			break
		}
		var cur burst
		if json.Unmarshal(it.Data, &cur) != nil || cur.At != b.At || cur.Tries != b.Tries {
			break // another claim or burst since: leave it
		}
		cur.claim = b.claim // keep the extension, record the outcome
		b, version = cur, it.Version
	}
	if b.Status == statusRetry {
		return fmt.Errorf("alerts: 删人提醒 for %s not sent, will retry (try %d of %d): %w", pk, b.Tries, MaxTries, cause)
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "删人提醒 not sent", slog.String("key", pk), slog.Int("code", b.Code), slog.String("reason", b.Reason))
	return nil
}
