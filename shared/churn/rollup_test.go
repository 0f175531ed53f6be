package churn_test

import (
	"reflect"
	"testing"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// dayWant is the part of a day's stats a scenario checks.
type dayWant struct {
	start, new, lost, removed, end int64
	added, byCustomer, byMember    int64
	transferred, reconciled        int64
	churn                          float64
}

func gotOf(d churn.Daily) dayWant {
	return dayWant{d.CustomersStart, d.NewCustomers, d.LostCustomers, d.RemovedCustomers, d.CustomersEnd,
		d.Relationships.Added, d.Relationships.DeletedByCustomer, d.Relationships.DeletedByMember,
		d.Transferred, d.Reconciled, d.ChurnRate}
}

type batch struct {
	origin string
	events []wecom.Event
}

func cb(evs ...wecom.Event) batch  { return batch{events.OriginCallback, evs} }
func rec(evs ...wecom.Event) batch { return batch{events.OriginReconciled, evs} }

func TestDailyChurn(t *testing.T) {
	tests := []struct {
		name    string
		batches []batch
		want    []dayWant // from day0, one per day
	}{
		{
			name: "a customer with two members is lost only when the last one goes",
			batches: []batch{cb(
				add("alice", "c1", "poster", at(0, 10, 0)),
				add("bob", "c1", "shop", at(0, 11, 0)),
				delByCustomer("alice", "c1", at(1, 9, 0)),
				delByCustomer("bob", "c1", at(2, 9, 0)),
			)},
			want: []dayWant{
				{start: 0, new: 1, end: 1, added: 2},
				{start: 1, end: 1, byCustomer: 1},
				{start: 1, lost: 1, end: 0, byCustomer: 1, churn: 1},
			},
		},
		{
			name: "a customer added and lost the same day is new and lost",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				delByCustomer("alice", "c1", at(0, 18, 0)),
				add("alice", "c2", "", at(0, 11, 0)),
			)},
			want: []dayWant{{start: 0, new: 2, lost: 1, end: 1, added: 2, byCustomer: 1, churn: 0.5}},
		},
		{
			name: "a customer lost and won back the same day is lost and new",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				delByCustomer("alice", "c1", at(1, 9, 0)),
				add("bob", "c1", "", at(1, 15, 0)),
			)},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, new: 1, lost: 1, end: 1, added: 1, byCustomer: 1, churn: 0.5},
			},
		},
		{
			name: "a member deleting the customer removes them and is not churn",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				delByMember("alice", "c1", at(1, 9, 0)),
			)},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, removed: 1, end: 0, byMember: 1},
			},
		},
		{
			name: "a transfer to another member is neither a loss nor a new customer",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				transferAway("alice", "c1", at(1, 10, 0)),
				add("bob", "c1", "", at(1, 10, 1)),
			)},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, end: 1, added: 1, transferred: 1},
			},
		},
		{
			name: "a transfer whose new member arrives the next day keeps the customer",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				transferAway("alice", "c1", at(1, 23, 59)),
				add("bob", "c1", "", at(2, 0, 1)),
				delByCustomer("bob", "c1", at(3, 8, 0)),
			)},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, end: 1, transferred: 1},
				{start: 1, end: 1, added: 1},
				{start: 1, lost: 1, end: 0, byCustomer: 1, churn: 1},
			},
		},
		{
			name: "the new member's add arriving before the transfer changes nothing either",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)),
				add("bob", "c1", "", at(1, 10, 0)),
				transferAway("alice", "c1", at(1, 10, 1)),
			)},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, end: 1, added: 1, transferred: 1},
			},
		},
		{
			name: "events delivered twice are counted once",
			batches: []batch{
				cb(add("alice", "c1", "", at(0, 10, 0)), delByCustomer("alice", "c1", at(1, 10, 0))),
				cb(add("alice", "c1", "", at(0, 10, 0)), delByCustomer("alice", "c1", at(1, 10, 0))),
			},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, lost: 1, byCustomer: 1, churn: 1},
			},
		},
		{
			name: "a half add followed by the full add is one relationship",
			batches: []batch{cb(
				halfAdd("alice", "c1", "poster", at(0, 10, 0)),
				add("alice", "c1", "poster", at(0, 10, 5)),
			)},
			want: []dayWant{{new: 1, end: 1, added: 1}},
		},
		{
			name: "a reconciled add found by the sync is counted on the day it was found",
			batches: []batch{
				cb(add("alice", "c1", "", at(0, 10, 0))),
				// The sync at 02:00 finds bob/c2, whose callback was lost, and
				// alice/c1 deleted by the customer without a callback.
				rec(add("bob", "c2", "", at(1, 2, 0)), delByCustomer("alice", "c1", at(1, 2, 0))),
			},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, new: 1, lost: 1, end: 1, added: 1, byCustomer: 1, reconciled: 2, churn: 0.5},
			},
		},
		{
			name: "a reconciled copy of a counted event is not counted again",
			batches: []batch{
				cb(add("alice", "c1", "", at(0, 10, 0))),
				rec(add("alice", "c1", "", at(1, 2, 0))),
			},
			want: []dayWant{
				{new: 1, end: 1, added: 1},
				{start: 1, end: 1},
			},
		},
		{
			// WeCom's times are whole seconds. Of these six pairs, the
			// deletes of c2, c4, c5 and c6 have keys below their adds' (key
			// order was the only order within a second before ties were
			// ordered by what each fact can do), as
			// TestTiesWithinASecondFollowThePairsState checks.
			name: "a customer who adds and deletes a member within one second is new and lost",
			batches: []batch{cb(
				add("alice", "c1", "", at(0, 10, 0)), delByCustomer("alice", "c1", at(0, 10, 0)),
				add("alice", "c2", "", at(0, 10, 0)), delByCustomer("alice", "c2", at(0, 10, 0)),
				add("alice", "c3", "", at(0, 10, 0)), delByCustomer("alice", "c3", at(0, 10, 0)),
				add("alice", "c4", "", at(0, 10, 0)), delByCustomer("alice", "c4", at(0, 10, 0)),
				add("alice", "c5", "", at(0, 10, 0)), delByCustomer("alice", "c5", at(0, 10, 0)),
				add("alice", "c6", "", at(0, 10, 0)), delByCustomer("alice", "c6", at(0, 10, 0)),
			)},
			want: []dayWant{{new: 6, lost: 6, added: 6, byCustomer: 6, churn: 1}},
		},
		{
			name: "a customer who deletes a member and adds them again within one second is lost and new",
			batches: []batch{cb(
				add("alice", "c2", "", at(0, 10, 0)),
				add("alice", "c2", "", at(1, 10, 0)), delByCustomer("alice", "c2", at(1, 10, 0)),
			)},
			want: []dayWant{{new: 1, end: 1, added: 1}, {start: 1, new: 1, lost: 1, end: 1, added: 1, byCustomer: 1, churn: 0.5}},
		},
		{
			name:    "a delete of a relationship from before Siyu counts as a relationship, not a customer",
			batches: []batch{cb(delByCustomer("alice", "old", at(0, 10, 0)))},
			want:    []dayWant{{byCustomer: 1}},
		},
		{
			name: "a day without events is all zeros",
			want: []dayWant{{}, {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			for _, b := range tt.batches {
				e.appendAll(b.events, b.origin)
			}
			got := e.run(0, len(tt.want)-1)
			for i, w := range tt.want {
				if g := gotOf(got[i].Daily); g != w {
					t.Errorf("day %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			e.checkInvariant(day0, day0.AddDays(len(tt.want)-1))
		})
	}
}

// checkInvariant asserts end = start + new - lost - removed on every stored
// day, and that each start is the previous day's end.
func (e *env) checkInvariant(from, to calendar.Day) {
	e.t.Helper()
	days, err := churn.DailyRange(e.ctx, e.store, from, to)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, d := range days {
		if d.CustomersEnd != d.CustomersStart+d.NewCustomers-d.LostCustomers-d.RemovedCustomers {
			e.t.Errorf("%s: end %d != start %d + new %d - lost %d - removed %d", d.Date, d.CustomersEnd,
				d.CustomersStart, d.NewCustomers, d.LostCustomers, d.RemovedCustomers)
		}
		if i > 0 && d.CustomersStart != days[i-1].CustomersEnd {
			e.t.Errorf("%s: start %d is not the previous day's end %d", d.Date, d.CustomersStart, days[i-1].CustomersEnd)
		}
	}
}

func TestBreakdowns(t *testing.T) {
	e := newEnv(t)
	e.appendAll([]wecom.Event{
		add("alice", "c1", "poster", at(0, 9, 0)),
		add("bob", "c1", "shop", at(0, 9, 30)),
		add("alice", "c2", "shop", at(0, 10, 0)),
		delByCustomer("alice", "c1", at(0, 11, 0)),
		delByCustomer("bob", "c1", at(0, 12, 0)),
		delByMember("alice", "c2", at(0, 13, 0)),
	}, events.OriginCallback)
	e.run(0, 0)

	t.Run("a customer is charged to the member and channel that brought and lost them", func(t *testing.T) {
		members, err := churn.MemberRange(e.ctx, e.store, day0, day0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][5]int64{}
		for _, m := range members {
			got[m.Member] = [5]int64{m.NewCustomers, m.LostCustomers, m.RemovedCustomers, m.Relationships.Added, m.Relationships.DeletedByCustomer}
		}
		want := map[string][5]int64{"alice": {2, 0, 1, 2, 1}, "bob": {0, 1, 0, 1, 1}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("members (new, lost, removed, added, deleted by customer) = %v, want %v", got, want)
		}
		channels, err := churn.ChannelRange(e.ctx, e.store, day0, day0)
		if err != nil {
			t.Fatal(err)
		}
		got = map[string][5]int64{}
		for _, c := range channels {
			got[*c.Channel] = [5]int64{c.NewCustomers, c.LostCustomers, c.RemovedCustomers, c.Relationships.Added, c.Relationships.DeletedByMember}
		}
		want = map[string][5]int64{"poster": {1, 0, 0, 1, 0}, "shop": {1, 1, 1, 2, 1}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("channels (new, lost, removed, added, deleted by member) = %v, want %v", got, want)
		}
	})
}

func TestCohorts(t *testing.T) {
	e := newEnv(t)
	e.appendAll([]wecom.Event{
		add("alice", "sameday", "", at(0, 9, 0)),
		delByCustomer("alice", "sameday", at(0, 20, 0)),
		add("alice", "week", "", at(0, 9, 0)),
		delByCustomer("alice", "week", at(3, 9, 0)),
		add("alice", "month", "", at(0, 9, 0)),
		delByCustomer("alice", "month", at(20, 9, 0)),
		add("alice", "removed", "", at(0, 9, 0)),
		delByMember("alice", "removed", at(1, 9, 0)),
		add("alice", "stays", "", at(0, 9, 0)),
		add("alice", "late", "", at(0, 9, 0)),
		delByCustomer("alice", "late", at(31, 9, 0)),
	}, events.OriginCallback)
	if _, err := e.rollup.Run(e.ctx, jobs.Request{From: day0.String(), To: day0.AddDays(31).String()}); err != nil {
		t.Fatal(err)
	}
	got, err := churn.CohortRange(e.ctx, e.store, day0, day0.AddDays(1))
	if err != nil {
		t.Fatal(err)
	}
	want := []churn.Cohort{
		{Date: day0.String(), NewCustomers: 6, Lost1d: 1, Lost7d: 2, Lost30d: 3, Rate1d: 1.0 / 6, Rate7d: 2.0 / 6, Rate30d: 3.0 / 6},
		{Date: day0.AddDays(1).String()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cohorts =\n%+v\nwant\n%+v", got, want)
	}
}

func TestGroups(t *testing.T) {
	tests := []struct {
		name     string
		baseline map[string]int
		events   []wecom.Event
		want     []churn.GroupDay
	}{
		{
			name: "joins and quits are counted from events when no baseline exists",
			events: []wecom.Event{
				groupEvent("g1", wecom.DetailAddMember, 0, 3, at(0, 9, 0)),
				groupEvent("g1", wecom.DetailDelMember, 0, 1, at(0, 10, 0)),
				groupEvent("g1", wecom.DetailDelMember, 1, 1, at(0, 11, 0)),
				groupEvent("g1", wecom.DetailAddMember, 0, 1, at(1, 9, 0)),
			},
			want: []churn.GroupDay{
				{ChatID: "g1", Date: day0.String(), Joins: 3, QuitsSelf: 1, QuitsRemoved: 1, MembersEnd: 1, QuitRate: 2.0 / 3},
				{ChatID: "g1", Date: day0.AddDays(1).String(), MembersStart: 1, Joins: 1, MembersEnd: 2},
			},
		},
		{
			name:     "a group baseline gives the starting members",
			baseline: map[string]int{"g1": 10},
			events: []wecom.Event{
				groupEvent("g1", wecom.DetailDelMember, 0, 2, at(1, 9, 0)),
			},
			want: []churn.GroupDay{
				{ChatID: "g1", Date: day0.AddDays(1).String(), MembersStart: 10, QuitsSelf: 2, MembersEnd: 8, QuitRate: 0.2},
			},
		},
		{
			name: "a dismissed group ends with no members",
			events: []wecom.Event{
				groupEvent("g1", wecom.DetailAddMember, 0, 4, at(0, 9, 0)),
				{ToUserName: "corp", Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatDismiss, ChatID: "g1", CreateTime: at(1, 9, 0).Unix(), Known: true},
			},
			want: []churn.GroupDay{
				{ChatID: "g1", Date: day0.String(), Joins: 4, MembersEnd: 4},
				{ChatID: "g1", Date: day0.AddDays(1).String(), MembersStart: 4, Dismissed: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.baseline != nil {
				if err := churn.SetGroupBaseline(e.ctx, e.store, shanghai, at(0, 12, 0), tt.baseline); err != nil {
					t.Fatal(err)
				}
			}
			e.appendAll(tt.events, events.OriginCallback)
			e.run(0, 1)
			got, err := churn.GroupRange(e.ctx, e.store, day0, day0.AddDays(1))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groups =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestRerun(t *testing.T) {
	scenario := []wecom.Event{
		add("alice", "c1", "poster", at(0, 10, 0)),
		add("bob", "c1", "shop", at(0, 11, 0)),
		add("alice", "c2", "shop", at(1, 10, 0)),
		delByCustomer("alice", "c1", at(1, 12, 0)),
		transferAway("bob", "c1", at(2, 9, 0)),
		add("carol", "c1", "", at(2, 9, 1)),
		delByMember("alice", "c2", at(3, 9, 0)),
		groupEvent("g1", wecom.DetailAddMember, 0, 2, at(1, 9, 0)),
		groupEvent("g1", wecom.DetailDelMember, 0, 1, at(3, 9, 0)),
	}

	t.Run("re-running a day stores identical results", func(t *testing.T) {
		e := newEnv(t)
		e.appendAll(scenario, events.OriginCallback)
		e.run(0, 3)
		before := e.store.Dump("")
		e.run(1, 1)
		e.run(0, 3)
		if after := e.store.Dump(""); !reflect.DeepEqual(before, after) {
			t.Errorf("re-run changed the store:\nbefore %v\nafter  %v", before, after)
		}
	})

	t.Run("a late event on an older day is counted and later days stay consistent", func(t *testing.T) {
		e := newEnv(t)
		e.appendAll(scenario, events.OriginCallback)
		e.run(0, 3)
		// A late callback for day 1: c3 added, and carol's customer c1 left on day 2.
		e.appendAll([]wecom.Event{add("dave", "c3", "", at(1, 15, 0)), delByCustomer("carol", "c1", at(2, 18, 0))}, events.OriginCallback)
		res, err := e.rollup.Run(e.ctx, jobs.Request{Date: day0.AddDays(1).String()})
		if err != nil {
			t.Fatal(err)
		}
		if res["from"] != day0.AddDays(1).String() || res["to"] != day0.AddDays(3).String() {
			t.Errorf("backfill ran %v..%v, want day 1 and the stored days after it", res["from"], res["to"])
		}
		e.checkInvariant(day0, day0.AddDays(3))
		days, _ := churn.DailyRange(e.ctx, e.store, day0, day0.AddDays(3))
		if ends := []int64{days[0].CustomersEnd, days[1].CustomersEnd, days[2].CustomersEnd, days[3].CustomersEnd}; !reflect.DeepEqual(ends, []int64{1, 3, 2, 1}) {
			t.Errorf("customers_end by day = %v, want [1 3 2 1]", ends)
		}

		// A whole-state comparison with a fresh run over all events.
		fresh := newEnv(t)
		fresh.appendAll(scenario, events.OriginCallback)
		fresh.appendAll([]wecom.Event{add("dave", "c3", "", at(1, 15, 0)), delByCustomer("carol", "c1", at(2, 18, 0))}, events.OriginCallback)
		fresh.run(0, 3)
		if a, b := e.store.Dump("stat#"), fresh.store.Dump("stat#"); !reflect.DeepEqual(a, b) {
			t.Errorf("re-run stats differ from a fresh run:\nre-run %v\nfresh  %v", a, b)
		}
	})
}

func TestJob(t *testing.T) {
	t.Run("the nightly run computes yesterday and the open cohort days", func(t *testing.T) {
		e := newEnv(t)
		e.appendAll([]wecom.Event{add("alice", "c1", "", at(89, 10, 0))}, events.OriginCallback)
		res, err := e.rollup.Run(e.ctx, jobs.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if res["to"] != day0.AddDays(89).String() || res["days"] != churn.CohortDays+1 || res["customers_end"] != int64(1) {
			t.Errorf("nightly result = %v", res)
		}
	})
	t.Run("bad ranges are refused", func(t *testing.T) {
		e := newEnv(t)
		for _, req := range []jobs.Request{{Date: "2025-3-1"}, {From: testclock.Shift("2025-03-05"), To: testclock.Shift("2025-03-01")}, {Date: day0.AddDays(91).String()}} {
			if _, err := e.rollup.Run(e.ctx, req); err == nil {
				t.Errorf("%+v was accepted", req)
			}
		}
	})
}
