package wecomsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var day0 = testclock.Date(2025, 6, 10, 0, 0, 0, 0, wecom.Beijing)

// receiver is a callback endpoint that opens events with the sim's
// credentials. status decides each answer (nil: 200).
type receiver struct {
	t       *testing.T
	crypter *wecom.Crypter
	srv     *httptest.Server

	mu     sync.Mutex
	events []wecom.Event
	posts  int
	status func(n int) int
}

func newReceiver(t *testing.T, sim *wecomsim.Sim) *receiver {
	t.Helper()
	c, err := wecom.NewCrypter(sim.Token(), sim.EncodingAESKey(), sim.CorpID())
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, crypter: c}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	sim.SetCallbackURL(rc.srv.URL + "/wecom/callback")
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		echo, err := rc.crypter.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write(echo)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.posts++
	n := rc.posts
	status := rc.status
	rc.mu.Unlock()
	if status != nil {
		if code := status(n); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
	}
	msg, err := rc.crypter.Open(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
	if err != nil {
		rc.t.Errorf("callback does not open: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ev, err := wecom.ParseEvent(msg)
	if err != nil {
		rc.t.Errorf("callback does not parse: %v\n%s", err, msg)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
}

func (rc *receiver) received() []wecom.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

func newSim(t *testing.T, opts wecomsim.Options) *wecomsim.Sim {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return day0.Add(30 * 24 * time.Hour) }
	}
	sim := wecomsim.New(opts)
	t.Cleanup(sim.Close)
	sim.PutMember(wecomsim.Member{UserID: "zhangsan", Name: "张三"})
	sim.PutMember(wecomsim.Member{UserID: "lisi", Name: "李四"})
	sim.PutGroup(wecomsim.Group{ChatID: "wrChatOneAAAA", Name: "福利群", Owner: "zhangsan", CreateTime: day0})
	return sim
}

// key is what a receiver must get right about an event.
type key struct {
	Event, Change, User, External, State, Source, Chat, Detail string
	JoinScene, QuitScene, Cnt                                  int
	List                                                       string
	Last, Cur                                                  string
	Time                                                       int64
}

func keyOf(ev wecom.Event) key {
	list := ""
	for _, it := range ev.MemChangeList {
		list += it + ","
	}
	return key{ev.Event, ev.ChangeType, ev.UserID, ev.ExternalUserID, ev.State, ev.Source, ev.ChatID, ev.UpdateDetail,
		ev.JoinScene, ev.QuitScene, ev.MemChangeCnt, list, ev.LastMemVer, ev.CurMemVer, ev.CreateTime}
}

func TestStateChangesCallBack(t *testing.T) {
	at := day0.Add(10 * time.Hour)
	tests := []struct {
		name   string
		change func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error)
		want   []key
	}{
		{"a member adds a customer through a channel",
			func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error) {
				ev, err := sim.AddCustomer(ctx, "zhangsan", "wmCust1AAAA", "douyin_live", at)
				return []wecom.Event{ev}, err
			},
			[]key{{Event: "change_external_contact", Change: "add_external_contact", User: "zhangsan", External: "wmCust1AAAA", State: "douyin_live", Time: at.Unix()}}},
		{"a customer deletes the member",
			func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error) {
				ev, err := sim.CustomerDeletesMember(ctx, "lisi", "wmBaseAAAA", at)
				return []wecom.Event{ev}, err
			},
			[]key{{Event: "change_external_contact", Change: "del_follow_user", User: "lisi", External: "wmBaseAAAA", Time: at.Unix()}}},
		{"a member deletes the customer",
			func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error) {
				ev, err := sim.MemberDeletesCustomer(ctx, "lisi", "wmBaseAAAA", false, at)
				return []wecom.Event{ev}, err
			},
			[]key{{Event: "change_external_contact", Change: "del_external_contact", User: "lisi", External: "wmBaseAAAA", Time: at.Unix()}}},
		{"a transfer adds the new member before removing the old one",
			func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error) {
				return sim.TransferCustomer(ctx, "lisi", "zhangsan", "wmBaseAAAA", at)
			},
			[]key{
				{Event: "change_external_contact", Change: "add_external_contact", User: "zhangsan", External: "wmBaseAAAA", Time: at.Unix()},
				{Event: "change_external_contact", Change: "del_external_contact", User: "lisi", External: "wmBaseAAAA", Source: "DELETE_BY_TRANSFER", Time: at.Unix()},
			}},
		{"a customer joins a group by QR code",
			func(ctx context.Context, sim *wecomsim.Sim) ([]wecom.Event, error) {
				ev, err := sim.JoinGroup(ctx, "wrChatOneAAAA", "wmBaseAAAA", wecom.GroupJoinQRCode, at)
				return []wecom.Event{ev}, err
			},
			[]key{{Event: "change_external_chat", Change: "update", Chat: "wrChatOneAAAA", Detail: "add_member", JoinScene: 3, Cnt: 1, List: "wmBaseAAAA,", Time: at.Unix()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, wecomsim.Options{})
			if err := sim.PutRelationship(wecomsim.Relationship{UserID: "lisi", ExternalUserID: "wmBaseAAAA", CreateTime: day0}); err != nil {
				t.Fatal(err)
			}
			rc := newReceiver(t, sim)
			sent, err := tt.change(context.Background(), sim)
			if err != nil {
				t.Fatal(err)
			}
			got := rc.received()
			if len(got) != len(tt.want) || len(sent) != len(tt.want) {
				t.Fatalf("received %d events, sim returned %d, want %d", len(got), len(sent), len(tt.want))
			}
			for i := range tt.want {
				g := keyOf(got[i])
				// Versions are opaque; check they chain, then compare the rest.
				if got[i].Event == wecom.EventExternalChat && (g.Last == "" || g.Cur == "" || g.Last == g.Cur) {
					t.Errorf("member versions %q → %q should both be set and differ", g.Last, g.Cur)
				}
				g.Last, g.Cur = "", ""
				if g != tt.want[i] {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, tt.want[i])
				}
				if keyOf(sent[i]) != keyOf(got[i]) {
					t.Errorf("event %d: returned %+v, delivered %+v", i, keyOf(sent[i]), keyOf(got[i]))
				}
			}
		})
	}
}

