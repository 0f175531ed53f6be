// Package contactsync is the "sync" job: it reads WeCom's follow lists and
// customer-contact statistics and makes Siyu agree with them.
//
// The first run imports every relationship that existed before Siyu was
// switched on (get_follow_user_list, then batch/get_by_user for ≤100 members
// a call, cursor paged) and the member counts of customer groups
// (groupchat/list + groupchat/get), and sets them as the baseline
// (churn.SetBaseline, churn.SetGroupBaseline).
//
// Every run reads each customer group (groupchat/get) and keeps its name
// (GroupNames) when it is new or changed, so the console and the stats API
// show groups by name.
//
// Every later run reconciles: it diffs each member's relationships in WeCom
// against the relationships Siyu believes live (churn.Live) and writes each
// difference to the event log as a "reconciled" event dated at the moment
// it was found, so it is counted on that day, once:
//
//   - WeCom has the pair, Siyu does not: a reconciled add_external_contact
//     (with the follow_info state as channel) — unless Siyu last saw the
//     customer end that pair (del_follow_user) and WeCom's add time is not
//     newer: after a customer deletes a member WeCom keeps a one-way
//     relationship, and the follow lists keep returning it.
//   - Siyu has the pair, WeCom does not: a reconciled del_external_contact
//     (deleted by the member). A deletion by the customer would have left
//     the one-way relationship in WeCom's lists, so a pair WeCom no longer
//     lists at all was ended by the member (or by a transfer whose callbacks
//     were both lost, which cannot be told apart).
//
// A lost del_follow_user cannot be seen through the follow lists (the
// one-way relationship stays listed). That is what the per-member behaviour
// data is for: each run stores WeCom's own daily new_contact_cnt and
// negative_feedback_cnt beside Siyu's per-member counts (BehaviorFor), so a
// disagreement shows in the stats API and the daily report.
//
// A second run re-reads Siyu's live relationships, which already include
// the first run's reconciled events, so it writes nothing again. Pairs with
// an event in the last few minutes (Settle) are left for the next run: their
// callback may still be in flight. Members WeCom no longer lists (left the
// company, out of the app's visible range) are not reconciled.
//
// The baseline also cannot tell a one-way relationship from a live one:
// customers who deleted a member before Siyu was switched on are counted in
// the baseline and never counted as lost.
//
// Progress is checkpointed in the KV table after every batch of members
// (and every member for the behaviour data): a WeCom error mid-run returns
// the error, leaves what is stored intact, and the next run resumes where
// this one stopped.
//
// # Storage
//
//	sync#state                sk run          the current run's phase and checkpoint
//	sync#baseline             sk <member>#NNNN relationships fetched for the baseline, until it is set
//	wecomstat#member#<date>   sk <member>     WeCom's behaviour data of a member and (Beijing) day
//	group#name                sk <chat_id>    a customer group's name, written when it is new or renamed
//	sync#oneway#<member>      sk <customer>   a one-way relationship the reconciliation confirmed, with
//	                                          WeCom's add time: later nights skip it without reading the
//	                                          customer's facts, until WeCom's add time changes or it is no
//	                                          longer listed (one-way relationships pile up: a year of a
//	                                          brand's customer deletions, each listed every night)
package contactsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Defaults of a Syncer.
const (
	// DefaultBehaviorDays is how many days, ending yesterday, a nightly run
	// re-reads from get_user_behavior_data (WeCom revises recent days).
	DefaultBehaviorDays = 7
	// DefaultSettle is how recent a pair's last event may be before the
	// diff leaves it for the next run.
	DefaultSettle = 10 * time.Minute
)

// Syncer runs the sync job.
type Syncer struct {
	Store  store.Store
	WeCom  *wecom.Client
	Log    *events.Log
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
	// CorpID is written as the corp of reconciled events (as callbacks carry it).
	CorpID string
	// BehaviorDays: see DefaultBehaviorDays.
	BehaviorDays int
	// Settle: see DefaultSettle.
	Settle time.Duration
	// Concurrency: see DefaultConcurrency.
	Concurrency int
}

// DefaultConcurrency is how many cursor chains of batch/get_by_user the
// nightly reconciliation follows at once. WeCom caps a corp's concurrent
// calls of such reading APIs (45033, retried with back-off; the cap is
// not documented), so it stays small.
const DefaultConcurrency = 2

func (y *Syncer) concurrency() int {
	if y.Concurrency > 0 {
		return y.Concurrency
	}
	return DefaultConcurrency
}

// New returns a Syncer over s and client, with days in loc.
func New(s store.Store, client *wecom.Client, corpID string, loc *time.Location, logger *slog.Logger, now func() time.Time) *Syncer {
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Syncer{Store: s, WeCom: client, Log: events.NewLog(s, loc, now), Loc: loc, Now: now, Logger: logger,
		CorpID: corpID, BehaviorDays: DefaultBehaviorDays, Settle: DefaultSettle}
}

