package posts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// The poster's tick: the due buckets from the cursor to now, each due post sent.

// TickResult counts what one tick did.
type TickResult struct {
	// Created counts WeCom tasks created (add_moment_task, add_msg_template).
	Created int `json:"created"`
	// Sent counts posts that reached sent.
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
	// Deferred posts stay scheduled for a later tick (rate limit, -1, 45009).
	Deferred int `json:"deferred"`
	// Contended posts were claimed by another tick first.
	Contended int `json:"contended"`
	// Unknown attempts lost their answer; they are resolved later.
	Unknown int `json:"unknown"`
	// Resolved attempts were found (or not) in WeCom's lists.
	Resolved int `json:"resolved"`
	Late     int `json:"late"`
	Buckets  int `json:"buckets"`
}

// Job is the poster job ("poster" timer, POST /api/jobs/poster). It sends
// what is due now; a date or range would be silently ignored, so it is a
// bad request.
func (s *Service) Job(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	if req.Date != "" || req.From != "" || req.To != "" {
		return nil, &jobs.BadRequestError{Msg: "the poster sends what is due now and takes no date or from/to"}
	}
	r, err := s.Tick(ctx)
	if err != nil {
		return nil, err
	}
	return jobs.Result{"created": r.Created, "sent": r.Sent, "failed": r.Failed, "deferred": r.Deferred,
		"contended": r.Contended, "unknown": r.Unknown, "resolved": r.Resolved, "late": r.Late}, nil
}

// Tick sends due posts and follows pending ones. It reads the pending
// partition and the due buckets from the cursor to now, never history.
func (s *Service) Tick(ctx context.Context) (TickResult, error) {
	var res TickResult
	if s.WeCom == nil {
		return res, errors.New("poster: WeCom is not configured (WECOM_CORP_ID, WECOM_SECRET)")
	}
	now := s.Now()
	if err := s.followPending(ctx, now, &res); err != nil {
		return res, err
	}
	start, err := s.cursor(ctx, now)
	if err != nil {
		return res, err
	}
	momentsOK := true
	for h := start; !h.After(now); h = h.Add(time.Hour) {
		res.Buckets++
		q := store.Query{PK: pkDue(h), To: skUntil(now), Limit: store.MaxLimit}
		for page, err := range store.Pages(ctx, s.Store, q) {
			if err != nil {
				return res, fmt.Errorf("poster: read due bucket %s: %w", q.PK, err)
			}
			for _, it := range page.Items {
				if err := s.sendDue(ctx, it, now, &momentsOK, &res); err != nil {
					return res, err
				}
			}
		}
	}
	if cur := now.UTC().Truncate(time.Hour); !cur.Equal(start) {
		_, err := s.Store.Put(ctx, store.Item{PK: pkPoster, SK: skCursor, Data: []byte(cur.Format(hourLayout))}, store.Always)
		if err != nil {
			return res, fmt.Errorf("poster: advance cursor: %w", err)
		}
	}
	return res, nil
}

// cursor is the first due bucket to read: where the last tick ended, but
// never further back than MaxCatchUp.
func (s *Service) cursor(ctx context.Context, now time.Time) (time.Time, error) {
	floor := now.Add(-s.MaxCatchUp).UTC().Truncate(time.Hour)
	it, err := s.Store.Get(ctx, pkPoster, skCursor)
	if errors.Is(err, store.ErrNotFound) {
		return floor, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("poster: read cursor: %w", err)
	}
	t, err := time.Parse(hourLayout, string(it.Data))
	if err != nil || t.Before(floor) {
		return floor, nil
	}
	if cur := now.UTC().Truncate(time.Hour); t.After(cur) {
		return cur, nil
	}
	return t, nil
}

// sendDue handles one due entry.
func (s *Service) sendDue(ctx context.Context, it store.Item, now time.Time, momentsOK *bool, res *TickResult) error {
	id := string(it.Data)
	p, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return s.Store.Delete(ctx, it.PK, it.SK, store.Always)
	}
	if err != nil {
		return fmt.Errorf("poster: %w", err)
	}
	if p.Status != Scheduled {
		// Claimed (the pending partition follows it) or finished.
		if p.Status.Terminal() || p.JobID != "" {
			return s.Store.Delete(ctx, it.PK, it.SK, store.Always)
		}
		if p.Status == Sending {
			// The claim and its pending mark are two writes: a tick that
			// died between them left a post no pending pass would ever
			// follow. Marking it again is harmless (the same item).
			if _, err := s.Store.Put(ctx, store.Item{PK: pkPending, SK: p.ID, Data: []byte(p.ID)}, store.Always); err != nil {
				return fmt.Errorf("poster: mark post %s pending: %w", p.ID, err)
			}
		}
		return nil
	}
	if p.Kind == Moment {
		ok, err := s.momentSlot(ctx, now, momentsOK)
		if err != nil {
			return err
		}
		if !ok {
			res.Deferred++
			return s.rebucket(ctx, it, p, now)
		}
	}
	return s.send(ctx, p, it, now, res)
}

// momentSlot takes one add_moment_task call of this clock minute from the
// shared counter; once refused, the rest of the tick sends no Moments.
func (s *Service) momentSlot(ctx context.Context, now time.Time, ok *bool) (bool, error) {
	if !*ok || s.MomentsPerMinute <= 0 {
		return *ok, nil
	}
	minute := now.Unix() / 60
	n, err := s.Store.Incr(ctx, pkRate, fmt.Sprintf("add_moment_task#%d", minute), 1, time.Unix((minute+2)*60, 0))
	if err != nil {
		return false, fmt.Errorf("poster: count add_moment_task: %w", err)
	}
	if n > int64(s.MomentsPerMinute) {
		*ok = false
	}
	return *ok, nil
}

// rebucket moves a due entry read from an older bucket into the current
// one, so the cursor can move on without losing it.
func (s *Service) rebucket(ctx context.Context, it store.Item, p Post, now time.Time) error {
	if it.PK == pkDue(now) {
		return nil
	}
	if err := s.putDue(ctx, p, now); err != nil {
		return err
	}
	return s.Store.Delete(ctx, it.PK, it.SK, store.Always)
}
