// Package firsttouch is what follows a customer's arrival or departure,
// within seconds and without holding up the callback: the welcome message
// (send_welcome_msg, once per welcome code, within its 20 seconds), the
// channel's tags (mark_tag, once per relationship) and the extra steps
// plugged in (the churn alert and 删人提醒). Each action is written into
// the event log as Siyu's own event (events.OriginSiyu), because WeCom
// sends no callback for changes made through its API.
//
// Work reaches the Service through a Dispatcher: an in-process Queue (the
// local stack) or an asynchronous invoke of the poster naming one event
// (Job with a key, on Lambda); where neither exists (SCF) the callback
// greets Inline and leaves the rest. The every-minute sweep of what is
// still pending (Job without a key) catches whatever they lost.
//
// Store layout:
//
//	welcome#<code>           sk claim       the welcome code's claim and outcome
//	tagged#<member>#<cust>   sk <event key> the tag claim of one add event
//	firsttouch#badtag        sk <tag id>    a tag WeCom no longer knows (reported once)
//	media#<hash of url>      sk id          an uploaded media_id, until shortly before it dies
package firsttouch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/clock"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// WeCom is the part of the WeCom client first touch uses; *wecom.Client
// is it.
type WeCom interface {
	SendWelcomeMsg(ctx context.Context, m wecom.WelcomeMsg) error
	GetExternalContact(ctx context.Context, externalUserID string) (wecom.ExternalContactDetail, error)
	UploadMedia(ctx context.Context, m wecom.Media) (wecom.UploadedMedia, error)
	MarkTag(ctx context.Context, m wecom.MarkTagRequest) error
}

var _ WeCom = (*wecom.Client)(nil)

// Step is more work on a stored event (the alerts).
type Step interface {
	Handle(ctx context.Context, rec events.Record) error
}

// Dispatcher hands a newly stored event to the worker without waiting for
// WeCom: a Queue in process, an asynchronous invoke on Lambda. What it
// drops, the sweep does.
type Dispatcher interface {
	Dispatch(ctx context.Context, rec events.Record)
}

// Service does the first-touch work of one event.
type Service struct {
	Store  store.Store
	WeCom  WeCom // nil without credentials: welcomes and tags fail, steps run
	Log    *events.Log
	Logger *slog.Logger
	Now    func() time.Time
	Steps  []Step
	// Sleep waits between tries of a welcome; tests advance their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTP fetches attachments given by URL.
	HTTP *http.Client
	// Grace is how old pending work must be before the sweep takes it, so
	// the sweep does not race the dispatched worker.
	Grace time.Duration
}

// New returns the service over st and wc (nil without credentials),
// bucketing own events in loc.
func New(st store.Store, wc WeCom, loc *time.Location, logger *slog.Logger, now func() time.Time, steps ...Step) *Service {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{
		Store: st, WeCom: wc, Log: events.NewLog(st, loc, now), Logger: logger, Now: now, Steps: steps,
		Sleep: clock.Sleep, HTTP: &http.Client{Timeout: fetchTimeout}, Grace: 30 * time.Second,
	}
}

var errNoWeCom = errors.New("firsttouch: WeCom credentials (WECOM_CORP_ID, WECOM_SECRET) are not configured")

// errInFlight is work another worker holds; the sweep looks again later.
var errInFlight = errors.New("firsttouch: another worker holds this work")

