// Package report is the "report" job: after each nightly rollup it pushes
// the day's churn summary (zh-CN by default) to the brand's group robot
// (SIYU_REPORT_WEBHOOK): new, lost, removed and net customers, the churn
// rate against its 7-day trend, the channels losing the most new
// customers, members with unusual deletions (against their own average
// and against WeCom's own count), and how many changes the nightly sync
// recovered.
//
// A push that fails is never lost silently: each day's report has a state
// in the KV table (pending, sending, sent, expired, with the last error),
// the failure is logged and returned, and the next run sends pending days
// first, oldest first, a few per run (the robot takes 20 messages a
// minute).
//
// # Storage
//
//	report#day       sk YYYY-MM-DD   the day's report state (status, attempts, last error)
//	report#pending   sk YYYY-MM-DD   present while the day still has to be sent
package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Statuses of a day's report.
const (
	StatusPending = "pending"
	StatusSending = "sending"
	StatusSent    = "sent"
	// StatusExpired: still unsent after MaxPendingDays; given up, logged.
	StatusExpired = "expired"
)

// Limits of a run.
const (
	// MaxPerRun bounds the reports one run sends (far below the robot's
	// 20 a minute).
	MaxPerRun = 5
	// MaxPendingDays: an older unsent report is given up.
	MaxPendingDays = 14
	// sendLease: a report left "sending" longer than this (a run that died
	// mid-push) is tried again.
	sendLease = 10 * time.Minute
)

const (
	pkDay     = "report#day"
	pkPending = "report#pending"
)

