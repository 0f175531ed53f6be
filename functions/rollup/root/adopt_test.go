package root_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestTheRollupAdoptsStatesNoChannelOwnsOnce(t *testing.T) {
	ctx := context.Background()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testclock.Date(2026, 11, 25, 0, 5, 0, 0, loc) }
	st := storetest.NewMemStore(now)
	log := events.NewLog(st, loc, now)
	for i, state := range []string{"console-poster", "console-poster", ""} {
		e := wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact,
			UserID: "alice", ExternalUserID: "c" + string(rune('1'+i)), State: state, Known: true,
			CreateTime: testclock.Date(2026, 11, 20, 9+i, 0, 0, 0, loc).Unix()}
		if _, _, err := log.Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	job := root.AdoptAfter(churn.New(st, loc, slog.New(slog.DiscardHandler), now).Job(), start.Deps{Store: st, Now: now})
	req := jobs.Request{Date: testclock.Day(2026, 11, 20).String()}
	for run, want := range []int{1, 0} {
		res, err := job(ctx, req)
		if err != nil || res["channels_adopted"] != want {
			t.Fatalf("run %d: %v %v, want %d adopted", run+1, res, err, want)
		}
	}
	all, err := channels.List(ctx, st)
	if err != nil || len(all) != 1 || all[0].State != "console-poster" || all[0].Kind != channels.KindAdopted || all[0].Name != "" {
		t.Fatalf("channels %+v %v", all, err)
	}
}
