package moments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// TrackedPrefix starts the post id of a member's own Moment registered
// with Track: "moment:<moment_id>".
const TrackedPrefix = "moment:"

// Tracked is a Moment a member published themselves that the brand follows.
type Tracked struct {
	MomentID  string    `json:"moment_id"`
	UserID    string    `json:"userid,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Track registers a member's own Moment for the sync; its stats live under
// post id TrackedPrefix+momentID. Registering twice changes nothing.
func (s *Service) Track(ctx context.Context, t Tracked) (string, error) {
	if t.MomentID == "" || len(t.MomentID) > 128 {
		return "", bad("moment_id is required (at most 128 characters)")
	}
	t.CreatedAt = s.Now().UTC()
	data, _ := json.Marshal(t)
	_, err := s.Store.Put(ctx, store.Item{PK: "mtrack", SK: t.MomentID, Data: data}, store.IfAbsent)
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return "", fmt.Errorf("track moment %s: %w", t.MomentID, err)
	}
	return TrackedPrefix + t.MomentID, nil
}

// target is one thing the sync follows.
type target struct {
	PostID   string
	Kind     posts.Kind
	MomentID string
	MsgID    string
	UserID   string // a tracked Moment's author
	SentAt   time.Time
	Range    posts.VisibleRange
}

// SyncResult is a sync run's summary.
type SyncResult struct {
	Day        string `json:"day"`
	Posts      int    `json:"posts"`
	Synced     int    `json:"synced"`
	Resumed    int    `json:"resumed"`
	Failed     int    `json:"failed"`
	Remaining  int    `json:"remaining"`
	Complete   bool   `json:"complete"`
	WeComCalls int    `json:"wecom_calls"`
}

type progress struct {
	Done     []string `json:"done"`
	Complete bool     `json:"complete"`
}

const pkProgress = "moments#progress"

// Job runs Sync for the job runner ("moments": nightly and POST
// /api/jobs/moments). The day is always today: WeCom's lists say how
// things stand now, not on a past day, so a date or range is refused
// rather than silently ignored.
func (s *Service) Job(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	if req.Date != "" || req.From != "" || req.To != "" {
		return nil, &jobs.BadRequestError{Msg: "the moments job reads WeCom's lists as they stand now and takes no date or from/to"}
	}
	res, err := s.Sync(ctx)
	out := jobs.Result{"day": res.Day, "posts": res.Posts, "synced": res.Synced, "resumed": res.Resumed,
		"failed": res.Failed, "remaining": res.Remaining, "complete": res.Complete, "wecom_calls": res.WeComCalls}
	return out, err
}

// Sync reads WeCom's engagement lists for every post of the window and
// writes one summary per post for today. A run cut short (time, error)
// leaves a checkpoint; the next run the same day continues after the last
// finished post. A run after a complete one starts over and replaces the
// summaries.
func (s *Service) Sync(ctx context.Context) (SyncResult, error) {
	start := time.Now()
	now := s.Now()
	day := calendar.Of(now, s.Loc).String()
	res := SyncResult{Day: day}
	if s.WeCom == nil {
		return res, errors.New("moments sync: WeCom credentials are not configured")
	}
	targets, err := s.targets(ctx, now)
	if err != nil {
		return res, err
	}
	res.Posts = len(targets)
	prog, err := s.loadProgress(ctx, day)
	if err != nil {
		return res, err
	}
	done := map[string]bool{}
	for _, id := range prog.Done {
		done[id] = true
	}
	for i, t := range targets {
		if done[t.PostID] {
			res.Resumed++
			continue
		}
		if err := ctx.Err(); err != nil || (s.MaxRun > 0 && time.Since(start) > s.MaxRun) {
			res.Remaining = len(targets) - i
			return res, nil
		}
		f, calls, err := s.syncOne(ctx, t, day)
		res.WeComCalls += calls
		if err != nil {
			if transient(err) {
				res.Remaining = len(targets) - i
				return res, fmt.Errorf("moments sync of post %s: %w (the next run continues here)", t.PostID, err)
			}
			// A post WeCom refuses for good (a deleted Moment) must not
			// block the others: note it and move on.
			s.Logger.LogAttrs(ctx, slog.LevelWarn, "moments sync: post skipped", slog.String("post", t.PostID), slog.String("err", err.Error()))
			f.Error = err.Error()
			res.Failed++
		}
		if err := s.writeSummary(ctx, f); err != nil {
			res.Remaining = len(targets) - i
			return res, err
		}
		prog.Done = append(prog.Done, t.PostID)
		if err := s.saveProgress(ctx, day, prog); err != nil {
			res.Remaining = len(targets) - i - 1
			return res, err
		}
		res.Synced++
	}
	prog.Complete = true
	if err := s.saveProgress(ctx, day, prog); err != nil {
		return res, err
	}
	res.Complete = true
	return res, nil
}

// transient reports errors worth a retry by the next run rather than a
// skip: WeCom busy or rate limited, transport failures, a dead context.
func transient(err error) bool {
	var apiErr *wecom.APIError
	if !errors.As(err, &apiErr) {
		return true
	}
	switch apiErr.Code {
	case wecom.CodeBusy, wecom.CodeRateLimited, wecom.CodeConcurrencyLimited, wecom.CodeInvalidToken, wecom.CodeTokenExpired:
		return true
	}
	return false
}

func (s *Service) loadProgress(ctx context.Context, day string) (progress, error) {
	it, err := s.Store.Get(ctx, pkProgress, day)
	if errors.Is(err, store.ErrNotFound) {
		return progress{}, nil
	}
	if err != nil {
		return progress{}, fmt.Errorf("read moments checkpoint: %w", err)
	}
	var p progress
	if err := json.Unmarshal(it.Data, &p); err != nil || p.Complete {
		return progress{}, nil // a finished run: start over, replacing
	}
	return p, nil
}

func (s *Service) saveProgress(ctx context.Context, day string, p progress) error {
	data, _ := json.Marshal(p)
	if _, err := s.Store.Put(ctx, store.Item{PK: pkProgress, SK: day, Data: data}, store.Always); err != nil {
		return fmt.Errorf("write moments checkpoint: %w", err)
	}
	return nil
}

// targets lists the sent posts of the window and the tracked Moments, in
// a stable order (the checkpoint relies on it).
func (s *Service) targets(ctx context.Context, now time.Time) ([]target, error) {
	var out []target
	from := now.Add(-s.Window)
	if s.Posts != nil {
		l, err := s.Posts.List(ctx, posts.ListQuery{From: calendar.Of(from, s.Loc), To: calendar.Of(now, s.Loc)})
		if err != nil {
			return nil, fmt.Errorf("list posts: %w", err)
		}
		for _, p := range l.Posts {
			if p.MomentID == "" && p.MsgID == "" {
				continue
			}
			sent := p.SendAt
			if p.SentAt != nil {
				sent = *p.SentAt
			}
			out = append(out, target{PostID: p.ID, Kind: p.Kind, MomentID: p.MomentID, MsgID: p.MsgID, SentAt: sent, Range: p.VisibleRange})
		}
	}
	for page, err := range store.Pages(ctx, s.Store, store.Query{PK: "mtrack", Limit: store.MaxLimit}) {
		if err != nil {
			return nil, fmt.Errorf("read tracked moments: %w", err)
		}
		for _, it := range page.Items {
			var t Tracked
			if json.Unmarshal(it.Data, &t) != nil || t.CreatedAt.Before(from) {
				continue
			}
			out = append(out, target{PostID: TrackedPrefix + t.MomentID, Kind: posts.Moment, MomentID: t.MomentID, UserID: t.UserID, SentAt: t.CreatedAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PostID < out[j].PostID })
	return out, nil
}

// syncOne reads one post's lists. Unique customers are counted with
// in-memory sets (10^4 customers per post is small).
func (s *Service) syncOne(ctx context.Context, t target, day string) (Funnel, int, error) {
	f := Funnel{PostID: t.PostID, Kind: string(t.Kind), MomentID: t.MomentID, MsgID: t.MsgID,
		SentDay: calendar.Of(t.SentAt, s.Loc).String(), Day: day}
	calls := 0
	var err error
	if t.MsgID != "" {
		err = s.syncGroupMsg(ctx, t, &f, &calls)
	} else {
		err = s.syncMoment(ctx, t, &f, &calls)
	}
	if err != nil {
		return f, calls, err
	}
	if f.Clicks, f.UniqueClickers, err = s.Clicks(ctx, t.PostID); err != nil {
		return f, calls, err
	}
	if f.Conversions, f.ConversionValue, err = s.Conversions(ctx, t.PostID); err != nil {
		return f, calls, err
	}
	f.SyncedAt = s.Now().UTC()
	f.rates()
	return f, calls, nil
}

func (s *Service) syncMoment(ctx context.Context, t target, f *Funnel, calls *int) error {
	var members []wecom.MomentPublisher
	if t.UserID != "" {
		members = []wecom.MomentPublisher{{UserID: t.UserID, PublishStatus: wecom.MomentPublished}}
	} else {
		req := wecom.MomentTaskRequest{MomentID: t.MomentID, Limit: wecom.MaxMomentTaskLimit}
		for {
			*calls++
			page, err := s.WeCom.GetMomentTask(ctx, req)
			if err != nil {
				return fmt.Errorf("get_moment_task: %w", err)
			}
			members = append(members, page.Tasks...)
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
	}
	f.MembersTargeted = len(members)
	type memberResult struct {
		mf              MemberFunnel
		reached, liked  []string
		likes, comments int
	}
	results := make([]memberResult, len(members))
	err := s.eachMember(ctx, len(members), calls, func(i int, calls *int) error {
		m := members[i]
		r := &results[i]
		r.mf = MemberFunnel{UserID: m.UserID}
		if m.PublishStatus != wecom.MomentPublished {
			return nil
		}
		r.mf.Published = true
		req := wecom.MomentSendResultRequest{MomentID: t.MomentID, UserID: m.UserID, Limit: wecom.MaxMomentSendResultLimit}
		for {
			*calls++
			page, err := s.WeCom.GetMomentSendResult(ctx, req)
			if err != nil {
				return fmt.Errorf("get_moment_send_result for %s: %w", m.UserID, err)
			}
			for _, c := range page.Customers {
				r.reached = append(r.reached, c.ExternalUserID)
			}
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
		*calls++
		cm, err := s.WeCom.GetMomentComments(ctx, t.MomentID, m.UserID)
		if err != nil {
			return fmt.Errorf("get_moment_comments for %s: %w", m.UserID, err)
		}
		mine := map[string]struct{}{}
		for _, x := range cm.Likes {
			if x.ExternalUserID != "" {
				r.likes++
				mine[x.ExternalUserID] = struct{}{}
			}
		}
		for _, x := range cm.Comments {
			if x.ExternalUserID != "" {
				r.comments++
				mine[x.ExternalUserID] = struct{}{}
			}
		}
		for c := range mine {
			r.liked = append(r.liked, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	reached, engaged := map[string]struct{}{}, map[string]struct{}{}
	for _, r := range results {
		if r.mf.Published {
			f.MembersPublished++
		}
		for _, c := range r.reached {
			reached[c] = struct{}{}
		}
		for _, c := range r.liked {
			engaged[c] = struct{}{}
		}
		r.mf.Reached, r.mf.Engaged = len(r.reached), len(r.liked)
		f.Likes += r.likes
		f.Comments += r.comments
		f.Members = append(f.Members, r.mf)
	}
	f.CustomersReached, f.CustomersEngaged = len(reached), len(engaged)
	return nil
}

// Parallel is how many members' lists a sync reads at once.
const Parallel = 4

// eachMember runs fn for 0..n-1 on up to Parallel goroutines, each with its
// own call counter added to calls at the end; the first error wins.
func (s *Service) eachMember(ctx context.Context, n int, calls *int, fn func(i int, calls *int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	workers := min(Parallel, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := 0
			defer func() {
				mu.Lock()
				*calls += mine
				mu.Unlock()
			}()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n
				mu.Unlock()
				if stop || ctx.Err() != nil {
					return
				}
				if err := fn(i, &mine); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func (s *Service) syncGroupMsg(ctx context.Context, t target, f *Funnel, calls *int) error {
	var members []wecom.GroupMsgTask
	req := wecom.GroupMsgTaskRequest{MsgID: t.MsgID, Limit: wecom.MaxGroupMsgTaskLimit}
	for {
		*calls++
		page, err := s.WeCom.GetGroupMsgTask(ctx, req)
		if err != nil {
			return fmt.Errorf("get_groupmsg_task: %w", err)
		}
		members = append(members, page.Tasks...)
		if page.NextCursor == "" {
			break
		}
		req.Cursor = page.NextCursor
	}
	reached := map[string]struct{}{}
	f.MembersTargeted = len(members)
	for _, m := range members {
		mf := MemberFunnel{UserID: m.UserID}
		if m.Status != wecom.GroupMsgMemberSent {
			f.Members = append(f.Members, mf)
			continue
		}
		mf.Published = true
		f.MembersPublished++
		req := wecom.GroupMsgSendResultRequest{MsgID: t.MsgID, UserID: m.UserID, Limit: wecom.MaxGroupMsgSendResultLimit}
		for {
			*calls++
			page, err := s.WeCom.GetGroupMsgSendResult(ctx, req)
			if err != nil {
				return fmt.Errorf("get_groupmsg_send_result for %s: %w", m.UserID, err)
			}
			for _, r := range page.Sends {
				who := r.ExternalUserID
				if who == "" {
					who = "chat:" + r.ChatID
				}
				switch r.Status {
				case wecom.GroupMsgSent:
					reached[who] = struct{}{}
					mf.Reached++
				case wecom.GroupMsgNotFriend:
					f.FailedNotFriend++
				case wecom.GroupMsgCapReached:
					f.FailedCapReached++
				}
			}
			if page.NextCursor == "" {
				break
			}
			req.Cursor = page.NextCursor
		}
		f.Members = append(f.Members, mf)
	}
	f.CustomersReached = len(reached)
	return nil
}

// writeSummary replaces the post's summary of the day (both keys): a
// re-run writes the same keys again, never a second item.
func (s *Service) writeSummary(ctx context.Context, f Funnel) error {
	slices.SortFunc(f.Members, func(a, b MemberFunnel) int { return strings.Compare(a.UserID, b.UserID) })
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode summary of post %s: %w", f.PostID, err)
	}
	if _, err := s.Store.Put(ctx, store.Item{PK: "mstat#" + f.PostID, SK: f.Day, Data: data}, store.Always); err != nil {
		return fmt.Errorf("write summary of post %s: %w", f.PostID, err)
	}
	if _, err := s.Store.Put(ctx, store.Item{PK: "mday#" + f.Day, SK: f.PostID, Data: data}, store.Always); err != nil {
		return fmt.Errorf("write day summary of post %s: %w", f.PostID, err)
	}
	return nil
}