func TestAGroupQuitCarriesTheVersionChain(t *testing.T) {
	sim := newSim(t, wecomsim.Options{})
	rc := newReceiver(t, sim)
	ctx := context.Background()
	join, err := sim.JoinGroup(ctx, "wrChatOneAAAA", "wmC", wecom.GroupJoinInvite, day0)
	if err != nil {
		t.Fatal(err)
	}
	quit, err := sim.QuitGroup(ctx, "wrChatOneAAAA", "wmC", 1, day0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := rc.received()
	if len(got) != 2 || got[0].JoinScene != 0 || got[1].UpdateDetail != wecom.DetailDelMember || got[1].QuitScene != 1 {
		t.Fatalf("received %+v", got)
	}
	if quit.LastMemVer != join.CurMemVer {
		t.Errorf("quit's LastMemVer %s is not join's CurMemVer %s", quit.LastMemVer, join.CurMemVer)
	}
}

func TestDeliveryRetries(t *testing.T) {
	tests := []struct {
		name          string
		status        func(n int) int
		wantAttempts  int
		wantDelivered bool
	}{
		{"a 500 is retried until a 200", func(n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}, 3, true},
		{"an endpoint that never answers 200 gets four attempts", func(int) int { return http.StatusBadGateway }, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t, wecomsim.Options{})
			rc := newReceiver(t, sim)
			rc.status = tt.status
			_, err := sim.AddCustomer(context.Background(), "zhangsan", "wmX", "", day0)
			var derr *wecomsim.DeliveryError
			if tt.wantDelivered != (err == nil) || (!tt.wantDelivered && !errors.As(err, &derr)) {
				t.Fatalf("got error %v, want delivered=%v", err, tt.wantDelivered)
			}
			d := sim.Deliveries()
			if len(d) != 1 || d[0].Attempts != tt.wantAttempts || d[0].Delivered != tt.wantDelivered {
				t.Errorf("delivery %+v, want %d attempts", d, tt.wantAttempts)
			}
			if _, ok := sim.Relationship("zhangsan", "wmX"); !ok {
				t.Error("the state change must stand even when the callback fails")
			}
		})
	}

	t.Run("a receiver slower than the timeout is retried", func(t *testing.T) {
		sim := newSim(t, wecomsim.Options{CallbackTimeout: 50 * time.Millisecond})
		rc := newReceiver(t, sim)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		rc.status = func(n int) int {
			if n == 1 {
				<-release // hang past the timeout
			}
			return http.StatusOK
		}
		if _, err := sim.AddCustomer(context.Background(), "zhangsan", "wmSlow", "", day0); err != nil {
			t.Fatal(err)
		}
		if d := sim.Deliveries(); d[0].Attempts != 2 || len(rc.received()) != 1 {
			t.Errorf("attempts %d, received %d; want 2 attempts and one event", d[0].Attempts, len(rc.received()))
		}
	})
}

