package posts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Sending a due post: claim it, record the attempt, create the WeCom task, settle it.

// send claims p, records the attempt, and creates the WeCom task.
func (s *Service) send(ctx context.Context, p Post, due store.Item, now time.Time, res *TickResult) error {
	log := s.Logger.With(slog.String("post", p.ID), slog.String("kind", string(p.Kind)))
	// The attempt is durable before WeCom hears of it: whoever finds it
	// later with an expired lease knows the outcome is unknown.
	p.Status = Sending
	p.Attempts++
	p.Attempt = &Attempt{StartedAt: now.UTC(), LeaseUntil: now.Add(s.Lease).UTC(), Holder: s.holder}
	p.Late = now.Sub(p.SendAt) > s.LateAfter
	if err := s.put(ctx, &p, store.IfVersion(p.version)); errors.Is(err, store.ErrConditionFailed) {
		res.Contended++
		return nil
	} else if err != nil {
		return fmt.Errorf("poster: claim: %w", err)
	}
	if _, err := s.Store.Put(ctx, store.Item{PK: pkPending, SK: p.ID, Data: []byte(p.ID)}, store.Always); err != nil {
		return fmt.Errorf("poster: mark post %s pending: %w", p.ID, err)
	}
	if p.Late {
		res.Late++
	}
	var callErr error
	if p.Kind == Moment {
		var task wecom.MomentTask
		if task, callErr = s.momentTask(ctx, p); callErr == nil {
			p.JobID, callErr = s.WeCom.AddMomentTask(ctx, task)
		}
	} else {
		var tpl wecom.MsgTemplate
		if tpl, callErr = s.msgTemplate(ctx, p); callErr == nil {
			var ans wecom.MsgTemplateResult
			if ans, callErr = s.WeCom.AddMsgTemplate(ctx, tpl); callErr == nil {
				p.MsgID, p.FailList = ans.MsgID, ans.FailList
			}
		}
	}
	var apiErr *wecom.APIError
	var mediaErr *MediaError
	switch {
	case callErr == nil:
		res.Created++
		if p.Kind == GroupMessage {
			// add_msg_template answers at once: the task exists.
			res.Sent++
			return s.finish(ctx, &p, Sent, 0, "")
		}
		// Recorded, the job id makes the attempt's outcome known; the
		// pending pass follows the job.
		if err := s.put(ctx, &p, store.IfVersion(p.version)); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "post accepted by WeCom but not recorded; it will be resolved", slog.String("jobid", p.JobID), slog.String("error", err.Error()))
			res.Unknown++
			return nil
		}
		return s.Store.Delete(ctx, due.PK, due.SK, store.Always)
	case errors.As(callErr, &mediaErr):
		res.Failed++
		return s.finish(ctx, &p, Failed, 0, mediaErr.Error())
	case errors.As(callErr, &apiErr) && (apiErr.Temporary() || apiErr.Code == wecom.CodeConcurrencyLimited):
		// Refused for now, so certainly not created: back to scheduled.
		log.LogAttrs(ctx, slog.LevelWarn, "WeCom busy; post deferred", slog.Int("errcode", apiErr.Code))
		p.LastError = fmt.Sprintf("WeCom busy: errcode %d: %s", apiErr.Code, apiErr.Msg)
		return s.retryLater(ctx, &p, due, now, res)
	case errors.As(callErr, &apiErr):
		res.Failed++
		return s.finish(ctx, &p, Failed, apiErr.Code, apiErr.Msg)
	case isMediaTransient(callErr):
		// Nothing reached WeCom's task API: safe to try again.
		log.LogAttrs(ctx, slog.LevelWarn, "media not ready; post deferred", slog.String("error", callErr.Error()))
		p.LastError = "media not ready: " + callErr.Error()
		return s.retryLater(ctx, &p, due, now, res)
	default:
		// Transport error on the task call: WeCom may have created it.
		log.LogAttrs(ctx, slog.LevelWarn, "post outcome unknown; will resolve against WeCom", slog.String("error", callErr.Error()))
		p.LastError = "outcome unknown: " + callErr.Error()
		if err := s.put(ctx, &p, store.IfVersion(p.version)); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "last error not recorded", slog.String("error", err.Error()))
		}
		res.Unknown++
		return nil
	}
}

// retryLater puts a post that was certainly not created back to scheduled,
// unless it is already later than a missed post is still sent (MaxCatchUp,
// the window the poster catches up over): then it fails with the reason
// rather than wait for ever.
func (s *Service) retryLater(ctx context.Context, p *Post, due store.Item, now time.Time, res *TickResult) error {
	if now.Sub(p.SendAt) > s.MaxCatchUp {
		res.Failed++
		return s.finish(ctx, p, Failed, 0, fmt.Sprintf("not sent within %g hours of send_at; last error: %s", s.MaxCatchUp.Hours(), p.LastError))
	}
	res.Deferred++
	return s.reschedule(ctx, p, due, now)
}

// reschedule puts a claimed post back to scheduled (nothing was created).
func (s *Service) reschedule(ctx context.Context, p *Post, due store.Item, now time.Time) error {
	p.Status, p.Attempt = Scheduled, nil
	if err := s.put(ctx, p, store.IfVersion(p.version)); err != nil {
		return fmt.Errorf("poster: reschedule: %w", err)
	}
	_ = s.Store.Delete(ctx, pkPending, p.ID, store.Always)
	if due.PK != "" {
		return s.rebucket(ctx, due, *p, now)
	}
	return s.putDue(ctx, *p, now)
}

// finish records a final state.
func (s *Service) finish(ctx context.Context, p *Post, st Status, code int, msg string) error {
	p.Status, p.ErrCode, p.ErrMsg = st, code, msg
	if st == Failed {
		p.LastError = msg
		if code != 0 {
			p.LastError = fmt.Sprintf("errcode %d: %s", code, msg)
		}
	}
	if st == Sent {
		t := s.Now().UTC()
		p.SentAt = &t
	}
	if err := s.put(ctx, p, store.IfVersion(p.version)); errors.Is(err, store.ErrConditionFailed) {
		return nil // another tick recorded it
	} else if err != nil {
		return fmt.Errorf("poster: record %s: %w", st, err)
	}
	s.settled(ctx, *p)
	return nil
}
