package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim/scenario"
)

// mismatch records one figure that differs from the truth.
func (r *run) mismatch(format string, args ...any) {
	r.fig.Mismatches++
	if len(r.fig.MismatchList) < 40 {
		r.fig.MismatchList = append(r.fig.MismatchList, fmt.Sprintf(format, args...))
	}
}

// check compares every stat, post and welcome with the truth, through the
// API as a brand reads them, and the event log with what WeCom sent.
func (r *run) check(ctx context.Context) error {
	t := r.sc.Truth()
	from, to := r.opts.First.String(), r.opts.First.AddDays(r.opts.Days-1).String()
	q := "?from=" + from + "&to=" + to

	var daily struct {
		Days []scenario.Day `json:"days"`
	}
	if err := r.api(ctx, http.MethodGet, "/api/stats/daily"+q, nil, &daily); err != nil {
		return err
	}
	if len(daily.Days) != r.opts.Days {
		r.mismatch("daily: %d rows, want %d", len(daily.Days), r.opts.Days)
	}
	// Which customers a wrong day is about, first (the list keeps 40).
	for _, got := range daily.Days {
		if want := t.Days[got.Date]; want != nil && got != *want {
			if err := r.diagnoseLive(ctx); err != nil {
				return err
			}
			break
		}
	}
	for _, got := range daily.Days {
		want := t.Days[got.Date]
		if want == nil {
			r.mismatch("daily %s: not in the truth", got.Date)
			continue
		}
		if got != *want {
			r.mismatch("daily %s:\n  got  %+v\n  want %+v", got.Date, got, *want)
		}
	}
	for _, by := range []string{"member", "channel"} {
		var rows struct {
			Days []struct {
				Date    string  `json:"date"`
				Member  *string `json:"member"`
				Channel *string `json:"channel"`
				scenario.Flows
			} `json:"days"`
		}
		if err := r.api(ctx, http.MethodGet, "/api/stats/daily"+q+"&by="+by, nil, &rows); err != nil {
			return err
		}
		want := t.Members
		if by == "channel" {
			want = t.Channels
		}
		seen := map[string]bool{}
		for _, got := range rows.Days {
			key := got.Member
			if by == "channel" {
				key = got.Channel
			}
			if key == nil {
				continue // a day without rows
			}
			seen[got.Date+"/"+*key] = true
			var w scenario.Flows
			if f := want[got.Date][*key]; f != nil {
				w = *f
			}
			if got.Flows != w {
				r.mismatch("by %s %s %q:\n  got  %+v\n  want %+v", by, got.Date, *key, got.Flows, w)
			}
		}
		for date, m := range want {
			if date < from || date > to {
				continue
			}
			for k, f := range m {
				if *f != (scenario.Flows{}) && !seen[date+"/"+k] {
					r.mismatch("by %s %s %q: missing, want %+v", by, date, k, *f)
				}
			}
		}
	}

	var cohorts struct {
		Cohorts []scenario.Cohort `json:"cohorts"`
	}
	if err := r.api(ctx, http.MethodGet, "/api/stats/cohorts"+q, nil, &cohorts); err != nil {
		return err
	}
	wantCo := t.Cohorts(r.opts.First.AddDays(r.opts.Days).Start(r.loc))
	for _, got := range cohorts.Cohorts {
		if w := wantCo[got.Date]; w != nil && got != *w {
			r.mismatch("cohort %s:\n  got  %+v\n  want %+v", got.Date, got, *w)
		}
	}

	var groups struct {
		Groups []struct {
			Date   string `json:"date"`
			ChatID string `json:"chat_id"`
			scenario.GroupDay
		} `json:"groups"`
	}
	if err := r.api(ctx, http.MethodGet, "/api/stats/groups"+q, nil, &groups); err != nil {
		return err
	}
	seenG := map[string]bool{}
	for _, got := range groups.Groups {
		if got.ChatID == "" {
			continue
		}
		seenG[got.Date+"/"+got.ChatID] = true
		var w scenario.GroupDay
		if g := t.GroupDays[got.Date][got.ChatID]; g != nil {
			w = *g
		}
		if got.GroupDay != w {
			r.mismatch("group %s %s:\n  got  %+v\n  want %+v", got.Date, got.ChatID, got.GroupDay, w)
		}
	}
	for date, m := range t.GroupDays {
		for chat, g := range m {
			if date >= from && date <= to && (g.Joins > 0 || g.QuitsSelf > 0 || g.QuitsRemoved > 0) && !seenG[date+"/"+chat] {
				r.mismatch("group %s %s: missing, want %+v", date, chat, *g)
			}
		}
	}

	r.checkPosts(ctx)
	r.checkWelcomes()
	return r.checkLog(ctx)
}

