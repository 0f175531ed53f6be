package firsttouch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var hello = &channels.Welcome{Text: "Hi %NICKNAME%, welcome to the shop"}

func TestAWelcomeGoesOnceThoughTheCallbackArrivesFourTimesAtOnceAndAgainAnHourLater(t *testing.T) {
	w := newWorld(t)
	w.channel(hello)
	w.sim.SuppressCallbacks(1) // the event is delivered below, by hand
	w.sim.PutCustomer(wecomsim.Customer{ExternalUserID: "c1", Name: "Name of c1", Type: 1})
	ev, err := w.sim.ArriveThroughContactWay(context.Background(), w.way, "c1", w.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if code := w.post(ev); code != http.StatusOK {
				t.Errorf("callback answered %d", code)
			}
		})
	}
	wg.Wait()
	if len(w.queue) != 1 {
		t.Fatalf("dispatched %d times, want once (the three others are duplicates)", len(w.queue))
	}
	// Every path that may see the event runs at once: the worker, an
	// asynchronous invoke and a sweep.
	for range 4 {
		wg.Go(func() { _ = w.svc.Work(context.Background(), w.queue[0]) })
	}
	wg.Wait()

	w.clk.Advance(time.Hour - time.Minute)
	if code := w.post(ev); code != http.StatusOK {
		t.Fatalf("the replay an hour later answered %d", code)
	}
	// The replay is a duplicate: not dispatched, but marked again, and
	// the next sweep finds its work done.
	w.clk.Advance(time.Minute)
	if _, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"}); err != nil {
		t.Fatal(err)
	}
	welcomes := w.sim.Welcomes()
	if len(welcomes) != 1 {
		t.Fatalf("%d welcomes sent, want 1", len(welcomes))
	}
	if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 1 {
		t.Errorf("send_welcome_msg called %d times, want 1", got)
	}
	if got, want := welcomes[0].Text, "Hi Name of c1, welcome to the shop"; got != want {
		t.Errorf("welcome text %q, want %q", got, want)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeSent}) {
		t.Errorf("own welcome events %v, want one sent", got)
	}
	if n := w.pendingCount(); n != 0 {
		t.Errorf("%d events still pending", n)
	}
}

func TestWelcomeOutcomesAreRecordedAndNeverRetried(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(w *world)
		before  func(w *world) // after the arrival, before the work
		want    string
		calls   int
	}{
		{name: "an expired code (41050) is recorded expired", want: firsttouch.WelcomeExpired, calls: 1,
			prepare: func(w *world) { w.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeInvalidWelcomeCode, 1) }},
		{name: "a reused code (41051) is recorded used", want: firsttouch.WelcomeUsed, calls: 1,
			prepare: func(w *world) { w.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeWelcomeNotAllowed, 1) }},
		{name: "a code found after its 20 seconds is recorded expired without calling WeCom", want: firsttouch.WelcomeExpired, calls: 0,
			before: func(w *world) { w.clk.Advance(21 * time.Second) }},
		{name: "system busy is tried again within the 20 seconds", want: firsttouch.WelcomeSent, calls: 4,
			prepare: func(w *world) { w.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeBusy, 3) }},
		{name: "a rate limit that outlasts the 20 seconds is recorded failed", want: firsttouch.WelcomeFailed,
			prepare: func(w *world) { w.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeRateLimited, 1000) }, calls: -1},
		{name: "a refused welcome is recorded failed", want: firsttouch.WelcomeFailed, calls: 1,
			prepare: func(w *world) { w.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeInvalidParameter, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.channel(hello)
			if tt.prepare != nil {
				tt.prepare(w)
			}
			rec := w.arrive("c1")
			if tt.before != nil {
				tt.before(w)
			}
			for range 3 { // the worker, then two sweeps
				_ = w.svc.Work(context.Background(), rec)
			}
			if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("own welcome events %v, want [%s]", got, tt.want)
			}
			if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); tt.calls >= 0 && got != tt.calls {
				t.Errorf("send_welcome_msg called %d times, want %d", got, tt.calls)
			}
			if tt.want != firsttouch.WelcomeSent && len(w.sim.Welcomes()) != 0 {
				t.Errorf("a welcome went out")
			}
		})
	}
}

