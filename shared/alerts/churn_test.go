package alerts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/alerts"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// lostThroughPoster has 王小明 add alice through the 双十一海报 channel on
// 2026-11-13 at 10:00, alice remark them, and 12 days later (11-25 16:30)
// delete her. It returns the deletion's record; the add was handled.
func lostThroughPoster(e *env) events.Record {
	e.t.Helper()
	e.saveChannel(channels.Channel{ID: "ch1", Draft: channels.Draft{Name: "双十一海报", Kind: channels.KindContactWay, State: "poster1111"}})
	e.sim.PutCustomer(wecomsim.Customer{ExternalUserID: "wmWang", Name: "王小明"})
	add := e.record(e.sim.AddCustomer(e.ctx, "alice", "wmWang", "poster1111", e.clock.Now()))
	e.handle(add)
	// The member's remark, set later in WeCom's app.
	r, _ := e.sim.Relationship("alice", "wmWang")
	r.Remark = "老王 VIP"
	if err := e.sim.PutRelationship(r); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(lostAt)
	return e.record(e.sim.CustomerDeletesMember(e.ctx, "alice", "wmWang", e.clock.Now()))
}

// lostAt is when 王小明 deletes alice: 12 days and 6.5 hours after start.
var lostAt = start.Add(12*24*time.Hour + 6*time.Hour + 30*time.Minute)

// clock is how messages show t.
func clock(t time.Time) string { return t.In(shanghai).Format("2006-01-02 15:04") }

func TestTheChurnAlertIsSentOnceWhateverTheDeliveries(t *testing.T) {
	for _, sk := range stores {
		t.Run("on "+sk.name, func(t *testing.T) { churnAlertOnce(t, newEnvOn(t, sk.open)) })
	}
}

func churnAlertOnce(t *testing.T, e *env) {
	del := lostThroughPoster(e)

	e.handleConcurrently(del, 4)
	e.clock.Advance(time.Hour)
	e.handle(del)
	e.handleConcurrently(del, 4)

	got := e.messagesTo("alice")
	if len(got) != 1 {
		t.Fatalf("alice got %d churn alerts for one deletion delivered 9 times, want 1: %+v", len(got), got)
	}
	if m := got[0]; m.MsgType != wecom.AppMsgText || m.AgentID != e.sim.AgentID() || len(m.ToUser) != 1 {
		t.Errorf("alert = %+v, want one text message to alice through the agent", m)
	}
	if n := len(e.sim.AppMessages()); n != 1 {
		t.Errorf("%d messages sent in all, want 1", n)
	}
}

func TestTheChurnAlertTellsWhoLeftWhenTheyCameFromWhereAndHowLongTheyStayed(t *testing.T) {
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{alerts.LangZH, []string{"流失提醒", "王小明", "备注：老王 VIP", "添加时间：" + clock(start), "来源渠道：双十一海报",
			"相处天数：12 天", "删除时间：" + clock(lostAt)}},
		{alerts.LangEN, []string{"Customer lost", "王小明", "remark: 老王 VIP", "Added: " + clock(start), "Channel: 双十一海报",
			"Stayed: 12 days", "Deleted: " + clock(lostAt)}},
	} {
		t.Run("in "+tc.lang, func(t *testing.T) {
			e := newEnv(t)
			e.svc = e.service(tc.lang)
			e.handle(lostThroughPoster(e))
			got := e.messagesTo("alice")
			if len(got) != 1 {
				t.Fatalf("got %d alerts, want 1", len(got))
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0].Content, w) {
					t.Errorf("alert lacks %q:\n%s", w, got[0].Content)
				}
			}
			if n := len(got[0].Content); n > wecom.MaxAppTextBytes {
				t.Errorf("alert is %d bytes, over WeCom's %d", n, wecom.MaxAppTextBytes)
			}
		})
	}
}

func TestTheSettingsLanguageOverridesTheReportLanguage(t *testing.T) {
	e := newEnv(t)
	set := channels.DefaultSettings()
	set.ReportLang = alerts.LangEN
	e.saveSettings(set)
	e.handle(lostThroughPoster(e))
	if got := e.messagesTo("alice"); len(got) != 1 || !strings.HasPrefix(got[0].Content, "Customer lost") {
		t.Fatalf("alerts = %+v, want one in English", got)
	}
}

func TestARelationshipOlderThanSiyuIsDescribedFromTheBaseline(t *testing.T) {
	e := newEnv(t)
	e.saveChannel(channels.Channel{ID: "ch9", Draft: channels.Draft{Name: "门店二维码", Kind: channels.KindAdopted, State: "store-qr"}})
	since := start.AddDate(0, -3, 0) // 92 days before start
	e.relate("alice", "wmOld", since)
	if err := churn.SetBaseline(e.ctx, e.store, shanghai, start.Add(-time.Hour), []churn.Relationship{
		{Member: "alice", Customer: "wmOld", Channel: "store-qr", Since: since}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	e.handle(e.record(e.sim.CustomerDeletesMember(e.ctx, "alice", "wmOld", e.clock.Now())))

	got := e.messagesTo("alice")
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1", len(got))
	}
	for _, w := range []string{"添加时间：" + clock(since), "来源渠道：门店二维码", "相处天数：92 天"} {
		if !strings.Contains(got[0].Content, w) {
			t.Errorf("alert lacks %q:\n%s", w, got[0].Content)
		}
	}
}

func TestWhatIsNotKnownIsSaidToBeUnknown(t *testing.T) {
	e := newEnv(t)
	// Nothing in Siyu, and WeCom does not know the customer either (40096):
	// the id stands in for the name.
	e.relate("alice", "wmGhost", time.Time{})
	e.sim.Inject("/cgi-bin/externalcontact/get", wecom.CodeInvalidExternalID, 1)
	e.handle(e.record(e.sim.CustomerDeletesMember(e.ctx, "alice", "wmGhost", e.clock.Now())))
	got := e.messagesTo("alice")
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1", len(got))
	}
	for _, w := range []string{"wmGhost", "添加时间：未知", "来源渠道：未知渠道", "相处天数：未知"} {
		if !strings.Contains(got[0].Content, w) {
			t.Errorf("alert lacks %q:\n%s", w, got[0].Content)
		}
	}
}

