package posts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

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
	if p.Attempts >= s.MaxAttempts {
		res.Failed++
		return s.finish(ctx, &p, Failed, 0, fmt.Sprintf("outcome unknown after %d attempts and not found in WeCom", p.Attempts))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "lost attempt not found in WeCom; sending again", slog.Int("attempts", p.Attempts))
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

// MediaError is media WeCom will never take (bad URL, size or type): the
// post fails with it.
type MediaError struct {
	Field string
	Msg   string
}

func (e *MediaError) Error() string { return e.Field + ": " + e.Msg }

// transientMedia is a media fetch or upload that may work later.
type transientMedia struct{ err error }

func (e *transientMedia) Error() string { return e.err.Error() }
func (e *transientMedia) Unwrap() error { return e.err }

func isMediaTransient(err error) bool {
	var t *transientMedia
	return errors.As(err, &t)
}

// media returns an attachment's bytes: stored chunks, or a fetch of its URL.
func (s *Service) media(ctx context.Context, p Post, i int, kind, rawURL string) (wecom.Media, error) {
	a := p.Attachments[i]
	field := fmt.Sprintf("attachments[%d]", i)
	m := wecom.Media{Type: kind, Filename: a.Filename}
	if rawURL == "" {
		data, err := s.loadMedia(ctx, p.ID, i, a)
		if err != nil {
			return m, &transientMedia{err}
		}
		m.Data = data
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return m, &MediaError{field, "bad URL: " + err.Error()}
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			return m, &transientMedia{fmt.Errorf("%s: fetch: %w", field, err)}
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return m, &transientMedia{fmt.Errorf("%s: fetch answered %s", field, resp.Status)}
		case resp.StatusCode != http.StatusOK:
			return m, &MediaError{field, "fetching " + rawURL + " answered " + resp.Status}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, wecom.MaxMediaBytes+1))
		if err != nil {
			return m, &transientMedia{fmt.Errorf("%s: fetch: %w", field, err)}
		}
		m.Data = data
	}
	if err := checkBytes(field, kind, m.Data); err != nil {
		var fe *FieldError
		errors.As(err, &fe)
		return m, &MediaError{fe.Field, fe.Msg}
	}
	m.ContentType = sniff(m.Data)
	if m.Filename == "" {
		ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}[m.ContentType]
		m.Filename = fmt.Sprintf("%s-%d%s", p.ID, i, ext)
	}
	return m, nil
}

// upload sends media to WeCom; an upload refused for good is a MediaError.
func (s *Service) upload(ctx context.Context, m wecom.Media, up func(context.Context, wecom.Media) (wecom.UploadedMedia, error)) (string, error) {
	ans, err := up(ctx, m)
	var apiErr *wecom.APIError
	switch {
	case err == nil:
		return ans.MediaID, nil
	case errors.As(err, &apiErr) && !apiErr.Temporary():
		return "", &MediaError{"attachments", fmt.Sprintf("WeCom refused the upload: errcode %d: %s", apiErr.Code, apiErr.Msg)}
	}
	return "", &transientMedia{err}
}

// momentTask uploads the post's media (a media_id lives 3 days, so this
// happens at send time) and builds add_moment_task's body.
func (s *Service) momentTask(ctx context.Context, p Post) (wecom.MomentTask, error) {
	t := wecom.MomentTask{}
	if p.Text != "" {
		t.Text = &wecom.Text{Content: p.Text}
	}
	for i, a := range p.Attachments {
		src, kind := a.URL, a.Type
		if a.Type == Link {
			src, kind = a.CoverURL, Image
		}
		m, err := s.media(ctx, p, i, kind, src)
		if err != nil {
			return t, err
		}
		id, err := s.upload(ctx, m, s.WeCom.UploadAttachment)
		if err != nil {
			return t, err
		}
		switch a.Type {
		case Image:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Image, Image: &wecom.MediaRef{MediaID: id}})
		case Video:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Video, Video: &wecom.MediaRef{MediaID: id}})
		case Link:
			t.Attachments = append(t.Attachments, wecom.MomentAttachment{MsgType: Link, Link: &wecom.MomentLink{Title: a.Title, URL: a.URL, MediaID: id}})
		}
	}
	vr := p.VisibleRange
	if !vr.Everyone() || len(vr.CustomerTags) > 0 {
		t.VisibleRange = &wecom.MomentVisibleRange{}
		if !vr.Everyone() {
			t.VisibleRange.SenderList = &wecom.MomentSenders{UserList: vr.Members, DepartmentList: vr.Departments}
		}
		if len(vr.CustomerTags) > 0 {
			t.VisibleRange.ExternalContactList = &wecom.MomentTags{TagList: vr.CustomerTags}
		}
	}
	return t, nil
}

// msgTemplate builds add_msg_template's body, uploading image and video
// media as temporary media.
func (s *Service) msgTemplate(ctx context.Context, p Post) (wecom.MsgTemplate, error) {
	t := wecom.MsgTemplate{ChatType: p.ChatType, Sender: p.Sender, ExternalUserID: p.ExternalUserIDs, ChatIDList: p.ChatIDs}
	if p.Text != "" {
		t.Text = &wecom.Text{Content: p.Text}
	}
	if len(p.VisibleRange.CustomerTags) > 0 {
		t.TagFilter = &wecom.TagFilter{GroupList: []wecom.TagGroup{{TagList: p.VisibleRange.CustomerTags}}}
	}
	for i, a := range p.Attachments {
		if a.Type == Link {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Link, Link: &wecom.MsgLink{Title: a.Title, PicURL: a.CoverURL, Desc: a.Desc, URL: a.URL}})
			continue
		}
		m, err := s.media(ctx, p, i, a.Type, a.URL)
		if err != nil {
			return t, err
		}
		id, err := s.upload(ctx, m, s.WeCom.UploadMedia)
		if err != nil {
			return t, err
		}
		if a.Type == Image {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Image, Image: &wecom.MsgImage{MediaID: id}})
		} else {
			t.Attachments = append(t.Attachments, wecom.MsgAttachment{MsgType: Video, Video: &wecom.MediaRef{MediaID: id}})
		}
	}
	return t, nil
}