func TestAnAddWithoutWelcomeCodeSendsNothingAndSaysWhy(t *testing.T) {
	w := newWorld(t)
	w.channel(hello)
	rec := w.arrive("c1")
	rec.WelcomeCode = "" // the customer and member were chatting already
	if err := w.svc.Work(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 0 {
		t.Errorf("send_welcome_msg called %d times", got)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeNoCode}) {
		t.Errorf("own welcome events %v, want [no_code]", got)
	}
}

func TestAChannelWithoutWelcomeTakesTheDefaultOrRecordsNone(t *testing.T) {
	w := newWorld(t)
	w.channel(nil)
	rec := w.arrive("c1")
	if err := w.svc.Work(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeNone}) {
		t.Errorf("own welcome events %v, want [no_welcome]", got)
	}
	if _, err := w.st.Put(context.Background(), settingsItem(`{"default_welcome":{"text":"欢迎光临"}}`), alwaysCond); err != nil {
		t.Fatal(err)
	}
	rec = w.arrive("c2")
	if err := w.svc.Work(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if ws := w.sim.Welcomes(); len(ws) != 1 || ws[0].Text != "欢迎光临" {
		t.Errorf("welcomes %+v, want the default one", ws)
	}
}

func TestTheNicknameIsTheCustomersNameOrLeftOutCleanly(t *testing.T) {
	tests := []struct {
		name, text, want string
		failLookup       bool
	}{
		{name: "the name replaces the placeholder", text: "Hi %NICKNAME%, welcome", want: "Hi Name of c1, welcome"},
		{name: "without the name the placeholder goes with its space", text: "Hi %NICKNAME%, welcome", want: "Hi, welcome", failLookup: true},
		{name: "without the name a separator it leaves in front goes too", text: "%NICKNAME%，你好！欢迎", want: "你好！欢迎", failLookup: true},
		{name: "without the name two words keep one space", text: "Dear %NICKNAME% welcome", want: "Dear welcome", failLookup: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.channel(&channels.Welcome{Text: tt.text})
			if tt.failLookup {
				w.sim.Inject("/cgi-bin/externalcontact/get", wecom.CodeNoPermission, 10)
			}
			if err := w.svc.Work(context.Background(), w.arrive("c1")); err != nil {
				t.Fatal(err)
			}
			ws := w.sim.Welcomes()
			if len(ws) != 1 || ws[0].Text != tt.want {
				t.Fatalf("welcomes %+v, want text %q", ws, tt.want)
			}
		})
	}
}

func TestMediaByURLIsUploadedOnceForTwoWelcomes(t *testing.T) {
	w := newWorld(t)
	fetches := 0
	img := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fetches++
		rw.Header().Set("Content-Type", "image/png")
		_, _ = rw.Write([]byte("\x89PNG fake image bytes"))
	}))
	t.Cleanup(img.Close)
	w.channel(&channels.Welcome{Text: "hi", Attachments: []channels.Attachment{
		{Type: "image", URL: img.URL + "/poster.png"},
		{Type: "link", Title: "新品", URL: "https://example.com/new"},
		{Type: "miniprogram", Title: "小程序", AppID: "wx1", Page: "/index", URL: img.URL + "/poster.png"},
	}})
	for _, c := range []string{"c1", "c2"} {
		if err := w.svc.Work(context.Background(), w.arrive(c)); err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(time.Minute)
	}
	if got := w.sim.Uploads(); got != 1 {
		t.Errorf("%d uploads, want 1 (the image, reused by the second welcome and the mini program's cover)", got)
	}
	if fetches != 1 {
		t.Errorf("fetched the image %d times, want 1", fetches)
	}
	ws := w.sim.Welcomes()
	if len(ws) != 2 {
		t.Fatalf("%d welcomes, want 2", len(ws))
	}
	for _, wl := range ws {
		if len(wl.Attachments) != 3 || wl.Attachments[0].Image == nil || wl.Attachments[0].Image.MediaID == "" || wl.Attachments[1].Link == nil {
			t.Errorf("attachments %+v, want image, link and mini program", wl.Attachments)
		}
	}

	// Saving the welcome again prepares nothing new: the upload is cached.
	if err := w.svc.Prepare(context.Background(), &channels.Welcome{Attachments: []channels.Attachment{{Type: "image", URL: img.URL + "/poster.png"}}}); err != nil {
		t.Fatal(err)
	}
	if got := w.sim.Uploads(); got != 1 {
		t.Errorf("%d uploads after Prepare, want the cached one", got)
	}

	// A media_id lives 3 days; the cache lets go of it before then.
	w.clk.Advance(72*time.Hour - 30*time.Minute)
	if err := w.svc.Work(context.Background(), w.arrive("c3")); err != nil {
		t.Fatal(err)
	}
	if got := w.sim.Uploads(); got != 2 {
		t.Errorf("%d uploads after 3 days, want 2 (the cached id was about to die)", got)
	}
	if ws := w.sim.Welcomes(); len(ws) != 3 || len(ws[2].Attachments) != 3 {
		t.Errorf("the third welcome went with %+v", ws)
	}
}