func TestASwitchedOffChurnAlertSendsAndWritesNothing(t *testing.T) {
	e := newEnv(t)
	set := channels.DefaultSettings()
	set.ChurnAlert.Enabled = false
	e.saveSettings(set)
	del := lostThroughPoster(e)
	e.handle(del)
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("switched off, yet sent %+v", got)
	}
	// Switched on again, the same event alerts: nothing was claimed.
	set.ChurnAlert.Enabled = true
	e.saveSettings(set)
	e.handle(del)
	if got := e.messagesTo("alice"); len(got) != 1 {
		t.Fatalf("switched on again: %d alerts, want 1", len(got))
	}
}

func TestOnlyEventsWeComDeliveredAlert(t *testing.T) {
	e := newEnv(t)
	del := lostThroughPoster(e)
	for _, origin := range []string{"siyu", events.OriginReconciled} {
		rec := del
		rec.Origin = origin
		rec.Key = events.Key(rec.Event, origin)
		e.handle(rec)
	}
	stale := del
	e.clock.Advance(alerts.MaxAge + time.Minute)
	e.handle(stale)
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("own, reconciled and stale events alerted: %+v", got)
	}
}

func TestAChurnAlertRefusedForNowIsSentByTheNextHandle(t *testing.T) {
	e := newEnv(t)
	del := lostThroughPoster(e)
	e.sim.Inject(wecomsim.PathMessageSend, wecom.CodeBusy, 1)
	if err := e.svc.Handle(e.ctx, del); err == nil {
		t.Fatal("a send WeCom refused for now answered no error: the sweep would not retry")
	}
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("sent despite -1: %+v", got)
	}
	e.clock.Advance(time.Minute)
	e.handleConcurrently(del, 4)
	e.handle(del)
	if got := e.messagesTo("alice"); len(got) != 1 {
		t.Fatalf("after the retry: %d alerts, want 1", len(got))
	}
}

func TestAChurnAlertIsRetriedAtMostMaxTries(t *testing.T) {
	e := newEnv(t)
	del := lostThroughPoster(e)
	e.sim.Inject(wecomsim.PathMessageSend, wecom.CodeBusy, 100)
	for i := range alerts.MaxTries {
		if err := e.svc.Handle(e.ctx, del); (err != nil) != (i < alerts.MaxTries-1) {
			t.Fatalf("try %d: err = %v", i+1, err)
		}
	}
	e.handle(del)
	if n := e.sim.Calls(wecomsim.PathMessageSend); n != alerts.MaxTries {
		t.Errorf("message/send called %d times, want %d", n, alerts.MaxTries)
	}
}

func TestAChurnAlertRefusedForGoodIsRecordedAndNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
	}{
		{"the member left (no valid recipient)", wecom.CodeNoValidRecipient},
		{"the member id is invalid", wecom.CodeInvalidUserID},
		{"the token's app is another agent", wecom.CodeAppNotPermitted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			del := lostThroughPoster(e)
			e.sim.Inject(wecomsim.PathMessageSend, tc.code, 1)
			e.handle(del)
			e.handle(del)
			if n := e.sim.Calls(wecomsim.PathMessageSend); n != 1 {
				t.Errorf("message/send called %d times, want 1", n)
			}
			if got := e.sim.AppMessages(); len(got) != 0 {
				t.Errorf("sent %+v", got)
			}
			if e.logs.count("alert not sent") != 1 {
				t.Errorf("the refusal was not logged once:\n%s", e.logs.b.String())
			}
		})
	}
}

func TestWithoutAnAgentTheAlertIsRecordedAsNotSent(t *testing.T) {
	e := newEnv(t)
	del := lostThroughPoster(e)
	svc := alerts.New(e.store, e.client, 0, shanghai, alerts.LangZH, nil, e.clock.Now)
	for range 3 {
		if err := svc.Handle(e.ctx, del); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Calls(wecomsim.PathMessageSend); n != 0 {
		t.Errorf("message/send called %d times without an agent id", n)
	}
	var noClient *wecom.Client
	if err := alerts.New(e.store, noClient, 0, shanghai, alerts.LangZH, nil, e.clock.Now).Handle(e.ctx, del); err != nil {
		t.Fatal(err)
	}
}

func TestAReAddAfterTheDeletionDoesNotDateTheLostRelationship(t *testing.T) {
	e := newEnv(t)
	del := lostThroughPoster(e)
	// The customer comes back before the deletion is handled (the
	// dispatcher is asynchronous): the alert must not say they stayed 0 days.
	e.clock.Advance(time.Hour)
	e.handle(e.record(e.sim.AddCustomer(e.ctx, "alice", "wmWang", "", e.clock.Now())))
	e.handle(del)
	got := e.messagesTo("alice")
	if len(got) != 1 {
		t.Fatalf("got %d alerts, want 1", len(got))
	}
	if !strings.Contains(got[0].Content, "添加时间："+clock(start)) {
		t.Errorf("alert dated the wrong add:\n%s", got[0].Content)
	}
}
