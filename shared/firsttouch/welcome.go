package firsttouch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Welcome outcomes, recorded on the claim and as own events (the
// ChangeType of a "siyu_welcome" event).
const (
	WelcomeSent    = "sent"
	WelcomeExpired = "expired"    // 41050, or found after the code's 20 s
	WelcomeUsed    = "used"       // 41051: another app greeted, or a chat began
	WelcomeNoCode  = "no_code"    // the event carried no WelcomeCode
	WelcomeNone    = "no_welcome" // neither the channel nor the settings have one
	WelcomeFailed  = "failed"     // refused, or transient failures until the window closed
	// WelcomeUnknown is a claim left without an outcome (a worker died
	// between the claim and the answer): never resent, since greeting twice
	// is worse than once missed and the code is dead anyway.
	WelcomeUnknown = "unknown"
)

// Own event kinds (the Event of an OriginSiyu record).
const (
	EventWelcome = "siyu_welcome"
	EventTag     = "siyu_tag"
)

// claimTTL keeps a welcome claim well past any retry of its callback
// (WeCom retries for seconds; replays are refused after an hour).
const claimTTL = 72 * time.Hour

// unknownAfter is how long after the code's death a claim without an
// outcome is taken for a dead worker's.
const unknownAfter = 10 * time.Second

// retryWait separates tries of a welcome after a transient failure.
const retryWait = time.Second

type welcomeClaim struct {
	Event     string    `json:"event"`
	Member    string    `json:"member"`
	Customer  string    `json:"customer"`
	ClaimedAt time.Time `json:"claimed_at"`
	Outcome   string    `json:"outcome,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	DoneAt    time.Time `json:"done_at,omitzero"`
}

func welcomePK(code string) string { return "welcome#" + code }

// welcome sends w for rec once per welcome code and records the outcome.
func (s *Service) welcome(ctx context.Context, rec events.Record, w *channels.Welcome) error {
	switch {
	case rec.WelcomeCode == "":
		return s.own(ctx, rec, EventWelcome, WelcomeNoCode, "", "")
	case w.Empty():
		return s.own(ctx, rec, EventWelcome, WelcomeNone, "", "")
	}
	now := s.Now()
	deadline := rec.Time().Add(wecom.WelcomeCodeTTL)
	claim := welcomeClaim{Event: rec.Key, Member: rec.UserID, Customer: rec.ExternalUserID, ClaimedAt: now}
	it, err := s.putClaim(ctx, rec.WelcomeCode, claim, store.IfAbsent)
	if errors.Is(err, store.ErrConditionFailed) {
		return s.welcomeClaimed(ctx, rec, deadline)
	}
	if err != nil {
		return err
	}
	outcome, detail := WelcomeExpired, "found after the code's 20 seconds"
	if now.Before(deadline) {
		outcome, detail = s.send(ctx, rec, w, deadline)
	}
	claim.Outcome, claim.Detail, claim.DoneAt = outcome, detail, s.Now()
	if _, err := s.putClaim(ctx, rec.WelcomeCode, claim, store.IfVersion(it.Version)); err != nil {
		// The welcome went or not; the own event below still says which.
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "welcome outcome not kept on its claim", slog.String("event", rec.Key), slog.String("err", err.Error()))
	}
	level := slog.LevelInfo
	if outcome != WelcomeSent {
		level = slog.LevelWarn
	}
	s.Logger.LogAttrs(ctx, level, "welcome", slog.String("event", rec.Key), slog.String("member", rec.UserID),
		slog.String("outcome", outcome), slog.String("detail", detail))
	return s.own(ctx, rec, EventWelcome, outcome, "", detail)
}

// welcomeClaimed handles a code someone already claimed: done, in flight,
// or left by a worker that died (recorded unknown, never resent).
func (s *Service) welcomeClaimed(ctx context.Context, rec events.Record, deadline time.Time) error {
	it, err := s.Store.Get(ctx, welcomePK(rec.WelcomeCode), "claim")
	if errors.Is(err, store.ErrNotFound) {
		return errInFlight // expired between the two calls: leave it to the sweep
	}
	if err != nil {
		return fmt.Errorf("read welcome claim: %w", err)
	}
	var c welcomeClaim
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return fmt.Errorf("decode welcome claim: %w", err)
	}
	switch {
	case c.Outcome != "":
		return nil
	case s.Now().Before(deadline.Add(unknownAfter)):
		return errInFlight
	}
	c.Outcome, c.Detail, c.DoneAt = WelcomeUnknown, "claimed but no outcome recorded (the worker stopped)", s.Now()
	if _, err := s.putClaim(ctx, rec.WelcomeCode, c, store.IfVersion(it.Version)); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return nil // its worker answered after all
		}
		return err
	}
	s.Logger.LogAttrs(ctx, slog.LevelWarn, "welcome outcome unknown", slog.String("event", rec.Key), slog.String("member", rec.UserID))
	return s.own(ctx, rec, EventWelcome, WelcomeUnknown, "", c.Detail)
}

func (s *Service) putClaim(ctx context.Context, code string, c welcomeClaim, cond store.Cond) (store.Item, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return store.Item{}, err
	}
	it, err := s.Store.Put(ctx, store.Item{PK: welcomePK(code), SK: "claim", Data: data, ExpiresAt: c.ClaimedAt.Add(claimTTL)}, cond)
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return it, fmt.Errorf("welcome claim: %w", err)
	}
	return it, err
}

// send builds and sends the welcome until deadline; it returns the outcome.
func (s *Service) send(ctx context.Context, rec events.Record, w *channels.Welcome, deadline time.Time) (outcome, detail string) {
	if s.WeCom == nil {
		return WelcomeFailed, errNoWeCom.Error()
	}
	// The code dies at deadline: no call may outlive it. The context's
	// clock is the wall clock, so the budget is measured on ours.
	ctx, cancel := context.WithTimeout(ctx, deadline.Sub(s.Now()))
	defer cancel()
	msg := wecom.WelcomeMsg{WelcomeCode: rec.WelcomeCode}
	if w.Text != "" {
		msg.Text = &wecom.Text{Content: s.personalize(ctx, rec, w.Text)}
	}
	atts, skipped := s.attachments(ctx, w.Attachments)
	msg.Attachments = atts
	if msg.Text == nil && len(atts) == 0 {
		return WelcomeFailed, fmt.Sprintf("nothing to send: %d attachments could not be prepared", skipped)
	}
	var transportErr bool
	for {
		err := s.WeCom.SendWelcomeMsg(ctx, msg)
		var api *wecom.APIError
		switch {
		case err == nil:
			return WelcomeSent, skippedDetail(skipped)
		case wecom.IsCode(err, wecom.CodeInvalidWelcomeCode):
			return WelcomeExpired, err.Error()
		case wecom.IsCode(err, wecom.CodeWelcomeNotAllowed) && transportErr:
			// An earlier try may have gone through before its answer was lost.
			return WelcomeUnknown, "a try's answer was lost, then: " + err.Error()
		case wecom.IsCode(err, wecom.CodeWelcomeNotAllowed):
			return WelcomeUsed, err.Error()
		case errors.As(err, &api) && !transient(api.Code):
			return WelcomeFailed, err.Error()
		}
		if !errors.As(err, &api) {
			transportErr = true
		}
		if !s.Now().Add(retryWait).Before(deadline) || s.Sleep(ctx, retryWait) != nil {
			if transportErr {
				return WelcomeUnknown, "no answer before the code's 20 seconds ran out: " + err.Error()
			}
			return WelcomeFailed, "gave up at the code's 20 seconds: " + err.Error()
		}
	}
}

// transient codes may succeed on another try.
func transient(code int) bool {
	return code == wecom.CodeBusy || code == wecom.CodeRateLimited || code == wecom.CodeConcurrencyLimited
}

func skippedDetail(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d attachments left out (could not be prepared)", n)
}

// personalize replaces %NICKNAME% with the customer's name. When the name
// cannot be read (or is empty) the placeholder goes with the spaces around
// it, and a separator it leaves at the start of a line goes too:
// "Hi %NICKNAME%, welcome" reads "Hi, welcome" and "%NICKNAME%，你好" reads
// "你好" — never "Hi , welcome".
func (s *Service) personalize(ctx context.Context, rec events.Record, text string) string {
	if !strings.Contains(text, channels.NicknamePlaceholder) {
		return text
	}
	name := ""
	if c, err := s.WeCom.GetExternalContact(ctx, rec.ExternalUserID); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "welcome without the customer's name", slog.String("event", rec.Key), slog.String("err", err.Error()))
	} else {
		name = c.ExternalContact.Name
	}
	return fillNickname(text, name)
}

var (
	placeholderRE = regexp.MustCompile(`[ \t]*` + regexp.QuoteMeta(channels.NicknamePlaceholder) + `[ \t]*`)
	leadingSepRE  = regexp.MustCompile(`(?m)^[ \t]*[,，、:：;；!！]+[ \t]*`)
)

// fillNickname puts name in text's placeholders; see personalize.
func fillNickname(text, name string) string {
	if name != "" {
		return truncate(strings.ReplaceAll(text, channels.NicknamePlaceholder, name), wecom.MaxWelcomeTextBytes)
	}
	out := placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		// Keep one space where the placeholder stood between two words.
		if strings.HasPrefix(m, " ") && strings.HasSuffix(m, " ") {
			return " "
		}
		return ""
	})
	return strings.TrimSpace(leadingSepRE.ReplaceAllString(out, ""))
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