// checkPosts: every post sent exactly once, and each Moment's funnel as
// WeCom knows it.
func (r *run) checkPosts(ctx context.Context) {
	sentMoments := map[string]int{}
	momentIDs := map[string]string{}
	for _, m := range r.sim.Moments() {
		sentMoments[m.Text]++
		momentIDs[m.Text] = m.MomentID
	}
	msgs := map[string]int{}
	for _, m := range r.sim.GroupMsgs() {
		if m.Template.Text != nil {
			msgs[m.Template.Text.Content]++
		}
	}
	for _, p := range r.posts {
		var got struct {
			Status   string `json:"status"`
			MomentID string `json:"moment_id"`
		}
		if err := r.api(ctx, http.MethodGet, "/api/posts/"+p.id, nil, &got); err != nil {
			r.mismatch("post %s: %v", p.id, err)
			continue
		}
		n := msgs[p.plan.Text]
		if p.plan.Kind == "moment" {
			n = sentMoments[p.plan.Text]
		}
		if got.Status == "sent" {
			r.fig.PostsSent++
		}
		if got.Status != "sent" || n != 1 {
			r.mismatch("post %s (%s at %s): status %s, sent %d times, want sent once", p.id, p.plan.Kind, p.plan.SendAt.Format("01-02 15:04"), got.Status, n)
			continue
		}
		// Siyu follows a Moment's engagement for moments.DefaultWindow; the
		// simulator's funnel keeps moving with the brand after that.
		if p.plan.Kind != "moment" || r.clk.Now().Sub(p.plan.SendAt) > moments.DefaultWindow {
			continue
		}
		var funnel struct {
			Targeted  int `json:"members_targeted"`
			Published int `json:"members_published"`
			Reached   int `json:"customers_reached"`
			Engaged   int `json:"customers_engaged"`
		}
		if err := r.api(ctx, http.MethodGet, "/api/posts/"+p.id+"/stats", nil, &funnel); err != nil {
			r.mismatch("post %s stats: %v", p.id, err)
			continue
		}
		w := r.sim.MomentTruth(momentIDs[p.plan.Text])
		if funnel.Targeted != w.Targeted || funnel.Published != w.Published || funnel.Reached != w.Reached || funnel.Engaged != w.Engaged {
			r.mismatch("post %s funnel: got %+v, want targeted %d published %d reached %d engaged %d",
				p.id, funnel, w.Targeted, w.Published, w.Reached, w.Engaged)
		}
	}
}

// checkWelcomes: never twice for a code; exactly once for a fresh code
// when the stack sends welcomes (Options.WelcomesSent).
func (r *run) checkWelcomes() {
	sent := map[string]int{}
	for _, w := range r.sim.Welcomes() {
		sent[w.Code]++
		r.fig.WelcomesSent++
	}
	for code, n := range sent {
		if n > 1 {
			r.mismatch("welcome %s sent %d times", code, n)
		}
	}
	if !r.opts.WelcomesSent {
		return
	}
	for code, w := range r.sc.Truth().Welcomes {
		if !w.Lost && sent[code] != 1 {
			// What Siyu recorded for the code says why (the claim's outcome).
			claim := "no claim"
			if it, err := r.fs.Store.Get(context.Background(), "welcome#"+code, "claim"); err == nil {
				claim = string(it.Data)
			}
			r.mismatch("welcome %s (%s → %s at %s) sent %d times, want once; Siyu recorded: %s%s", code, w.Member, w.Customer, w.At.In(r.loc).Format(time.DateTime), sent[code], claim, r.welcomeTrail(w))
		}
	}
}

