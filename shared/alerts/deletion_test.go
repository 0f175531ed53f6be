package alerts_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/alerts"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// withAdmins saves the default 删人提醒 (more than 10 within 60 minutes)
// sent to admins.
func withAdmins(e *env, admins ...string) channels.Settings {
	set := channels.DefaultSettings()
	set.DeletionAlert.Admins = admins
	e.saveSettings(set)
	return set
}

// bobCustomers gives bob n customers older than Siyu, named c000…
func bobCustomers(e *env, n int) {
	for i := range n {
		e.relate("bob", fmt.Sprintf("c%03d", i), start.AddDate(0, -1, 0))
	}
}

// bobDeletes has bob delete customers from..to-1, one every step starting
// now, handling each deletion; it returns their records.
func bobDeletes(e *env, from, to int, step time.Duration, transfer bool) []events.Record {
	e.t.Helper()
	var out []events.Record
	for i := from; i < to; i++ {
		rec := e.record(e.sim.MemberDeletesCustomer(e.ctx, "bob", fmt.Sprintf("c%03d", i), transfer, e.clock.Now()))
		e.handle(rec)
		out = append(out, rec)
		e.clock.Advance(step)
	}
	return out
}

func TestDeletionAlertsOncePerBurstAboveTheThreshold(t *testing.T) {
	for _, sk := range stores {
		t.Run("on "+sk.name, func(t *testing.T) { oncePerBurst(t, newEnvOn(t, sk.open)) })
	}
}

func oncePerBurst(t *testing.T, e *env) {
	withAdmins(e, "boss", "deputy")
	bobCustomers(e, 40)

	first := bobDeletes(e, 0, 10, 5*time.Minute, false) // 10:00 … 10:45
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("10 deletions in an hour alerted: %+v", got)
	}
	first = append(first, bobDeletes(e, 10, 11, time.Minute, false)...) // 10:50
	got := e.messagesTo("boss")
	if len(got) != 1 || len(e.messagesTo("deputy")) != 1 {
		t.Fatalf("11 deletions in an hour: boss got %d, deputy %d alerts, want 1 each", len(got), len(e.messagesTo("deputy")))
	}
	for _, w := range []string{"删人提醒", "bob", "60 分钟", "11 位客户", clock(start) + " – " + start.Add(50*time.Minute).In(shanghai).Format("15:04")} {
		if !strings.Contains(got[0].Content, w) {
			t.Errorf("alert lacks %q:\n%s", w, got[0].Content)
		}
	}

	bobDeletes(e, 11, 20, time.Minute, false)
	if n := len(e.sim.AppMessages()); n != 1 {
		t.Fatalf("20 deletions in an hour: %d alerts, want still 1", n)
	}
	for _, rec := range first {
		e.handleConcurrently(rec, 4)
	}
	if n := len(e.sim.AppMessages()); n != 1 {
		t.Fatalf("the first 11 redelivered 4 times: %d alerts, want still 1", n)
	}

	// An hour without crossing ends the burst; the next crossing alerts.
	e.clock.Advance(2 * time.Hour)
	bobDeletes(e, 20, 31, time.Minute, false)
	if n := len(e.messagesTo("boss")); n != 2 {
		t.Fatalf("a new burst after the window: boss got %d alerts, want 2", n)
	}
}

func TestARedeliveredDeletionCountsOnce(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 10)
	for _, rec := range bobDeletes(e, 0, 10, time.Minute, false) {
		e.handleConcurrently(rec, 4)
		e.handle(rec)
	}
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("10 deletions delivered 6 times each alerted: %+v", got)
	}
}

func TestABurstStraddlingTheHourIsCaught(t *testing.T) {
	// Six deletions late in one hour and six early in the next: a counter
	// per clock hour would see six and six, the sliding window sees twelve.
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 12)
	e.clock.Set(start.Add(30 * time.Minute))
	bobDeletes(e, 0, 12, 5*time.Minute, false) // 10:30 … 11:25
	if n := len(e.messagesTo("boss")); n != 1 {
		t.Fatalf("boss got %d alerts, want 1", n)
	}
}

func TestDeletionsSpreadWiderThanTheWindowNeverAlert(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 30)
	bobDeletes(e, 0, 30, 7*time.Minute, false) // 8 or 9 per hour, 30 in all
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("alerted: %+v", got)
	}
}

func TestTransfersNeverCountAsDeletions(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 40)
	bobDeletes(e, 0, 30, time.Second, true)
	// Nor do they fill the window for real deletions beside them.
	bobDeletes(e, 30, 40, time.Second, false)
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("30 transfers and 10 deletions within a minute alerted: %+v", got)
	}
}