// Handle does the welcome, the tags and the extra steps for one stored
// event. Every part is idempotent: a second Handle of the same event sends
// nothing twice. A part that fails does not stop the others.
func (s *Service) Handle(ctx context.Context, rec events.Record) error {
	if !pending.Needs(rec.Event) {
		return nil
	}
	var errs []error
	if rec.ChangeType == wecom.ChangeAddExternalContact || rec.ChangeType == wecom.ChangeAddHalfExternalContact {
		rule, err := channels.RuleFor(ctx, s.Store, rec.State)
		if err != nil {
			return fmt.Errorf("firsttouch: rule for state %q: %w", rec.State, err)
		}
		if err := s.welcome(ctx, rec, rule.Welcome); err != nil {
			errs = append(errs, fmt.Errorf("welcome: %w", err))
		}
		if err := s.tag(ctx, rec, rule.Tags); err != nil {
			errs = append(errs, fmt.Errorf("tags: %w", err))
		}
	}
	for _, step := range s.Steps {
		if err := step.Handle(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Greet sends rec's welcome (an add event's) and nothing else, leaving the
// event pending: the tags and steps are the sweep's. It is the part that
// cannot wait, for a runtime that can hand nothing on (SCF).
func (s *Service) Greet(ctx context.Context, rec events.Record) error {
	if rec.ChangeType != wecom.ChangeAddExternalContact && rec.ChangeType != wecom.ChangeAddHalfExternalContact {
		return nil
	}
	rule, err := channels.RuleFor(ctx, s.Store, rec.State)
	if err != nil {
		return fmt.Errorf("firsttouch: rule for state %q: %w", rec.State, err)
	}
	return s.welcome(ctx, rec, rule.Welcome)
}

// Inline greets from the callback itself within budget, for a runtime
// without an asynchronous hand-off: the welcome code dies in 20 s, so it
// cannot wait for the every-minute sweep, which does the rest.
func Inline(s *Service, budget time.Duration) func(context.Context, events.Record) {
	return func(ctx context.Context, rec events.Record) {
		ctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		if err := s.Greet(ctx, rec); err != nil {
			s.Logger.LogAttrs(ctx, slog.LevelWarn, "inline welcome left to the sweep", slog.String("event", rec.Key), slog.String("err", err.Error()))
		}
	}
}

// Work handles rec and, when all went through, clears its pending marker.
// An event created more than pending.Window ago is past helping — a replay
// of an old callback marks it again — and is only cleared: its claims may
// have expired, and greeting, tagging or alerting now would be news to
// nobody or, worse, undo what the member changed since.
func (s *Service) Work(ctx context.Context, rec events.Record) error {
	if s.Now().Sub(rec.Time()) > pending.Window {
		s.Logger.LogAttrs(ctx, slog.LevelInfo, "first-touch work skipped: the event is too old", slog.String("event", rec.Key),
			slog.Time("created", rec.Time()))
		return pending.Done(ctx, s.Store, rec.Key)
	}
	if err := s.Handle(ctx, rec); err != nil {
		return err
	}
	return pending.Done(ctx, s.Store, rec.Key)
}

// Job serves the poster's "firsttouch" job: with a key (the asynchronous
// invoke the callback makes) it handles that event's pending work; without
// one it sweeps every pending event older than Grace.
func (s *Service) Job(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	if req.Date != "" || req.From != "" || req.To != "" {
		return nil, &jobs.BadRequestError{Msg: "firsttouch works on the last hour's events and takes no date"}
	}
	if req.Key != "" {
		w, err := pending.Get(ctx, s.Store, req.Key)
		if errors.Is(err, pending.ErrNotFound) {
			return jobs.Result{"handled": 0, "already_done": true}, nil
		}
		if err != nil {
			return nil, err
		}
		if err := s.Work(ctx, w.Record); err != nil {
			return nil, err
		}
		return jobs.Result{"handled": 1}, nil
	}
	return s.Sweep(ctx)
}

// Sweep handles the pending work older than Grace: events whose dispatch
// was lost or whose worker died. Welcome codes are dead by then, so their
// welcomes are recorded expired without calling WeCom; tags and steps
// still run.
func (s *Service) Sweep(ctx context.Context) (jobs.Result, error) {
	ws, err := pending.Older(ctx, s.Store, s.Now().Add(-s.Grace))
	if err != nil {
		return nil, err
	}
	handled, left := 0, 0
	var errs []error
	for _, w := range ws {
		if ctx.Err() != nil {
			break
		}
		if err := s.Work(ctx, w.Record); err != nil {
			left++
			if !errors.Is(err, errInFlight) {
				errs = append(errs, fmt.Errorf("event %s: %w", w.Record.Key, err))
			}
			continue
		}
		handled++
	}
	res := jobs.Result{"handled": handled, "left": left}
	if len(errs) > 0 {
		// One event WeCom refuses must not fail the poster's timer every
		// minute for an hour: log it; its marker stays and expires.
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "first-touch work left pending", slog.Int("events", len(errs)), slog.String("err", errors.Join(errs...).Error()))
	}
	return res, ctx.Err()
}