// welcomeTrail is what Siyu stored and logged of a welcome the check
// found missing: the add's event and Siyu's own events of the customer
// that day (the claim above expires; these stay), and the run's log lines
// naming the add's event key (warnings and errors, at most a few).
func (r *run) welcomeTrail(w scenario.Welcome) string {
	var out, keys []string
	day := calendar.Of(w.At, r.loc)
	items, err := store.QueryAll(context.Background(), r.fs.Store, store.Query{PK: events.PK(day), Limit: store.MaxLimit})
	if err != nil {
		return "\n    event log: " + err.Error()
	}
	for _, it := range items {
		var rec events.Record
		if json.Unmarshal(it.Data, &rec) != nil || rec.ExternalUserID != w.Customer || rec.UserID != w.Member {
			continue
		}
		if rec.WelcomeCode == w.Code {
			keys = append(keys, rec.Key)
		}
		if rec.WelcomeCode == w.Code || rec.Origin == events.OriginSiyu {
			out = append(out, fmt.Sprintf("\n    stored: %s %s %s/%s at %s source %q %s", rec.Origin, rec.Event.Event, rec.ChangeType,
				rec.Key, rec.Time().In(r.loc).Format(time.TimeOnly), rec.Source, rec.FailReason))
		}
	}
	n := 0
	for line := range strings.Lines(r.logs.String()) {
		if n < 6 && slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(line, k) }) {
			out = append(out, "\n    log: "+strings.TrimSpace(line))
			n++
		}
	}
	return strings.Join(out, "")
}

// checkLog reads the event log day by day: no callback stored twice, every
// delivered one stored, and the reconciled events counted.
func (r *run) checkLog(ctx context.Context) error {
	type id struct {
		event, change, detail, member, customer, chat, source string
		at                                                    int64
	}
	stored := map[id]int{}
	last := r.opts.First.AddDays(r.opts.Days)
	for d := r.opts.First; !d.After(last); d = d.AddDays(1) {
		items, err := store.QueryAll(ctx, r.fs.Store, store.Query{PK: events.PK(d), Limit: store.MaxLimit})
		if err != nil {
			return err
		}
		for _, it := range items {
			var rec events.Record
			if err := json.Unmarshal(it.Data, &rec); err != nil {
				return fmt.Errorf("event %s/%s: %w", it.PK, it.SK, err)
			}
			switch rec.Origin {
			case events.OriginReconciled:
				r.fig.Reconciled++
				continue
			case events.OriginCallback:
			default:
				continue
			}
			stored[id{rec.Event.Event, rec.ChangeType, rec.UpdateDetail, rec.UserID, rec.ExternalUserID, rec.ChatID, rec.Source, rec.CreateTime}]++
		}
	}
	for k, n := range stored {
		if n > 1 {
			r.mismatch("event stored %d times: %+v", n, k)
		}
	}
	want := r.fig.Events - r.fig.Lost
	if len(stored) != want {
		r.mismatch("event log holds %d callbacks, want %d", len(stored), want)
	}
	var reconciled int64
	for _, d := range r.sc.Truth().Days {
		reconciled += d.Reconciled
	}
	if int64(r.fig.Reconciled) != reconciled {
		r.mismatch("reconciled events: %d, want %d", r.fig.Reconciled, reconciled)
	}
	return nil
}

