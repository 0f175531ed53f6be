// Package moments measures what enterprise Moments and group messages did:
// the members who published, the customers reached and engaged (WeCom's
// task, send-result and comment lists, synced nightly into one summary per
// post and day), the clicks on the post's tracked link and the conversions
// they led to.
//
// Table layout (every read names a partition; nothing is scanned):
//
//	link#<token>           link                 a tracked link: post id, original URL
//	plink#<post>           <token>              a post's links (for its click days)
//	click#<post>#<day>     <unixnano>#<vid>     one click (written once, IfAbsent)
//	conv#<post>            <order_id>           one conversion (IfAbsent: idempotent)
//	mtrack                 <moment_id>          a member's own Moment registered for tracking
//	mstat#<post>           <day>                the post's funnel as synced that day
//	mday#<day>             <post>               the same, by day (reports, ranges)
//	moments#progress       <day>                the sync's checkpoint: posts done today
package moments

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// WeCom is the part of the WeCom API the sync reads; *wecom.Client has it.
type WeCom interface {
	GetMomentTask(ctx context.Context, req wecom.MomentTaskRequest) (wecom.MomentTaskPage, error)
	GetMomentSendResult(ctx context.Context, req wecom.MomentSendResultRequest) (wecom.MomentSendResultPage, error)
	GetMomentComments(ctx context.Context, momentID, userID string) (wecom.MomentComments, error)
	GetGroupMsgTask(ctx context.Context, req wecom.GroupMsgTaskRequest) (wecom.GroupMsgTaskPage, error)
	GetGroupMsgSendResult(ctx context.Context, req wecom.GroupMsgSendResultRequest) (wecom.GroupMsgSendResultPage, error)
}

var _ WeCom = (*wecom.Client)(nil)

// Posts is where the sent posts come from; *posts.Service has it.
type Posts interface {
	Get(ctx context.Context, id string) (posts.Post, error)
	List(ctx context.Context, q posts.ListQuery) (posts.Listing, error)
}

var _ Posts = (*posts.Service)(nil)

// Defaults of Service's knobs.
const (
	// DefaultWindow is how far back posts are followed: WeCom's own lists
	// cover 30 days.
	DefaultWindow = 30 * 24 * time.Hour
	// DefaultMaxRun stops a sync before a 15-minute function limit; the
	// next run continues from the checkpoint.
	DefaultMaxRun = 13 * time.Minute
	// ClickDays bounds how many days of clicks a post's stats read.
	ClickDays = 90
)

// ErrNotFound is a post or link that does not exist.
var ErrNotFound = errors.New("not found")

// Service syncs engagement, records clicks and conversions, and answers
// the funnel.
type Service struct {
	Store store.Store
	// WeCom is nil without credentials: links, clicks and stats work, the
	// sync does not.
	WeCom  WeCom
	Posts  Posts
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
	// PublicURL is SIYU_PUBLIC_URL, the base of tracked links.
	PublicURL string
	// Window, MaxRun: see DefaultWindow and DefaultMaxRun.
	Window time.Duration
	MaxRun time.Duration
}

// New returns a Service with the defaults.
func New(st store.Store, wc WeCom, p Posts, loc *time.Location, publicURL string, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if loc == nil {
		loc, _ = calendar.Zone("")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if c, ok := wc.(*wecom.Client); ok && c == nil {
		wc = nil
	}
	return &Service{Store: st, WeCom: wc, Posts: p, Loc: loc, Now: now, Logger: logger, PublicURL: publicURL,
		Window: DefaultWindow, MaxRun: DefaultMaxRun}
}

func (s *Service) today() calendar.Day { return calendar.Of(s.Now(), s.Loc) }
