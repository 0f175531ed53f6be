// Package alerts tells people about customer losses as they happen, through
// the WeCom application (message/send, WECOM_AGENT_ID):
//
//   - the churn alert (流失提醒): when a customer deletes a member
//     (del_follow_user), the member hears who left (name and the member's
//     remark), when and through which channel they were added, and how many
//     days they stayed;
//   - 删人提醒: when one member deletes more than Threshold customers within
//     WindowMinutes (del_external_contact, transfers excepted), the admins
//     named in the settings hear it, once per burst.
//
// Service.Handle is called for every stored event, asynchronously, possibly
// several times and concurrently for the same event (retries, sweeps,
// replays). Nothing it does is repeated by a second call: every alert is
// claimed with a conditional write before it is sent, and every deletion is
// counted once, keyed by the event's own key.
//
// # What alerts
//
// Only events WeCom delivered to the callback (Origin "callback"). Siyu's own
// actions (Origin "siyu") are ignored, and so are reconciled events: the
// nightly sync finds a lost deletion days late and dates it at the moment it
// found it, so an alert would name the wrong time, and a night's reconciled
// deletions would look like one burst. Events older than MaxAge when
// handled alert no more: the news is stale, and the claims that keep them
// from repeating live only that long.
//
// The settings (channels.LoadSettings) are read on each event, so switching
// an alert off takes effect at once. A switched-off alert writes nothing.
//
// # Churn alert
//
// Where the add time and channel come from, first found wins: the rel#added
// item this package writes on each add_external_contact (one write per
// add); the churn rollup's live row (package liverel: relationships older
// than Siyu, or added before the alerts ran); the member's follow_user in
// externalcontact/get (a one-way relationship remains after
// del_follow_user, so WeCom still answers); else 未知. The channel's name
// comes from channels.ByState, else the state itself, else 未知渠道.
//
// # 删人提醒 and bursts
//
// Deletions are counted per member in one-minute buckets (Incr on the
// bucket of the event's minute, expiring once no window can reach it). A
// window is W = WindowMinutes minutes ending at a minute m: the buckets in
// (m−W, m]. A fixed per-window counter would be one item fewer but would
// miss a burst that straddles two windows (six deletions at the end of one
// hour and six at the start of the next); buckets give a sliding window
// read with one query of at most 2W items. Counting is keyed by event
// time, not arrival, so a late or repeated delivery lands in the bucket it
// belongs to, and deduplicated by event key before the Incr, so it never
// counts twice.
//
// A minute m crosses when the member's count over the window ending at m
// exceeds the threshold. Each deletion, once counted, looks for the first
// crossing minute among the windows that hold its own minute; since
// deletions are handled concurrently and out of order, the one counted last
// in a crossing window is the one that sees it. A burst is a run of
// crossing minutes, each less than W after the previous one; it ends when
// W passes without a crossing. The first crossing of a burst sends the
// alert; later ones only extend the burst. A crossing W or more after the
// burst's last one starts a new burst, and a new alert. With the defaults
// (10 / 60): 10 deletions in an hour say nothing, the 11th alerts, the 12th
// to 20th do not, and the member is alerted about again only after an hour
// without crossing.
//
// # Sending once
//
// A claim is a conditional write made before the send. Then:
//   - sent: nothing more is written (the claim stands for it);
//   - refused for now by WeCom (-1, 45009, 45033) or the connection never
//     opened: the claim is marked retryable and Handle returns an error, so
//     the caller's sweep calls again; after MaxTries the claim is marked
//     failed;
//   - refused for good (the member left, no valid recipient, the agent is
//     not configured or not permitted): recorded as failed, never retried;
//   - any other error (a timeout after the request left): the outcome is
//     unknown and the alert is not resent — an alert perhaps lost is
//     preferred to one perhaps sent twice.
//
// # Store layout
//
//	rel#added        sk <customer>#<member>   {since, state} of the pair's latest add and the one before
//	alert#<event>    sk churn                 claim of the churn alert of a del_follow_user
//	                 sk count                 the deletion was counted (删人提醒)
//	deln#<member>    sk m#<unix minute>       N = the member's deletions in that minute
//	                 sk burst                 the member's current burst and its alert's claim
//
// Claims and buckets expire (MaxAge after the event, plus the window for
// buckets and bursts), so the table holds only what a repeat can still ask.
// rel#added items do not: a relationship may last years. They grow with the
// relationships ever added, one item each, and are only read by key.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// WeCom is what alerts call; *wecom.Client implements it.
type WeCom interface {
	SendAppMessage(ctx context.Context, m wecom.AppMessage) (wecom.AppMessageResult, error)
	GetExternalContact(ctx context.Context, externalUserID string) (wecom.ExternalContactDetail, error)
}

var _ WeCom = (*wecom.Client)(nil)

