package posts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Following sent posts: Moment jobs polled, lost attempts looked up in WeCom's lists.

// followPending polls the jobs of created Moments and resolves attempts
// whose answer was lost.
func (s *Service) followPending(ctx context.Context, now time.Time, res *TickResult) error {
	for page, err := range store.Pages(ctx, s.Store, store.Query{PK: pkPending, Limit: store.MaxLimit}) {
		if err != nil {
			return fmt.Errorf("poster: read pending: %w", err)
		}
		for _, it := range page.Items {
			if err := s.follow(ctx, it.SK, now, res); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) follow(ctx context.Context, id string, now time.Time, res *TickResult) error {
	p, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && p.Status != Sending) {
		return s.Store.Delete(ctx, pkPending, id, store.Always)
	}
	if err != nil {
		return fmt.Errorf("poster: %w", err)
	}
	log := s.Logger.With(slog.String("post", p.ID))
	if p.JobID != "" {
		r, err := s.WeCom.GetMomentTaskResult(ctx, p.JobID)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "moment job not readable yet", slog.String("error", err.Error()))
			return nil
		}
		if r.Status != wecom.MomentTaskFinished {
			return nil
		}
		o := r.Result
		p.InvalidSenders = o.InvalidSenderList.UserList
		p.InvalidDepartments = o.InvalidSenderList.DepartmentList
		p.InvalidTags = o.InvalidExternalContactList.TagList
		if o.ErrCode != 0 {
			res.Failed++
			return s.finish(ctx, &p, Failed, o.ErrCode, o.ErrMsg)
		}
		p.MomentID = o.MomentID
		res.Sent++
		if p.CancelRequested {
			if err := s.WeCom.CancelMomentTask(ctx, p.MomentID); err != nil {
				log.LogAttrs(ctx, slog.LevelWarn, "cancel requested but cancel_moment_task failed", slog.String("error", err.Error()))
			} else {
				t := now.UTC()
				p.SentAt = &t
				return s.finish(ctx, &p, Canceled, 0, "")
			}
		}
		return s.finish(ctx, &p, Sent, 0, "")
	}
	a := p.Attempt
	if a == nil || now.Before(a.LeaseUntil) || now.Before(a.StartedAt.Add(s.ResolveAfter)) {
		return nil // in flight, or WeCom may still be creating it
	}
	found, err := s.resolve(ctx, p, now)
	if err != nil {
		log.LogAttrs(ctx, slog.LevelWarn, "cannot resolve post yet", slog.String("error", err.Error()))
		return nil
	}
	res.Resolved++
	if found != "" {
		p.Resolved = true
		res.Sent++
		if p.Kind == Moment {
			p.MomentID = found
		} else {
			p.MsgID = found
		}
		return s.finish(ctx, &p, Sent, 0, "")
	}
	p.LostAttempts++
	if p.LostAttempts >= s.MaxAttempts {
		res.Failed++
		return s.finish(ctx, &p, Failed, 0, fmt.Sprintf("outcome unknown after %d attempts and not found in WeCom", p.LostAttempts))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "lost attempt not found in WeCom; sending again", slog.Int("lost_attempts", p.LostAttempts))
	return s.reschedule(ctx, &p, store.Item{}, now)
}

// resolve looks for the post's task in WeCom's own list of enterprise
// posts created since the attempt started; it returns the moment_id or
// msgid found, or "".
func (s *Service) resolve(ctx context.Context, p Post, now time.Time) (string, error) {
	from := p.Attempt.StartedAt.Add(-time.Minute).Unix()
	to := now.Unix()
	kinds := attachmentKinds(p)
	if p.Kind == Moment {
		req := wecom.MomentListRequest{StartTime: from, EndTime: to, FilterType: wecom.MomentFilterCorp, Limit: wecom.MaxMomentListLimit}
		for {
			page, err := s.WeCom.GetMomentList(ctx, req)
			if err != nil {
				return "", err
			}
			for _, m := range page.Moments {
				got := strings.Repeat(Image, len(m.Image))
				if m.Video != nil {
					got += Video
				}
				if m.Link != nil {
					got += Link
				}
				if m.Text.Content == p.Text && got == kinds {
					return m.MomentID, nil
				}
			}
			if page.NextCursor == "" {
				return "", nil
			}
			req.Cursor = page.NextCursor
		}
	}
	req := wecom.GroupMsgListRequest{ChatType: p.ChatType, StartTime: from, EndTime: to, FilterType: wecom.GroupMsgFilterCorp, Limit: wecom.MaxGroupMsgListLimit}
	for {
		page, err := s.WeCom.GetGroupMsgListV2(ctx, req)
		if err != nil {
			return "", err
		}
		for _, m := range page.Msgs {
			got := ""
			for _, a := range m.Attachments {
				got += a.MsgType
			}
			if m.Text.Content == p.Text && got == kinds {
				return m.MsgID, nil
			}
		}
		if page.NextCursor == "" {
			return "", nil
		}
		req.Cursor = page.NextCursor
	}
}

func attachmentKinds(p Post) string {
	var b strings.Builder
	for _, a := range p.Attachments {
		b.WriteString(a.Type)
	}
	return b.String()
}
