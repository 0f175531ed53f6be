package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// held is a claim this call won: it may send.
type held struct {
	pk, sk  string
	version int64
	expires time.Time
	c       claim
}

// claim takes the alert at pk/sk: the first call for an event wins with one
// conditional write; a later call wins only when the last send was refused
// for now (statusRetry), and then only one of concurrent callers does.
func (s *Service) claim(ctx context.Context, pk, sk string, expires time.Time) (held, bool, error) {
	h := held{pk: pk, sk: sk, expires: expires, c: claim{Status: statusSending, Tries: 1, At: s.now().Unix()}}
	it, err := s.st.Put(ctx, h.item(), store.IfAbsent)
	if err == nil {
		h.version = it.Version
		return h, true, nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return h, false, fmt.Errorf("alerts: claim %s/%s: %w", pk, sk, err)
	}
	cur, err := s.st.Get(ctx, pk, sk)
	if errors.Is(err, store.ErrNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("alerts: read claim %s/%s: %w", pk, sk, err)
	}
	var prev claim
	if err := json.Unmarshal(cur.Data, &prev); err != nil || prev.Status != statusRetry {
		return h, false, nil
	}
	h.c.Tries = prev.Tries + 1
	it, err = s.st.Put(ctx, h.item(), store.IfVersion(cur.Version))
	if errors.Is(err, store.ErrConditionFailed) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("alerts: claim %s/%s: %w", pk, sk, err)
	}
	h.version = it.Version
	return h, true, nil
}

func (h held) item() store.Item {
	data, _ := json.Marshal(h.c) // strings and ints: cannot fail
	return store.Item{PK: h.pk, SK: h.sk, Data: data, ExpiresAt: h.expires}
}

// settle records a send that did not happen: statusRetry returns cause so
// the caller's sweep calls again; statusFailed is logged and returns nil.
func (s *Service) settle(ctx context.Context, h held, next string, cause error) error {
	h.c.Status = next
	if _, err := s.st.Put(ctx, h.item(), store.IfVersion(h.version)); err != nil {
		// The claim stays "sending": never resent, which is the safe side.
		s.log.LogAttrs(ctx, slog.LevelError, "alert outcome not recorded", slog.String("key", h.pk+"/"+h.sk), slog.String("error", err.Error()))
	}
	if next == statusRetry {
		return fmt.Errorf("alerts: %s/%s not sent, will retry (try %d of %d): %w", h.pk, h.sk, h.c.Tries, MaxTries, cause)
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "alert not sent", slog.String("key", h.pk+"/"+h.sk), slog.Int("code", h.c.Code), slog.String("reason", h.c.Reason))
	return nil
}
