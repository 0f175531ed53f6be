package report_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/report"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// TestTheReportNamesChannelsInTheSettingsLanguage: three customers arrive
// through the state "shop" and one leaves the same day; once the state's
// channel is named, the report says the name, in the language the
// settings chose over the reporter's.
func TestTheReportNamesChannelsInTheSettingsLanguage(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(at(1, 0, 5))
	quiet := slog.New(slog.DiscardHandler)
	st := storetest.NewMemStore(clk.Now)
	log := events.NewLog(st, shanghai, clk.Now)
	add := func(customer string, hour int) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact,
			UserID: "alice", ExternalUserID: customer, State: "shop", Known: true, CreateTime: at(0, hour, 0).Unix()}
	}
	lost := wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: wecom.ChangeDelFollowUser,
		UserID: "alice", ExternalUserID: "c1", Known: true, CreateTime: at(0, 15, 0).Unix()}
	for _, e := range []wecom.Event{add("c1", 9), add("c2", 10), add("c3", 11), lost} {
		if _, _, err := log.Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := churn.New(st, shanghai, quiet, clk.Now).Run(ctx, jobs.Request{Date: day0.String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := channels.Adopt(ctx, st, []string{"shop"}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	name := "门店二维码"
	if _, err := channels.New(st, nil, shanghai, quiet, clk.Now).Update(ctx, channels.AdoptedID("shop"), channels.Patch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	data, err := report.Build(ctx, st, day0)
	if err != nil || len(data.Channels) != 1 || data.Channels[0].Name != name || data.Channels[0].Channel != "shop" {
		t.Fatalf("channels %+v %v", data.Channels, err)
	}

	set := channels.DefaultSettings()
	set.ReportLang = channels.LangEN
	if _, err := channels.SaveSettings(ctx, st, set, 0, clk.Now()); err != nil {
		t.Fatal(err)
	}
	sim := wecomsim.New(wecomsim.Options{Now: clk.Now, Logger: quiet, RobotKeys: []string{robotKey}})
	t.Cleanup(sim.Close)
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, Store: st, Now: clk.Now, Logger: quiet})
	rep := report.New(st, client, sim.URL+wecomsim.PathWebhookSend+"?key="+robotKey, report.LangZH, shanghai, quiet, clk.Now)
	if _, err := rep.Run(ctx, jobs.Request{}); err != nil {
		t.Fatal(err)
	}
	msgs := sim.RobotMessages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Content, "Channels losing the most") || !strings.Contains(msgs[0].Content, name+": lost 1 / new 3") {
		t.Fatalf("report %+v", msgs)
	}
}