// Languages of the messages.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// Defaults.
const (
	// MaxAge is how late an event may be handled and still alert.
	MaxAge = 48 * time.Hour
	// MaxTries bounds the sends of one alert refused for now by WeCom.
	MaxTries = 5
	// DefaultThreshold and DefaultWindowMinutes apply when the settings
	// leave them at zero.
	DefaultThreshold     = 10
	DefaultWindowMinutes = 60
)

// Service sends the churn alerts and 删人提醒. It is safe for concurrent use.
type Service struct {
	st      store.Store
	wc      WeCom
	agentID int
	loc     *time.Location
	lang    string
	log     *slog.Logger
	now     func() time.Time
}

// New returns a Service. wc may be nil (no WeCom credentials) and agentID 0
// (WECOM_AGENT_ID unset): alerts are then recorded as not sent, once each.
// lang is the report language (SIYU_REPORT_LANG), overridden by the
// settings' report_lang; loc is the brand's zone, for the times messages
// show.
func New(st store.Store, wc WeCom, agentID int, loc *time.Location, lang string, log *slog.Logger, now func() time.Time) *Service {
	if c, ok := wc.(*wecom.Client); ok && c == nil {
		wc = nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, wc: wc, agentID: agentID, loc: loc, lang: lang, log: log, now: now}
}

// Handle reacts to one stored event: it records adds, and sends the churn
// alert or 删人提醒 a deletion calls for. It returns an error when the event
// should be handled again (a store failure, or WeCom refusing a send for
// now); calling it again, or concurrently, never sends an alert twice.
func (s *Service) Handle(ctx context.Context, rec events.Record) error {
	if rec.Event.Event != wecom.EventExternalContact || rec.Origin != events.OriginCallback || rec.CreateTime == 0 {
		return nil
	}
	switch rec.ChangeType {
	case wecom.ChangeAddExternalContact, wecom.ChangeAddHalfExternalContact:
		return s.recordAdd(ctx, rec)
	case wecom.ChangeDelFollowUser, wecom.ChangeDelExternalContact:
	default:
		return nil
	}
	if rec.UserID == "" || rec.ExternalUserID == "" || s.now().Sub(rec.Time()) > MaxAge {
		return nil
	}
	if rec.Key == "" {
		// Claims are keyed by the event: never share one between events.
		rec.Key = events.Key(rec.Event, rec.Origin)
	}
	set, err := channels.LoadSettings(ctx, s.st)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	lang := s.lang
	if set.ReportLang != "" {
		lang = set.ReportLang
	}
	if rec.ChangeType == wecom.ChangeDelFollowUser {
		if !set.ChurnAlert.Enabled {
			return nil
		}
		return s.churnAlert(ctx, rec, lang)
	}
	if rec.Source == wecom.SourceDeleteByTransfer || !set.DeletionAlert.Enabled {
		return nil
	}
	return s.deletion(ctx, rec, set.DeletionAlert, lang)
}

// Outcomes of a claimed alert.
const (
	statusSending = "sending" // claimed; sent, or outcome unknown
	statusRetry   = "retry"   // WeCom refused for now: the next Handle may send
	statusFailed  = "failed"  // refused for good, or tries used up; never sent
	statusSkipped = "skipped" // nobody to send to (no admins)
)

// claim is the state of one alert's send.
type claim struct {
	Status string `json:"status"`
	Tries  int    `json:"tries"`
	At     int64  `json:"at"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// again is the state of a claim whose send was refused for now: retry,
// unless its tries are used up.
func (c *claim) again() string {
	if c.Tries >= MaxTries {
		c.Reason = fmt.Sprintf("gave up after %d tries: %s", c.Tries, c.Reason)
		return statusFailed
	}
	return statusRetry
}

// errNotConfigured is a send without a WeCom client or agent id.
var errNotConfigured = errors.New("alerts: WeCom application not configured (WECOM_SECRET, WECOM_AGENT_ID)")

// send sends m and classifies the outcome into the claim's next state: ""
// when sent or unknown (the claim stands), statusRetry, or statusFailed.
func (s *Service) send(ctx context.Context, m wecom.AppMessage, c *claim) (next string, err error) {
	if s.wc == nil || s.agentID == 0 {
		c.Reason = errNotConfigured.Error()
		return statusFailed, errNotConfigured
	}
	m.AgentID = s.agentID
	res, err := s.wc.SendAppMessage(ctx, m)
	if err == nil {
		if len(res.InvalidUser) > 0 {
			s.log.LogAttrs(ctx, slog.LevelWarn, "alert not delivered to some recipients", slog.Any("invalid_user", res.InvalidUser))
		}
		return "", nil
	}
	var apiErr *wecom.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Temporary():
		c.Code, c.Reason = apiErr.Code, apiErr.Msg
		return c.again(), err
	case errors.As(err, &apiErr):
		c.Code, c.Reason = apiErr.Code, apiErr.Msg
		return statusFailed, err
	case neverSent(err):
		c.Reason = err.Error()
		return c.again(), err
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "alert outcome unknown; not resent", slog.String("error", err.Error()))
	return "", nil
}

// neverSent reports whether err proves the request never reached WeCom:
// the connection was refused or could not be opened.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