// State is one day's report state.
type State struct {
	Date      string `json:"date"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	UpdatedAt int64  `json:"updated_at"`
	SentAt    int64  `json:"sent_at,omitempty"`
	Bytes     int    `json:"bytes,omitempty"`

	version int64
}

// Reporter runs the report job.
type Reporter struct {
	Store store.Store
	WeCom *wecom.Client
	// Webhook is the group robot's URL (SIYU_REPORT_WEBHOOK); a secret.
	Webhook string
	// Lang is LangZH (default) or LangEN.
	Lang   string
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns a Reporter pushing through client to webhook.
func New(s store.Store, client *wecom.Client, webhook, lang string, loc *time.Location, logger *slog.Logger, now func() time.Time) *Reporter {
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	if lang == "" {
		lang = LangZH
	}
	return &Reporter{Store: s, WeCom: client, Webhook: webhook, Lang: lang, Loc: loc, Now: now, Logger: logger}
}

// Job is the "report" job.
func (r *Reporter) Job() jobs.Func { return r.Run }

// Run queues the asked day (yesterday by default; a date or from/to
// queues those days again, to resend) and sends the pending days, oldest
// first, at most MaxPerRun. It stops at the first failed push, records it
// and returns it as the error.
func (r *Reporter) Run(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	if r.Webhook == "" {
		return jobs.Result{"job": "report", "skipped": "SIYU_REPORT_WEBHOOK is not set"}, nil
	}
	if r.WeCom == nil {
		return nil, errors.New("report: no WeCom client to push with")
	}
	now := r.Now()
	days, err := req.Days(now, r.Loc)
	if err != nil {
		return nil, err
	}
	explicit := req.Date != "" || req.From != "" || req.To != ""
	for _, d := range days {
		if err := r.queue(ctx, d, explicit, now); err != nil {
			return nil, err
		}
	}

	page, err := r.Store.Query(ctx, store.Query{PK: pkPending, Limit: MaxPerRun})
	if err != nil {
		return nil, fmt.Errorf("report: read pending days: %w", err)
	}
	today := calendar.Of(now, r.Loc)
	var sent, expired []string
	var failed error
	for _, it := range page.Items {
		d, err := calendar.Parse(it.SK)
		if err != nil {
			return nil, fmt.Errorf("report: pending day %q: %w", it.SK, err)
		}
		if d.DaysUntil(today) > MaxPendingDays {
			if err := r.expire(ctx, d, now); err != nil {
				return nil, err
			}
			expired = append(expired, d.String())
			continue
		}
		ok, err := r.send(ctx, d, now)
		if err != nil {
			failed = err
			break
		}
		if ok {
			sent = append(sent, d.String())
		}
	}
	res := jobs.Result{"job": "report", "sent": sent}
	if len(expired) > 0 {
		res["expired"] = expired
	}
	if failed != nil {
		return res, failed
	}
	return res, nil
}

func (r *Reporter) state(ctx context.Context, d calendar.Day) (State, bool, error) {
	it, err := r.Store.Get(ctx, pkDay, d.String())
	if errors.Is(err, store.ErrNotFound) {
		return State{Date: d.String()}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("report: read state of %s: %w", d, err)
	}
	var st State
	if err := json.Unmarshal(it.Data, &st); err != nil {
		return State{}, false, fmt.Errorf("report: decode state of %s: %w", d, err)
	}
	st.version = it.Version
	return st, true, nil
}

// StateOf returns the report state of day d (zero Status when never queued).
func StateOf(ctx context.Context, s store.Store, d calendar.Day) (State, error) {
	st, _, err := (&Reporter{Store: s}).state(ctx, d)
	return st, err
}

// putState writes st if nobody changed it since it was read.
func (r *Reporter) putState(ctx context.Context, st *State) error {
	data, _ := json.Marshal(st)
	cond := store.IfAbsent
	if st.version != 0 {
		cond = store.IfVersion(st.version)
	}
	it, err := r.Store.Put(ctx, store.Item{PK: pkDay, SK: st.Date, Data: data}, cond)
	if err != nil {
		return fmt.Errorf("report: store state of %s: %w", st.Date, err)
	}
	st.version = it.Version
	return nil
}

// queue marks d pending, unless it was sent and the run was not asked for
// it explicitly.
func (r *Reporter) queue(ctx context.Context, d calendar.Day, again bool, now time.Time) error {
	st, _, err := r.state(ctx, d)
	if err != nil {
		return err
	}
	if st.Status == StatusSent && !again || st.Status == StatusPending {
		return nil
	}
	st.Status, st.UpdatedAt = StatusPending, now.Unix()
	if err := r.putState(ctx, &st); err != nil {
		return err
	}
	if _, err := r.Store.Put(ctx, store.Item{PK: pkPending, SK: d.String(), Data: []byte("{}")}, store.Always); err != nil {
		return fmt.Errorf("report: queue %s: %w", d, err)
	}
	return nil
}

func (r *Reporter) expire(ctx context.Context, d calendar.Day, now time.Time) error {
	st, _, err := r.state(ctx, d)
	if err != nil {
		return err
	}
	st.Status, st.UpdatedAt = StatusExpired, now.Unix()
	if err := r.putState(ctx, &st); err != nil {
		return err
	}
	r.Logger.LogAttrs(ctx, slog.LevelError, "daily report never sent; given up", slog.String("day", d.String()),
		slog.Int("attempts", st.Attempts), slog.String("last_error", st.LastError))
	return r.Store.Delete(ctx, pkPending, d.String(), store.Always)
}

// send claims, renders and pushes d's report. ok is false when another run
// holds the claim.
func (r *Reporter) send(ctx context.Context, d calendar.Day, now time.Time) (bool, error) {
	st, _, err := r.state(ctx, d)
	if err != nil {
		return false, err
	}
	switch {
	case st.Status == StatusSent:
		return false, r.Store.Delete(ctx, pkPending, d.String(), store.Always)
	case st.Status == StatusSending && now.Sub(time.Unix(st.UpdatedAt, 0)) < sendLease:
		return false, nil
	}
	st.Status, st.UpdatedAt = StatusSending, now.Unix()
	st.Attempts++
	if err := r.putState(ctx, &st); errors.Is(err, store.ErrConditionFailed) {
		return false, nil // another run claimed it
	} else if err != nil {
		return false, err
	}

	content, err := r.render(ctx, d)
	if err == nil {
		err = r.WeCom.SendRobotMarkdown(ctx, r.Webhook, content)
	}
	if err != nil {
		st.Status, st.LastError, st.UpdatedAt = StatusPending, err.Error(), r.Now().Unix()
		if perr := r.putState(ctx, &st); perr != nil {
			err = errors.Join(err, perr)
		}
		r.Logger.LogAttrs(ctx, slog.LevelError, "daily report not sent; the next run retries",
			slog.String("day", d.String()), slog.Int("attempts", st.Attempts), slog.Any("err", err))
		return false, fmt.Errorf("report %s: %w", d, err)
	}
	st.Status, st.LastError, st.SentAt, st.Bytes = StatusSent, "", r.Now().Unix(), len(content)
	st.UpdatedAt = st.SentAt
	if err := r.putState(ctx, &st); err != nil {
		return true, err
	}
	r.Logger.LogAttrs(ctx, slog.LevelInfo, "daily report sent", slog.String("day", d.String()), slog.Int("bytes", len(content)))
	return true, r.Store.Delete(ctx, pkPending, d.String(), store.Always)
}

// render builds and renders d's report in the language of the brand's
// settings (report_lang), else the reporter's.
func (r *Reporter) render(ctx context.Context, d calendar.Day) (string, error) {
	data, err := Build(ctx, r.Store, d)
	if err != nil {
		return "", err
	}
	set, err := channels.LoadSettings(ctx, r.Store)
	if err != nil {
		return "", err
	}
	return Render(data, cmp.Or(set.ReportLang, r.Lang), wecom.MaxRobotMarkdownBytes), nil
}