func TestTheThresholdAndWindowComeFromTheSettings(t *testing.T) {
	e := newEnv(t)
	set := withAdmins(e, "boss")
	set.DeletionAlert.Threshold, set.DeletionAlert.WindowMinutes = 2, 10
	e.saveSettings(set)
	e.svc = e.service(alerts.LangEN)
	bobCustomers(e, 3)
	bobDeletes(e, 0, 3, 4*time.Minute, false) // 3 within 10 minutes
	got := e.messagesTo("boss")
	if len(got) != 1 {
		t.Fatalf("boss got %d alerts, want 1", len(got))
	}
	for _, w := range []string{"Deletion alert", "member bob deleted 3 customers within 10 minutes"} {
		if !strings.Contains(got[0].Content, w) {
			t.Errorf("alert lacks %q:\n%s", w, got[0].Content)
		}
	}
}

func TestNoDeletionAlertWhenSwitchedOffOrWithoutAdmins(t *testing.T) {
	t.Run("switched off", func(t *testing.T) {
		e := newEnv(t)
		set := withAdmins(e, "boss")
		set.DeletionAlert.Enabled = false
		e.saveSettings(set)
		bobCustomers(e, 20)
		bobDeletes(e, 0, 20, time.Minute, false)
		if got := e.sim.AppMessages(); len(got) != 0 {
			t.Fatalf("alerted: %+v", got)
		}
	})
	t.Run("no admins, said once per burst", func(t *testing.T) {
		e := newEnv(t)
		withAdmins(e)
		bobCustomers(e, 20)
		bobDeletes(e, 0, 20, time.Minute, false)
		if got := e.sim.AppMessages(); len(got) != 0 {
			t.Fatalf("alerted: %+v", got)
		}
		if n := e.logs.count("no admins named"); n != 1 {
			t.Errorf("the reason was logged %d times, want once", n)
		}
	})
}

func TestADeletionAlertRefusedForNowIsSentByTheNextHandle(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 11)
	recs := bobDeletes(e, 0, 10, time.Minute, false)
	e.sim.Inject(wecomsim.PathMessageSend, wecom.CodeRateLimited, 1)
	rec := e.record(e.sim.MemberDeletesCustomer(e.ctx, "bob", "c010", false, e.clock.Now()))
	if err := e.svc.Handle(e.ctx, rec); err == nil {
		t.Fatal("a send refused with 45009 answered no error: the sweep would not retry")
	}
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("sent despite 45009: %+v", got)
	}
	// The sweep handles it again, alongside redeliveries of earlier ones.
	e.clock.Advance(time.Minute)
	e.handleConcurrently(rec, 4)
	for _, r := range recs {
		e.handle(r)
	}
	if n := len(e.messagesTo("boss")); n != 1 {
		t.Fatalf("after the retry: %d alerts, want 1", n)
	}
}

func TestADeletionAlertRefusedForGoodIsNotRetried(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 15)
	bobDeletes(e, 0, 10, time.Minute, false)
	e.sim.Inject(wecomsim.PathMessageSend, wecom.CodeNoValidRecipient, 1)
	recs := bobDeletes(e, 10, 15, time.Minute, false)
	for _, r := range recs {
		e.handle(r)
	}
	if n := e.sim.Calls(wecomsim.PathMessageSend); n != 1 {
		t.Errorf("message/send called %d times, want 1", n)
	}
}

func TestOwnAndReconciledDeletionsNeverCount(t *testing.T) {
	e := newEnv(t)
	withAdmins(e, "boss")
	bobCustomers(e, 20)
	for i := range 20 {
		ev, err := e.sim.MemberDeletesCustomer(e.ctx, "bob", fmt.Sprintf("c%03d", i), false, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, origin := range []string{"siyu", events.OriginReconciled} {
			rec, _, err := e.log.Append(e.ctx, ev, origin)
			if err != nil {
				t.Fatal(err)
			}
			e.handle(rec)
		}
	}
	if got := e.sim.AppMessages(); len(got) != 0 {
		t.Fatalf("alerted: %+v", got)
	}
}

func TestDeletionsHandledAllAtOnceAlertOnce(t *testing.T) {
	for _, sk := range stores {
		t.Run("on "+sk.name, func(t *testing.T) {
			e := newEnvOn(t, sk.open)
			withAdmins(e, "boss")
			bobCustomers(e, 15)
			var recs []events.Record
			for i := range 15 {
				recs = append(recs, e.record(e.sim.MemberDeletesCustomer(e.ctx, "bob", fmt.Sprintf("c%03d", i), false, e.clock.Now())))
				e.clock.Advance(time.Minute)
			}
			var wg sync.WaitGroup
			for _, rec := range recs {
				for range 2 {
					wg.Go(func() {
						if err := e.service(alerts.LangZH).Handle(e.ctx, rec); err != nil {
							t.Error(err)
						}
					})
				}
			}
			wg.Wait()
			if n := len(e.messagesTo("boss")); n != 1 {
				t.Fatalf("15 deletions handled concurrently, twice each: %d alerts, want 1", n)
			}
		})
	}
}
