package churn_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

var shanghai = mustZone()

func mustZone() *time.Location {
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}

// day0 is the first day of every scenario.
var day0 = testclock.Day(2025, time.March, 1)

// at is hh:mm on day0+n, Shanghai time.
func at(n, hh, mm int) time.Time {
	return day0.AddDays(n).Start(shanghai).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// env is a store, an event log and a rollup over them, with the clock set
// well after every scenario.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  *storetest.MemStore
	log    *events.Log
	rollup *churn.Rollup
}

func newEnv(t *testing.T) *env {
	t.Helper()
	now := func() time.Time { return at(90, 12, 0) }
	s := storetest.NewMemStore(now)
	log := events.NewLog(s, shanghai, nil)
	log.Now = now
	r := churn.New(s, shanghai, nil, nil)
	r.Log, r.Now = log, now
	r.Logger = slog.New(slog.DiscardHandler)
	return &env{t: t, ctx: context.Background(), store: s, log: log, rollup: r}
}

func contact(change, member, customer string, when time.Time) wecom.Event {
	return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: change,
		UserID: member, ExternalUserID: customer, CreateTime: when.Unix(), Known: true}
}

func add(member, customer, channel string, when time.Time) wecom.Event {
	ev := contact(wecom.ChangeAddExternalContact, member, customer, when)
	ev.State = channel
	return ev
}

func halfAdd(member, customer, channel string, when time.Time) wecom.Event {
	ev := contact(wecom.ChangeAddHalfExternalContact, member, customer, when)
	ev.State = channel
	return ev
}

func delByCustomer(member, customer string, when time.Time) wecom.Event {
	return contact(wecom.ChangeDelFollowUser, member, customer, when)
}

func delByMember(member, customer string, when time.Time) wecom.Event {
	return contact(wecom.ChangeDelExternalContact, member, customer, when)
}

func transferAway(member, customer string, when time.Time) wecom.Event {
	ev := contact(wecom.ChangeDelExternalContact, member, customer, when)
	ev.Source = wecom.SourceDeleteByTransfer
	return ev
}

func groupEvent(chat, detail string, quitScene, count int, when time.Time) wecom.Event {
	return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatUpdate,
		ChatID: chat, UpdateDetail: detail, QuitScene: quitScene, MemChangeCnt: count,
		CreateTime: when.Unix(), Known: true, CurMemVer: when.String()}
}

// appendAll stores events through the log, as the callback does.
func (e *env) appendAll(evs []wecom.Event, origin string) {
	e.t.Helper()
	for _, ev := range evs {
		if _, _, err := e.log.Append(e.ctx, ev, origin); err != nil {
			e.t.Fatalf("append %s: %v", ev.ChangeType, err)
		}
	}
}

// run rolls days day0+from .. day0+to in order.
func (e *env) run(from, to int) []churn.DayResult {
	e.t.Helper()
	var out []churn.DayResult
	for n := from; n <= to; n++ {
		res, err := e.rollup.Day(e.ctx, day0.AddDays(n))
		if err != nil {
			e.t.Fatalf("rollup day %d: %v", n, err)
		}
		out = append(out, res)
	}
	return out
}