// Job is the "sync" job.
func (y *Syncer) Job() jobs.Func { return y.Run }

// Phases of a run, in order.
const (
	phaseRelationships = "relationships"
	phaseGroups        = "groups"
	phaseBehavior      = "behavior"
	phaseDone          = "done"
)

// Run is the sync job. Without a date it reconciles and re-reads the
// behaviour data of the last BehaviorDays days; with a date or from/to it
// reads the behaviour data of those days instead (at most the last 180).
// The first run sets the baseline instead of reconciling.
func (y *Syncer) Run(ctx context.Context, req jobs.Request) (jobs.Result, error) {
	if y.WeCom == nil {
		return nil, errors.New("sync: WeCom is not configured (WECOM_CORP_ID and WECOM_SECRET)")
	}
	now := y.Now()
	days, err := y.behaviorDays(req, now)
	if err != nil {
		return nil, err
	}
	st, resumed, err := y.startState(ctx, now)
	if err != nil {
		return nil, err
	}
	members, err := y.WeCom.GetFollowUserList(ctx)
	if err != nil {
		return nil, fmt.Errorf("sync: list members: %w", err)
	}
	members = slices.Clone(members)
	slices.Sort(members)
	members = slices.Compact(members)

	res := jobs.Result{"job": "sync", "baseline": st.Baseline, "resumed": resumed, "members": len(members)}
	fail := func(err error) (jobs.Result, error) {
		y.Logger.LogAttrs(ctx, slog.LevelError, "sync stopped; the next run resumes",
			slog.String("phase", st.Phase), slog.String("after", st.After), slog.Any("err", err))
		return nil, err
	}
	if st.Phase == phaseRelationships {
		if st.Baseline {
			err = y.importBaseline(ctx, st, members)
		} else {
			err = y.reconcile(ctx, st, members, now)
		}
		if err != nil {
			return fail(err)
		}
		if err := y.advance(ctx, st, phaseGroups); err != nil {
			return fail(err)
		}
	}
	if st.Phase == phaseGroups {
		n, err := y.readGroups(ctx, st, members)
		switch {
		case err != nil && st.Baseline:
			return fail(err)
		case err != nil:
			// After the baseline the groups are read only for their names:
			// a group WeCom will not answer for (dismissed between list and
			// get, or a limit) must not stop the night; the names wait a night.
			y.Logger.LogAttrs(ctx, slog.LevelWarn, "sync: group names not refreshed tonight", slog.String("err", err.Error()))
			res["groups_error"] = err.Error()
		default:
			res["groups"] = n
		}
		if err := y.advance(ctx, st, phaseBehavior); err != nil {
			return fail(err)
		}
	}
	if st.Phase == phaseBehavior {
		if err := y.pullBehavior(ctx, st, members, days); err != nil {
			return fail(err)
		}
		if err := y.advance(ctx, st, phaseDone); err != nil {
			return fail(err)
		}
	}
	res["relationships"] = st.Relationships
	res["reconciled_added"] = st.Added
	res["reconciled_deleted"] = st.Deleted
	res["one_way_kept"] = st.OneWay
	res["behavior_rows"] = st.BehaviorRows
	if len(days) > 0 {
		res["behavior_from"], res["behavior_to"] = days[0].String(), days[len(days)-1].String()
	}
	y.Logger.LogAttrs(ctx, slog.LevelInfo, "sync done", slog.Bool("baseline", st.Baseline),
		slog.Int("members", len(members)), slog.Int64("relationships", st.Relationships),
		slog.Int64("reconciled_added", st.Added), slog.Int64("reconciled_deleted", st.Deleted),
		slog.Int64("one_way_kept", st.OneWay), slog.Int64("behavior_rows", st.BehaviorRows))
	return res, nil
}

// behaviorDays resolves the days whose behaviour data a run reads.
func (y *Syncer) behaviorDays(req jobs.Request, now time.Time) ([]calendar.Day, error) {
	var days []calendar.Day
	if req.Date == "" && req.From == "" && req.To == "" {
		yesterday := calendar.Of(now, y.Loc).AddDays(-1)
		for d := yesterday.AddDays(1 - max(y.BehaviorDays, 1)); !d.After(yesterday); d = d.AddDays(1) {
			days = append(days, d)
		}
	} else {
		var err error
		if days, err = req.Days(now, y.Loc); err != nil {
			return nil, err
		}
	}
	oldest := calendar.Of(now, wecom.Beijing).AddDays(-wecom.MaxStatAgeDays + 1)
	return slices.DeleteFunc(days, func(d calendar.Day) bool { return d.Before(oldest) }), nil
}