func TestSuppressedCallbacksAreLost(t *testing.T) {
	sim := newSim(t, wecomsim.Options{})
	rc := newReceiver(t, sim)
	ctx := context.Background()
	sim.SuppressCallbacks(1)
	for _, id := range []string{"wmLost", "wmSeen"} {
		if _, err := sim.AddCustomer(ctx, "zhangsan", id, "wechat_ad", day0); err != nil {
			t.Fatal(err)
		}
	}
	got := rc.received()
	if len(got) != 1 || got[0].ExternalUserID != "wmSeen" {
		t.Fatalf("received %+v, want only wmSeen", got)
	}
	if _, ok := sim.Relationship("zhangsan", "wmLost"); !ok {
		t.Error("a suppressed callback must still change the state")
	}
}

func TestVerifyURL(t *testing.T) {
	sim := newSim(t, wecomsim.Options{})
	rc := newReceiver(t, sim)
	if err := sim.VerifyURL(context.Background(), rc.srv.URL+"/wecom/callback"); err != nil {
		t.Errorf("a correct receiver fails verification: %v", err)
	}
	quoted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo, _ := rc.crypter.VerifyURL(r.URL.Query().Get("msg_signature"), r.URL.Query().Get("timestamp"), r.URL.Query().Get("nonce"), r.URL.Query().Get("echostr"))
		_, _ = w.Write([]byte("\"" + string(echo) + "\"\n"))
	}))
	t.Cleanup(quoted.Close)
	if err := sim.VerifyURL(context.Background(), quoted.URL); err == nil {
		t.Error("a quoted echo with a newline passes verification")
	}
}

// call makes a raw API request and returns errcode.
func call(t *testing.T, method, u string, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = stringsReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	return int(ans["errcode"].(float64)), ans
}

func token(t *testing.T, sim *wecomsim.Sim) string {
	t.Helper()
	code, ans := call(t, "GET", sim.URL+"/cgi-bin/gettoken?"+url.Values{"corpid": {sim.CorpID()}, "corpsecret": {sim.Secret()}}.Encode(), "")
	if code != 0 || ans["expires_in"].(float64) != 7200 {
		t.Fatalf("gettoken: %v", ans)
	}
	return ans["access_token"].(string)
}

func TestAPIGuards(t *testing.T) {
	sim := newSim(t, wecomsim.Options{RateLimits: map[string]int{wecomsim.PathFollowUserList: 2}})
	tok := token(t, sim)
	list := sim.URL + wecomsim.PathFollowUserList
	tests := []struct {
		name string
		url  string
		want int
	}{
		{"a call without token is 41001", list, 41001},
		{"a made-up token is 40014", list + "?access_token=nope", 40014},
		{"a valid token is served", list + "?access_token=" + tok, 0},
		{"the second call in the minute is served", list + "?access_token=" + tok, 0},
		{"the third call over a limit of two is 45009", list + "?access_token=" + tok, 45009},
		{"a wrong secret is 40001", sim.URL + "/cgi-bin/gettoken?corpid=" + sim.CorpID() + "&corpsecret=bad", 40001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, ans := call(t, "GET", tt.url, ""); code != tt.want {
				t.Errorf("errcode %d (%v), want %d", code, ans["errmsg"], tt.want)
			}
		})
	}
	t.Run("an expired token is 42001 and gettoken issues a new one", func(t *testing.T) {
		sim.ExpireTokens()
		if code, _ := call(t, "GET", sim.URL+wecomsim.PathList+"?userid=zhangsan&access_token="+tok, ""); code != 42001 {
			t.Errorf("errcode %d, want 42001", code)
		}
		if tok2 := token(t, sim); tok2 == tok {
			t.Error("gettoken returned the expired token")
		}
	})
}

