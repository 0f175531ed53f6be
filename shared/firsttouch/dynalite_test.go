package firsttouch_test

import (
	"context"
	"sync"
	"testing"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore/dynalitetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// The claims are conditional writes; DynamoDB's must hold as SQLite's do.
func TestOnDynamoDBEightWorkersOnOneEventGreetAndTagOnce(t *testing.T) {
	loc, _ := calendar.Zone("")
	clk := testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, loc))
	w := newWorldOn(t, dynalitetest.Open(t, store.WithClock(clk.Now)), clk, loc)
	w.sim.AddTags("t1", "t2")
	w.channel(hello, "t1", "t2")
	rec := w.arrive("c1")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _ = w.svc.Work(context.Background(), rec) })
	}
	wg.Wait()
	if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 1 {
		t.Errorf("send_welcome_msg called %d times, want 1", got)
	}
	if got := w.sim.Calls(wecomsim.PathMarkTag); got != 1 {
		t.Errorf("mark_tag called %d times, want 1", got)
	}
	if got := w.outcomes(firsttouch.EventWelcome); len(got) != 1 || got[0] != firsttouch.WelcomeSent {
		t.Errorf("own welcome events %v, want [sent]", got)
	}
}
