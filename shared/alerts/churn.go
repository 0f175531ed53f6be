package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn/liverel"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

const pkAdded = "rel#added"

// added is the rel#added item: when the pair's latest add happened and
// through which state, and the add before it (a customer who deleted the
// member and came back), so a deletion handled after the re-add still
// finds the relationship it ended.
type added struct {
	Since     int64  `json:"since"`
	State     string `json:"state,omitempty"`
	PrevSince int64  `json:"prev_since,omitempty"`
	PrevState string `json:"prev_state,omitempty"`
}

// before returns the add of the relationship live just before t.
func (a added) before(t int64) (since int64, state string, ok bool) {
	switch {
	case a.Since <= t:
		return a.Since, a.State, true
	case a.PrevSince > 0 && a.PrevSince <= t:
		return a.PrevSince, a.PrevState, true
	}
	return 0, "", false
}

func addedSK(member, customer string) string { return customer + "#" + member }

// recordAdd writes the pair's add time and state: one conditional write for
// a first add. A repeat of the same add finds the item and stops after one
// read; a later re-add (the customer came back) replaces an older one.
func (s *Service) recordAdd(ctx context.Context, rec events.Record) error {
	if rec.UserID == "" || rec.ExternalUserID == "" {
		return nil
	}
	a := added{Since: rec.CreateTime, State: rec.State}
	data, _ := json.Marshal(a)
	it := store.Item{PK: pkAdded, SK: addedSK(rec.UserID, rec.ExternalUserID), Data: data}
	_, err := s.st.Put(ctx, it, store.IfAbsent)
	if !errors.Is(err, store.ErrConditionFailed) {
		if err != nil {
			return fmt.Errorf("alerts: record add %s: %w", it.SK, err)
		}
		return nil
	}
	// Bounded: each round either stops or loses to a newer write.
	for range 5 {
		cur, err := s.st.Get(ctx, it.PK, it.SK)
		if errors.Is(err, store.ErrNotFound) {
			_, err = s.st.Put(ctx, it, store.IfAbsent)
		} else if err == nil {
			var prev added
			if json.Unmarshal(cur.Data, &prev) == nil && prev.Since >= rec.CreateTime {
				return nil // this add, or a later one, is recorded
			}
			next := a
			next.PrevSince, next.PrevState = prev.Since, prev.State
			it.Data, _ = json.Marshal(next)
			_, err = s.st.Put(ctx, it, store.IfVersion(cur.Version))
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			if err != nil {
				return fmt.Errorf("alerts: record add %s: %w", it.SK, err)
			}
			return nil
		}
	}
	return fmt.Errorf("alerts: record add %s: too much contention", it.SK)
}

// churnFacts are what a churn alert tells.
type churnFacts struct {
	Member   string
	Customer string // name, else external id
	Remark   string
	Since    time.Time // zero when unknown
	Channel  string    // name, else state; "" when unknown
	Deleted  time.Time
}

// churnAlert claims the alert of a del_follow_user and sends it.
func (s *Service) churnAlert(ctx context.Context, rec events.Record, lang string) error {
	pk, sk := "alert#"+rec.Key, "churn"
	h, ok, err := s.claim(ctx, pk, sk, rec.Time().Add(MaxAge+time.Hour))
	if err != nil || !ok {
		return err
	}
	facts, err := s.churnFacts(ctx, rec)
	if err != nil {
		// Not sent: let the next Handle try again.
		h.c.Reason = err.Error()
		return s.settle(ctx, h, h.c.again(), err)
	}
	msg := wecom.AppMessage{ToUser: []string{rec.UserID}, MsgType: wecom.AppMsgText,
		Text: &wecom.Text{Content: churnText(facts, lang, s.loc)}}
	next, sendErr := s.send(ctx, msg, &h.c)
	if next == "" {
		s.log.LogAttrs(ctx, slog.LevelInfo, "churn alert sent", slog.String("member", rec.UserID), slog.String("customer", rec.ExternalUserID))
		return nil
	}
	return s.settle(ctx, h, next, sendErr)
}

// churnFacts gathers the customer's name and remark, the add time and the
// channel of the relationship that ended.
func (s *Service) churnFacts(ctx context.Context, rec events.Record) (churnFacts, error) {
	f := churnFacts{Member: rec.UserID, Customer: rec.ExternalUserID, Deleted: rec.Time()}
	var state string
	var known bool
	it, err := s.st.Get(ctx, pkAdded, addedSK(rec.UserID, rec.ExternalUserID))
	switch {
	case err == nil:
		var a added
		// An add after the deletion is a later relationship: not this one.
		if json.Unmarshal(it.Data, &a) == nil {
			if since, st, ok := a.before(rec.CreateTime); ok {
				f.Since, state, known = time.Unix(since, 0), st, true
			}
		}
	case !errors.Is(err, store.ErrNotFound):
		return f, fmt.Errorf("alerts: read add of %s: %w", it.SK, err)
	}
	if !known {
		r, ok, err := liverel.Get(ctx, s.st, rec.UserID, rec.ExternalUserID)
		if err != nil {
			return f, fmt.Errorf("alerts: %w", err)
		}
		if ok && r.Since <= rec.CreateTime {
			f.Since, state, known = time.Unix(r.Since, 0), r.Channel, true
		}
	}
	if s.wc != nil {
		// A one-way relationship remains after del_follow_user, so WeCom
		// still describes the customer; without it the id stands in.
		d, err := s.wc.GetExternalContact(ctx, rec.ExternalUserID)
		if err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "churn alert: customer not described; naming the id", slog.String("error", err.Error()))
		} else {
			if d.ExternalContact.Name != "" {
				f.Customer = d.ExternalContact.Name
			}
			for _, fu := range d.FollowUsers {
				if fu.UserID != rec.UserID {
					continue
				}
				f.Remark = fu.Remark
				if !known && fu.CreateTime > 0 && fu.CreateTime <= rec.CreateTime {
					f.Since, state, known = time.Unix(fu.CreateTime, 0), fu.State, true
				}
			}
		}
	}
	if state != "" {
		f.Channel = state
		ch, ok, err := channels.ByState(ctx, s.st, state)
		if err != nil {
			return f, fmt.Errorf("alerts: channel of state %q: %w", state, err)
		}
		if ok && ch.Name != "" {
			f.Channel = ch.Name
		}
	}
	return f, nil
}