func TestChannelTagsAreAppliedOnceAndADeletedTagIsReportedOnce(t *testing.T) {
	w := newWorld(t)
	w.sim.AddTags("t1", "t2")
	w.channel(nil, "t1", "gone", "t2")
	for _, c := range []string{"c1", "c2"} {
		rec := w.arrive(c)
		for range 2 {
			if err := w.svc.Work(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.sim.TagsOf("alice", c); !slices.Equal(got, []string{"t1", "t2"}) {
			t.Errorf("%s has tags %v, want [t1 t2]", c, got)
		}
	}
	if n := strings.Count(w.logs.String(), "channel tag unknown to WeCom"); n != 1 {
		t.Errorf("%d warnings about the deleted tag, want 1", n)
	}
	var applied, unknown int
	for _, r := range w.own(firsttouch.EventTag) {
		switch r.ChangeType {
		case firsttouch.TagApplied:
			applied++
		case firsttouch.TagUnknown:
			unknown++
			if r.TagID != "gone" {
				t.Errorf("unknown tag recorded as %q", r.TagID)
			}
		}
	}
	if applied != 4 || unknown != 1 {
		t.Errorf("own tag events: %d applied, %d unknown; want 4 and 1", applied, unknown)
	}
	// c1: one refused call and one per tag; c2 leaves the deleted tag out.
	if got := w.sim.Calls(wecomsim.PathMarkTag); got != 5 {
		t.Errorf("mark_tag called %d times, want 5", got)
	}
}

func TestTheSweepDoesWhatALostDispatchLeft(t *testing.T) {
	w := newWorld(t)
	w.sim.AddTags("t1")
	w.channel(hello, "t1")
	w.arrive("c1") // dispatched to a worker that never runs (a lost invoke)

	// Too fresh: the dispatched worker may be on it.
	if res, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"}); err != nil || res["handled"] != 0 {
		t.Fatalf("sweep of fresh work: %v %v", res, err)
	}
	w.clk.Advance(time.Minute)
	res, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"})
	if err != nil || res["handled"] != 1 {
		t.Fatalf("sweep: %v %v", res, err)
	}
	if got := w.sim.TagsOf("alice", "c1"); !slices.Equal(got, []string{"t1"}) {
		t.Errorf("tags %v, want [t1]", got)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeExpired}) {
		t.Errorf("own welcome events %v, want [expired]", got)
	}
	if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 0 {
		t.Errorf("send_welcome_msg called %d times for a dead code", got)
	}
	if n := w.pendingCount(); n != 0 {
		t.Errorf("%d events still pending", n)
	}
}

func TestTheAsynchronousInvokeHandlesTheEventItNames(t *testing.T) {
	w := newWorld(t)
	w.channel(hello)
	rec := w.arrive("c1")
	res, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch", Key: rec.Key})
	if err != nil || res["handled"] != 1 {
		t.Fatalf("job: %v %v", res, err)
	}
	if len(w.sim.Welcomes()) != 1 {
		t.Fatalf("welcomes %+v", w.sim.Welcomes())
	}
	res, err = w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch", Key: rec.Key})
	if err != nil || res["already_done"] != true {
		t.Fatalf("second invoke: %v %v", res, err)
	}
	if _, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch", Date: "2025-03-01"}); err == nil {
		t.Error("a dated firsttouch request was accepted")
	}
}

