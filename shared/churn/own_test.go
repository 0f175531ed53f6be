package churn_test

import (
	"reflect"
	"testing"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Siyu's own events (a welcome sent, a tag applied) sit in the same day
// partitions as WeCom's; no churn number may move because of them, even
// one that claims to be a relationship change.
func TestOwnEventsChangeNoChurnNumber(t *testing.T) {
	arrivals := []wecom.Event{
		add("alice", "c1", "poster", at(0, 10, 0)),
		add("bob", "c2", "shop", at(0, 11, 0)),
		delByCustomer("alice", "c1", at(1, 9, 0)),
		delByMember("bob", "c2", at(2, 9, 0)),
	}
	own := func(kind, change, member, customer string, when int64) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: kind, ChangeType: change, UserID: member, ExternalUserID: customer, CreateTime: when, State: "poster", Known: true}
	}
	ownEvents := []wecom.Event{
		own("siyu_welcome", "sent", "alice", "c1", arrivals[0].CreateTime),
		own("siyu_tag", "applied", "alice", "c1", arrivals[0].CreateTime),
		own("siyu_welcome", "expired", "bob", "c2", arrivals[1].CreateTime),
		// Even an own event shaped like an add must not count.
		own(wecom.EventExternalContact, wecom.ChangeAddExternalContact, "carol", "c3", arrivals[1].CreateTime),
	}
	strip := func(rs []churn.DayResult) []churn.DayResult {
		for i := range rs {
			rs[i].Events = 0 // events read, own ones included
		}
		return rs
	}

	plain := newEnv(t)
	plain.appendAll(arrivals, events.OriginCallback)
	want := strip(plain.run(0, 2))

	mixed := newEnv(t)
	mixed.appendAll(arrivals, events.OriginCallback)
	mixed.appendAll(ownEvents, events.OriginSiyu)
	if got := strip(mixed.run(0, 2)); !reflect.DeepEqual(got, want) {
		t.Errorf("with own events:\n got %+v\nwant %+v", got, want)
	}

	// Own events written after a day was rolled up change nothing on a
	// rerun (which, unlike the first run, sees the later days' losses in
	// the cohorts).
	wantRerun := strip(plain.run(0, 2))
	plain.appendAll(ownEvents, events.OriginSiyu)
	if got := strip(plain.run(0, 2)); !reflect.DeepEqual(got, wantRerun) {
		t.Errorf("rerun after own events:\n got %+v\nwant %+v", got, wantRerun)
	}
}
