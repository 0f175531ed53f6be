package firsttouch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Tag outcomes (the ChangeType of a "siyu_tag" event).
const (
	TagApplied = "applied"
	// TagUnknown is a channel tag WeCom no longer knows (deleted): reported
	// once, then left out of every later relationship.
	TagUnknown = "unknown_tag"
	// TagFailed is a relationship WeCom would not tag (it ended already, or
	// it is half-added): recorded, not retried.
	TagFailed = "failed"
)

const (
	pkBadTag = "firsttouch#badtag"
	// tagLease is how long a tag claim holds off another worker; after it,
	// the claim is taken over (mark_tag adds what is there already
	// harmlessly, so a second try can only finish the work).
	tagLease = 2 * time.Minute
)

type tagClaim struct {
	At   time.Time `json:"at"`
	Done bool      `json:"done,omitempty"`
}

// tag applies tags to rec's relationship once.
func (s *Service) tag(ctx context.Context, rec events.Record, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	if s.WeCom == nil {
		return errNoWeCom
	}
	pk, sk := "tagged#"+rec.UserID+"#"+rec.ExternalUserID, rec.Key
	ver, err := s.claimTags(ctx, pk, sk)
	if err != nil || ver == 0 {
		return err
	}
	bad, err := s.badTags(ctx)
	if err != nil {
		return err
	}
	good := slices.DeleteFunc(slices.Clone(tags), func(id string) bool { return bad[id] })
	if err := s.markTags(ctx, rec, good); err != nil {
		return err
	}
	data, _ := json.Marshal(tagClaim{At: s.Now(), Done: true})
	if _, err := s.Store.Put(ctx, store.Item{PK: pk, SK: sk, Data: data, ExpiresAt: s.Now().Add(claimTTL)}, store.IfVersion(ver)); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("tag claim: %w", err)
	}
	return nil
}

// claimTags takes the tag claim of one event: its version, or 0 when the
// work is done already.
func (s *Service) claimTags(ctx context.Context, pk, sk string) (int64, error) {
	now := s.Now()
	data, _ := json.Marshal(tagClaim{At: now})
	it, err := s.Store.Put(ctx, store.Item{PK: pk, SK: sk, Data: data, ExpiresAt: now.Add(claimTTL)}, store.IfAbsent)
	if err == nil {
		return it.Version, nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return 0, fmt.Errorf("tag claim: %w", err)
	}
	old, err := s.Store.Get(ctx, pk, sk)
	if err != nil {
		return 0, fmt.Errorf("tag claim: %w", err)
	}
	var c tagClaim
	if err := json.Unmarshal(old.Data, &c); err != nil {
		return 0, fmt.Errorf("tag claim: %w", err)
	}
	switch {
	case c.Done:
		return 0, nil
	case now.Sub(c.At) < tagLease:
		return 0, errInFlight
	}
	it, err = s.Store.Put(ctx, store.Item{PK: pk, SK: sk, Data: data, ExpiresAt: now.Add(claimTTL)}, store.IfVersion(old.Version))
	if errors.Is(err, store.ErrConditionFailed) {
		return 0, errInFlight
	}
	if err != nil {
		return 0, fmt.Errorf("tag claim: %w", err)
	}
	return it.Version, nil
}

// badTags are the tags found deleted so far: one small partition.
func (s *Service) badTags(ctx context.Context) (map[string]bool, error) {
	items, err := store.QueryAll(ctx, s.Store, store.Query{PK: pkBadTag})
	if err != nil {
		return nil, fmt.Errorf("read unknown tags: %w", err)
	}
	bad := make(map[string]bool, len(items))
	for _, it := range items {
		bad[it.SK] = true
	}
	return bad, nil
}

// markTags applies tags in one call. When WeCom refuses one as unknown
// (it names the first only), each is tried alone, so the others still go
// on and every deleted one is found.
func (s *Service) markTags(ctx context.Context, rec events.Record, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	err := s.WeCom.MarkTag(ctx, wecom.MarkTagRequest{UserID: rec.UserID, ExternalUserID: rec.ExternalUserID, AddTag: tags})
	switch {
	case err == nil:
		for _, id := range tags {
			if err := s.own(ctx, rec, EventTag, TagApplied, id, ""); err != nil {
				return err
			}
		}
		return nil
	case wecom.IsCode(err, wecom.CodeInvalidTagID) && len(tags) > 1:
		var errs []error
		for _, id := range tags {
			errs = append(errs, s.markTags(ctx, rec, []string{id}))
		}
		return errors.Join(errs...)
	case wecom.IsCode(err, wecom.CodeInvalidTagID):
		return s.reportBadTag(ctx, rec, tags[0])
	}
	var api *wecom.APIError
	if errors.As(err, &api) && !transient(api.Code) {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "tags not applied", slog.String("event", rec.Key), slog.String("member", rec.UserID), slog.String("err", err.Error()))
		for _, id := range tags {
			if err := s.own(ctx, rec, EventTag, TagFailed, id, err.Error()); err != nil {
				return err
			}
		}
		return nil
	}
	return err // transient or transport: the claim's lease lets a later run finish
}

// reportBadTag records tag as unknown to WeCom: one warning and one own
// event the first time, silence after.
func (s *Service) reportBadTag(ctx context.Context, rec events.Record, tag string) error {
	_, err := s.Store.Put(ctx, store.Item{PK: pkBadTag, SK: tag, Data: []byte(rec.Key)}, store.IfAbsent)
	if errors.Is(err, store.ErrConditionFailed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record unknown tag %s: %w", tag, err)
	}
	s.Logger.LogAttrs(ctx, slog.LevelWarn, "channel tag unknown to WeCom (deleted?): left out from now on; remove it from the channel",
		slog.String("tag", tag), slog.String("state", rec.State))
	return s.own(ctx, rec, EventTag, TagUnknown, tag, "")
}

// own appends Siyu's own event about rec: kind (EventWelcome, EventTag),
// outcome as its change type. Keyed from rec's fields, so a second worker
// recording the same outcome stores nothing new.
func (s *Service) own(ctx context.Context, rec events.Record, kind, outcome, tag, detail string) error {
	ev := wecom.Event{
		ToUserName: rec.ToUserName, CreateTime: rec.CreateTime, Event: kind, ChangeType: outcome,
		UserID: rec.UserID, ExternalUserID: rec.ExternalUserID, State: rec.State, TagID: tag,
		Source: rec.Key, FailReason: truncate(detail, 512), Known: true,
	}
	if _, _, err := s.Log.Append(ctx, ev, events.OriginSiyu); err != nil {
		return fmt.Errorf("record own event %s/%s: %w", kind, outcome, err)
	}
	return nil
}