func TestAClaimLeftByADeadWorkerIsRecordedUnknownAndNeverResent(t *testing.T) {
	w := newWorld(t)
	w.channel(hello)
	rec := w.arrive("c1")
	// A worker claimed the code and died before sending.
	if _, err := w.st.Put(context.Background(), claimItem(rec.WelcomeCode, w.clk.Now()), ifAbsent); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Work(context.Background(), rec); err == nil {
		t.Fatal("work held by a live claim was reported done")
	}
	w.clk.Advance(time.Minute)
	if _, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"}); err != nil {
		t.Fatal(err)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeUnknown}) {
		t.Errorf("own welcome events %v, want [unknown]", got)
	}
	if len(w.sim.Welcomes()) != 0 {
		t.Error("a welcome went out after its claim was left")
	}
	if n := w.pendingCount(); n != 0 {
		t.Errorf("%d events still pending", n)
	}
}

func TestOwnEventsAreMarkedAsSiyus(t *testing.T) {
	w := newWorld(t)
	w.sim.AddTags("t1")
	w.channel(hello, "t1")
	rec := w.arrive("c1")
	if err := w.svc.Work(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	own := append(w.own(firsttouch.EventWelcome), w.own(firsttouch.EventTag)...)
	if len(own) != 2 {
		t.Fatalf("%d own events, want a welcome and a tag", len(own))
	}
	for _, r := range own {
		if r.Origin != events.OriginSiyu || r.UserID != "alice" || r.ExternalUserID != "c1" || r.Source != rec.Key {
			t.Errorf("own event %+v does not point at alice/c1's add event", r)
		}
	}
}

func TestAReplayDaysLaterChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.sim.AddTags("t1")
	w.channel(hello, "t1")
	w.sim.SuppressCallbacks(1)
	w.sim.PutCustomer(wecomsim.Customer{ExternalUserID: "c1", Name: "Name of c1", Type: 1})
	arrival := w.clk.Now()
	ev, err := w.sim.ArriveThroughContactWay(context.Background(), w.way, "c1", arrival)
	if err != nil {
		t.Fatal(err)
	}
	w.post(ev)
	if err := w.svc.Work(context.Background(), w.queue[0]); err != nil {
		t.Fatal(err)
	}
	// Four days on, every claim has expired; an attacker or a confused
	// proxy replays the callback with a fresh envelope.
	w.clk.Advance(96 * time.Hour)
	if code := w.post(ev); code != http.StatusOK {
		t.Fatalf("replay answered %d", code)
	}
	w.clk.Advance(time.Minute)
	if _, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"}); err != nil {
		t.Fatal(err)
	}
	if got := w.sim.Calls(wecomsim.PathMarkTag) + w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 2 {
		t.Errorf("%d WeCom calls, want the first welcome and tag only", got)
	}
	w.clk.Set(arrival) // own events are filed under the add's day
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeSent}) {
		t.Errorf("own welcome events %v, want the one sent", got)
	}
	if n := w.pendingCount(); n != 0 {
		t.Errorf("%d events still pending", n)
	}
}

func TestInlineGreetsAtOnceAndLeavesTagsToTheSweep(t *testing.T) {
	w := newWorld(t)
	w.sim.AddTags("t1")
	w.channel(hello, "t1")
	w.cb.FirstTouch = pending.Marker{Store: w.st, Dispatch: firsttouch.Inline(w.svc, 3*time.Second)}
	w.sim.PutCustomer(wecomsim.Customer{ExternalUserID: "c1", Name: "Name of c1", Type: 1})
	if _, err := w.sim.ArriveThroughContactWay(context.Background(), w.way, "c1", w.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if ws := w.sim.Welcomes(); len(ws) != 1 {
		t.Fatalf("%d welcomes once the callback answered, want 1", len(ws))
	}
	if got := w.sim.TagsOf("alice", "c1"); len(got) != 0 {
		t.Errorf("tags %v before the sweep", got)
	}
	w.clk.Advance(time.Minute)
	if _, err := w.svc.Job(context.Background(), jobs.Request{Job: "firsttouch"}); err != nil {
		t.Fatal(err)
	}
	if got := w.sim.TagsOf("alice", "c1"); !slices.Equal(got, []string{"t1"}) {
		t.Errorf("tags %v after the sweep, want [t1]", got)
	}
	if got := w.sim.Calls(wecomsim.PathSendWelcomeMsg); got != 1 {
		t.Errorf("send_welcome_msg called %d times", got)
	}
	if got := w.outcomes(firsttouch.EventWelcome); !slices.Equal(got, []string{firsttouch.WelcomeSent}) {
		t.Errorf("own welcome events %v, want [sent]", got)
	}
}