// Summary is the figures as the run prints them.
func (f Figures) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "customers %d, days %d\n", f.Customers, f.Days)
	fmt.Fprintf(&b, "events %d (lost in the outage %d), delivered %d, duplicates absorbed %d (concurrent %d, replayed hours later %d)\n",
		f.Events, f.Lost, f.Delivered, f.Duplicates, f.Concurrent, f.Replayed)
	fmt.Fprintf(&b, "failures injected: store writes %d (callbacks retried after 5xx %d, unexpected 5xx %d), WeCom -1/45009 %d, token expiries %d, poster ticks died %d\n",
		f.Failures, f.Retries5xx, f.Unexpected5xx, f.WeComErrors, f.TokenExpiries, f.TicksDied)
	fmt.Fprintf(&b, "kills survived %d, events recovered by reconciliation %d\n", f.Kills, f.Reconciled)
	fmt.Fprintf(&b, "posts scheduled %d, sent %d; welcomes sent %d\n", f.PostsScheduled, f.PostsSent, f.WelcomesSent)
	nights := int64(max(f.Days, 1))
	fmt.Fprintf(&b, "nightly: mean %s, max %s; store calls mean %d, max %d; items mean %d, max %d; peak heap over the process's own %.1f MiB\n",
		(f.NightlyTotal / time.Duration(nights)).Round(1e6), f.NightlyMax.Round(1e6), f.NightlyRequests/nights, f.NightlyRequestsMax,
		f.NightlyItems/nights, f.NightlyItemsMax, float64(f.NightlyPeakHeap)/(1<<20))
	fmt.Fprintf(&b, "nightly WeCom API calls: mean %d\n", f.NightlyWeComCalls/nights)
	for _, job := range rolluproot.NightlySteps {
		if st, ok := f.NightlySteps[job]; ok {
			fmt.Fprintf(&b, "  %-8s mean %s, %d items, %d WeCom calls a night\n", job, (st.Time / time.Duration(nights)).Round(1e6),
				st.Items/nights, st.WeComCalls/nights)
		}
	}
	fmt.Fprintf(&b, "wall time: setup %s, callbacks %s, poster ticks %s, nightly %s, check %s\n", f.SetupTime.Round(1e6),
		f.DeliverTime.Round(1e6), f.TickTime.Round(1e6), f.NightlyTotal.Round(1e6), f.CheckTime.Round(1e6))
	fmt.Fprintf(&b, "panics %d, mismatches %d, wall time %s\n", f.Panics, f.Mismatches, f.Wall.Round(1e6))
	for _, m := range f.MismatchList {
		b.WriteString("  mismatch: " + m + "\n")
	}
	return b.String()
}

// diagnoseLive says which customers a wrong count is about: those live in
// the truth and not in Siyu's live relationships, or the reverse, each with
// the relationships either side has and the events Siyu stored of them.
func (r *run) diagnoseLive(ctx context.Context) error {
	t := r.sc.Truth()
	live, err := churn.Live(ctx, r.fs.Store, r.loc, r.clk.Now())
	if err != nil {
		return err
	}
	siyu := map[string][]string{}
	for _, rel := range live {
		siyu[rel.Customer] = append(siyu[rel.Customer], rel.Member+"/"+rel.Channel)
	}
	var differ []string
	t.EachLive(func(c string) {
		if siyu[c] == nil {
			differ = append(differ, c)
		}
	})
	for c := range siyu {
		if len(t.LiveMembers(c)) == 0 {
			differ = append(differ, c)
		}
	}
	slices.Sort(differ)
	r.mismatch("live customers now: truth %d, Siyu %d; %d differ", t.LiveCustomers(), len(siyu), len(differ))
	shown := differ[:min(len(differ), 5)]
	trails := map[string][]string{}
	log := events.NewLog(r.fs.Store, r.loc, r.clk.Now)
	for d := r.opts.First; !d.After(r.opts.First.AddDays(r.opts.Days)); d = d.AddDays(1) {
		err := log.Day(ctx, d, func(rec events.Record) error {
			if c := rec.ExternalUserID; slices.Contains(shown, c) {
				trails[c] = append(trails[c], fmt.Sprintf("%s %s %s/%s state=%q source=%q origin=%s", rec.Time().In(r.loc).Format(time.DateTime),
					rec.ChangeType, rec.UserID, c, rec.State, rec.Source, rec.Origin))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, c := range shown {
		r.mismatch("customer %s: truth %v, Siyu %v; stored events:\n    %s", c, t.LiveMembers(c), siyu[c], strings.Join(trails[c], "\n    "))
	}
	return nil
}
