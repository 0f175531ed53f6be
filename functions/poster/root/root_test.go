package root_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/siyuhq/siyu/functions/poster/root"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
)

func TestThePosterTimerSendsPostsThenSweepsFirstTouch(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(testclock.Date(2025, 3, 1, 10, 0, 0, 0, cfg.Loc))
	d := start.Deps{Config: cfg, Store: storetest.NewMemStore(clk.Now), Logger: slog.New(slog.DiscardHandler), Now: clk.Now}
	timers := root.Jobs(d, root.Posts(d, nil), root.FirstTouch(d, nil)).Only(root.Timers...)

	// Without WeCom the posts step fails; the sweep still runs.
	res, err := timers(context.Background(), jobs.Request{Job: "poster"})
	if err == nil {
		t.Error("the posts step without WeCom reported no error")
	}
	if _, ok := res["firsttouch"]; !ok {
		t.Errorf("result %v has no firsttouch sweep", res)
	}
	// The callback's asynchronous invoke names one event.
	res, err = timers(context.Background(), jobs.Request{Job: "firsttouch", Key: "gone"})
	if err != nil || res["already_done"] != true {
		t.Errorf("firsttouch with a key: %v, %v", res, err)
	}
}