func TestSimulateIsPlausibleAndRepeatable(t *testing.T) {
	now := day0.AddDate(0, 1, 0)
	run := func(deliver bool) (*wecomsim.Sim, *receiver) {
		sim := wecomsim.New(wecomsim.Options{Seed: 42, Now: func() time.Time { return now }})
		t.Cleanup(sim.Close)
		sim.Seed(wecomsim.SeedConfig{Until: day0})
		var rc *receiver
		if deliver {
			rc = newReceiver(t, sim)
		}
		if err := sim.Simulate(context.Background(), day0, day0.AddDate(0, 0, 30), deliver); err != nil {
			t.Fatal(err)
		}
		return sim, rc
	}
	a, rc := run(true)
	b, _ := run(false)

	if len(a.Members()) != 6 || len(a.Groups()) != 4 {
		t.Errorf("brand has %d members and %d groups, want 6 and 4", len(a.Members()), len(a.Groups()))
	}
	if !slices.EqualFunc(a.Relationships(), b.Relationships(), func(x, y wecomsim.Relationship) bool {
		return x.UserID == y.UserID && x.ExternalUserID == y.ExternalUserID && x.CreateTime.Equal(y.CreateTime) && x.State == y.State && x.OneWay == y.OneWay
	}) {
		t.Error("the same seed produced different relationships")
	}

	evs := rc.received()
	count := map[string]int{}
	channels := map[string]bool{}
	added := map[[2]string]int64{}
	early, business := 0, 0
	for _, ev := range evs {
		count[ev.ChangeType+"/"+ev.UpdateDetail+ev.Source]++
		t := time.Unix(ev.CreateTime, 0).In(wecom.Beijing)
		if h := t.Hour(); h >= 9 && h < 23 {
			business++
		}
		switch ev.ChangeType {
		case wecom.ChangeAddExternalContact:
			added[[2]string{ev.UserID, ev.ExternalUserID}] = ev.CreateTime
			channels[ev.State] = true
		case wecom.ChangeDelFollowUser:
			if at, ok := added[[2]string{ev.UserID, ev.ExternalUserID}]; ok && ev.CreateTime-at < 24*3600 {
				early++
			}
		}
	}
	t.Logf("30 days: %d events %v, %d early churn", len(evs), count, early)
	for _, k := range []string{"add_external_contact/", "del_follow_user/", "del_external_contact/", "del_external_contact/DELETE_BY_TRANSFER", "update/add_member", "update/del_member"} {
		if count[k] == 0 {
			t.Errorf("a month of traffic has no %s", k)
		}
	}
	if count["add_external_contact/"] < 200 || count["add_external_contact/"] > 600 {
		t.Errorf("%d adds in 30 days, want a few hundred", count["add_external_contact/"])
	}
	if early == 0 {
		t.Error("no customer was lost within a day of being added")
	}
	if len(channels) < 4 {
		t.Errorf("adds came through %d channels, want the brand's five", len(channels))
	}
	if business*10 < len(evs)*8 {
		t.Errorf("%d of %d events in business hours, want most", business, len(evs))
	}
	for _, ev := range evs {
		if ev.CreateTime < day0.Unix() || ev.CreateTime >= day0.AddDate(0, 0, 30).Unix() {
			t.Fatalf("event at %d outside the simulated month", ev.CreateTime)
		}
	}
	if d := a.Deliveries(); len(d) != len(evs) {
		t.Errorf("%d deliveries recorded, %d received", len(d), len(evs))
	}
}

func TestEventXMLHasTheDocumentedShape(t *testing.T) {
	ev := wecom.Event{ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: "change_external_contact", ChangeType: "del_external_contact", UserID: "zhangsan",
		ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA", Source: "DELETE_BY_TRANSFER"}
	want := "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>" +
		"<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>" +
		"<ChangeType><![CDATA[del_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>" +
		"<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID><Source><![CDATA[DELETE_BY_TRANSFER]]></Source></xml>"
	if got := string(wecomsim.EventXML(ev)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
