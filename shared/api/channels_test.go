package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// channelsEnv is the channels routes over SQLite and the simulator, whose
// corp has alice and bob (department 2) and the tags tag-vip and
// tag-store; writes counts every store write.
type channelsEnv struct {
	srv    *api.Server
	sim    *wecomsim.Sim
	wc     *wecom.Client
	st     store.Store
	writes *storetest.Counting
	clock  *testclock.Clock
	loc    *time.Location
}

func channelsServer(t testing.TB) *channelsEnv {
	return channelsServerWith(t, true)
}

func channelsServerWith(t testing.TB, withWeCom bool) *channelsEnv {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(testclock.Date(2026, 11, 25, 9, 0, 0, 0, loc))
	raw, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	counting := &storetest.Counting{Store: raw}
	// The clock stands still, so WeCom's per-minute limit would never reset:
	// a fuzz run's thousands of creates would meet 45009 and the client's
	// back-off would sleep on the wall clock. These tests are not about it.
	sim := wecomsim.New(wecomsim.Options{Now: clock.Now, RateLimit: 1 << 30})
	t.Cleanup(sim.Close)
	sim.PutMember(wecomsim.Member{UserID: "alice", Name: "Alice", Departments: []int{1}})
	sim.PutMember(wecomsim.Member{UserID: "bob", Name: "Bob", Departments: []int{2}})
	sim.AddTags("tag-vip", "tag-store")
	// The WeCom client keeps its token in its own store, so that the
	// channel writes counted are the service's only.
	wc := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
		Store: storetest.NewMemStore(clock.Now), Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	var svcWeCom channels.WeCom
	if withWeCom {
		svcWeCom = wc
	}
	svc := channels.New(counting, svcWeCom, loc, slog.New(slog.DiscardHandler), clock.Now)
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), clock.Now)
	api.MountChannels(s, svc)
	return &channelsEnv{srv: s, sim: sim, wc: wc, st: raw, writes: counting, clock: clock, loc: loc}
}

func channelOf(t *testing.T, body []byte) channels.Channel {
	t.Helper()
	var c channels.Channel
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return c
}

func mustCreate(t *testing.T, e *channelsEnv, body string) channels.Channel {
	t.Helper()
	rec := call(e.srv, http.MethodPost, "/api/channels", body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create %s = %d %s", body, rec.Code, rec.Body)
	}
	return channelOf(t, rec.Body.Bytes())
}

const storeQR = `{"name":"门店二维码","kind":"contact_way","members":["alice","bob"],"tags":["tag-vip","tag-store"],
	"welcome":{"text":"%NICKNAME%，欢迎光临","attachments":[{"type":"link","url":"https://shop.example/new","title":"新品"}]}}`

func TestAContactWayIsCreatedReadRenamedUpdatedAndDeletedInWeComToo(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	c := mustCreate(t, e, storeQR)
	if c.Kind != channels.KindContactWay || c.Type != channels.TypeMulti || c.Name != "门店二维码" || c.ConfigID == "" || c.QRCode == "" || c.Pending {
		t.Fatalf("created %+v", c)
	}
	if c.State == "" || len(c.State) > channels.MaxStateLen {
		t.Fatalf("generated state %q", c.State)
	}
	way, err := e.wc.GetContactWay(ctx, c.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	if way.State != c.State || !slices.Equal(way.User, []string{"alice", "bob"}) || way.Scene != wecom.ContactWaySceneQRCode || way.Type != wecom.ContactWayMulti {
		t.Fatalf("the way in WeCom is %+v, the channel %+v", way, c)
	}

	t.Run("it reads back by id and in the list, oldest first", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		second := mustCreate(t, e, `{"name":"抖音直播获客链接","kind":"acquisition_link","members":["bob"]}`)
		rec := call(e.srv, http.MethodGet, "/api/channels/"+c.ID, "")
		if got := channelOf(t, rec.Body.Bytes()); rec.Code != 200 || got.ConfigID != c.ConfigID || got.Welcome.Text != "%NICKNAME%，欢迎光临" {
			t.Fatalf("get = %d %s", rec.Code, rec.Body)
		}
		var l struct{ Channels []channels.Channel }
		rec = call(e.srv, http.MethodGet, "/api/channels", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil || len(l.Channels) != 2 || l.Channels[0].ID != c.ID || l.Channels[1].ID != second.ID {
			t.Fatalf("list = %s", rec.Body)
		}
		if rec := call(e.srv, http.MethodDelete, "/api/channels/"+second.ID, ""); rec.Code != http.StatusNoContent {
			t.Fatalf("delete = %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("renamed with new members and a new welcome, in WeCom and in Siyu", func(t *testing.T) {
		rec := call(e.srv, http.MethodPatch, "/api/channels/"+c.ID, `{"name":"门店二维码（新）","members":["bob"],"welcome":{"text":"hi"}}`)
		if rec.Code != 200 {
			t.Fatalf("patch = %d %s", rec.Code, rec.Body)
		}
		got := channelOf(t, rec.Body.Bytes())
		if got.Name != "门店二维码（新）" || !slices.Equal(got.Members, []string{"bob"}) || got.Welcome.Text != "hi" || len(got.Welcome.Attachments) != 0 || got.State != c.State {
			t.Fatalf("patched %+v", got)
		}
		way, err := e.wc.GetContactWay(ctx, c.ConfigID)
		if err != nil || !slices.Equal(way.User, []string{"bob"}) || way.State != c.State {
			t.Fatalf("way after patch %+v %v", way, err)
		}
		r, err := channels.RuleFor(ctx, e.st, c.State)
		if err != nil || r.Welcome == nil || r.Welcome.Text != "hi" || !slices.Equal(r.Tags, []string{"tag-vip", "tag-store"}) {
			t.Fatalf("rule %+v %v", r, err)
		}
	})

	t.Run("its type, kind and state cannot change", func(t *testing.T) {
		for _, body := range []string{`{"type":"single"}`, `{"state":"x"}`, `{"kind":"acquisition_link"}`} {
			rec := call(e.srv, http.MethodPatch, "/api/channels/"+c.ID, body)
			field := strings.Split(body, `"`)[1]
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), field+": ") {
				t.Errorf("%s = %d %s", body, rec.Code, rec.Body)
			}
		}
	})

	t.Run("deleted: the way is gone from WeCom and the state is free", func(t *testing.T) {
		if rec := call(e.srv, http.MethodDelete, "/api/channels/"+c.ID, ""); rec.Code != http.StatusNoContent {
			t.Fatalf("delete = %d %s", rec.Code, rec.Body)
		}
		var ae *wecom.APIError
		if _, err := e.wc.GetContactWay(ctx, c.ConfigID); !errors.As(err, &ae) || ae.Code != wecom.CodeInvalidConfigID {
			t.Fatalf("the way still answers: %v", err)
		}
		if rec := call(e.srv, http.MethodGet, "/api/channels/"+c.ID, ""); rec.Code != 404 {
			t.Fatalf("get after delete = %d", rec.Code)
		}
		if _, ok, _ := channels.ByState(ctx, e.st, c.State); ok {
			t.Fatal("the state still names the channel")
		}
		again := mustCreate(t, e, `{"name":"again","kind":"contact_way","type":"single","members":["alice"],"state":"`+c.State+`"}`)
		if again.State != c.State {
			t.Fatalf("state not reused: %+v", again)
		}
	})
}

func TestAnAcquisitionLinkCarriesItsStateAsCustomerChannel(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	c := mustCreate(t, e, `{"name":"抖音直播获客链接","kind":"acquisition_link","state":"douyin-live","departments":[2],"skip_verify":true,"welcome":{"text":"直播间专属福利"}}`)
	u, err := url.Parse(c.LinkURL)
	if err != nil || u.Query().Get("customer_channel") != "douyin-live" || c.LinkID == "" || c.State != "douyin-live" {
		t.Fatalf("created %+v", c)
	}
	link, err := e.wc.GetAcquisitionLink(ctx, c.LinkID)
	if err != nil || link.Link.LinkName != "抖音直播获客链接" || !slices.Equal(link.Range.DepartmentList, []int{2}) || !link.Link.SkipVerify {
		t.Fatalf("link in WeCom %+v %v", link, err)
	}
	if _, err := e.sim.ArriveThroughLink(ctx, c.LinkID, c.State, "wmNew1", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r, ok := e.sim.Relationship("bob", "wmNew1"); !ok || r.State != "douyin-live" {
		t.Fatalf("arrival %+v", r)
	}

	rec := call(e.srv, http.MethodPatch, "/api/channels/"+c.ID, `{"name":"抖音直播","members":["alice"],"departments":[]}`)
	if rec.Code != 200 {
		t.Fatalf("patch = %d %s", rec.Code, rec.Body)
	}
	link, err = e.wc.GetAcquisitionLink(ctx, c.LinkID)
	if err != nil || link.Link.LinkName != "抖音直播" || !slices.Equal(link.Range.UserList, []string{"alice"}) {
		t.Fatalf("link after patch %+v %v", link, err)
	}
	if rec := call(e.srv, http.MethodDelete, "/api/channels/"+c.ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	if _, err := e.wc.GetAcquisitionLink(ctx, c.LinkID); err == nil {
		t.Fatal("the link is still in WeCom")
	}
}

// wayCalls counts the simulator's create calls.
func (e *channelsEnv) wayCalls() int {
	return e.sim.Calls(wecomsim.PathAddContactWay) + e.sim.Calls(wecomsim.PathCreateLink)
}

func TestBadChannelsAreRefusedNamingTheFieldAndLeaveNoTrace(t *testing.T) {
	e := channelsServer(t)
	long := strings.Repeat("长", 65)
	nine := strings.Repeat(`{"type":"image","url":"https://cdn.example/a.png"},`, 10)
	tests := []struct{ name, body, field string }{
		{"no name", `{"kind":"contact_way","members":["alice"]}`, "name: "},
		{"a blank name", `{"name":"  ","kind":"contact_way","members":["alice"]}`, "name: "},
		{"a name over 64 characters", `{"name":"` + long + `","kind":"contact_way","members":["alice"]}`, "name: "},
		{"no kind", `{"name":"x","members":["alice"]}`, "kind: "},
		{"an unknown kind", `{"name":"x","kind":"poster","members":["alice"]}`, "kind: "},
		{"a state over 30 characters", `{"name":"x","kind":"contact_way","members":["alice"],"state":"` + strings.Repeat("s", 31) + `"}`, "state: "},
		{"a state with unsafe characters", `{"name":"x","kind":"contact_way","members":["alice"],"state":"a b&c"}`, "state: "},
		{"an unknown type", `{"name":"x","kind":"contact_way","type":"many","members":["alice"]}`, "type: "},
		{"a type on a link", `{"name":"x","kind":"acquisition_link","type":"single","members":["alice"]}`, "type: "},
		{"a single way with two members", `{"name":"x","kind":"contact_way","type":"single","members":["alice","bob"]}`, "members: "},
		{"a way with nobody", `{"name":"x","kind":"contact_way"}`, "members: "},
		{"a link with nobody", `{"name":"x","kind":"acquisition_link"}`, "members: "},
		{"an empty member", `{"name":"x","kind":"contact_way","members":[""]}`, "members[0]: "},
		{"a department 0", `{"name":"x","kind":"contact_way","departments":[0]}`, "departments[0]: "},
		{"a remark over 30 characters", `{"name":"x","kind":"contact_way","members":["alice"],"remark":"` + strings.Repeat("r", 31) + `"}`, "remark: "},
		{"a tag the corp lacks", `{"name":"x","kind":"contact_way","members":["alice"],"tags":["tag-vip","tag-gone"]}`, "tags[1]: "},
		{"a welcome over 4000 bytes", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"text":"` + strings.Repeat("字", 1334) + `"}}`, "welcome.text: "},
		{"ten attachments", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"text":"hi","attachments":[` + strings.TrimSuffix(nine, ",") + `]}}`, "welcome.attachments: "},
		{"an image without url or media_id", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"image"}]}}`, "welcome.attachments[0].url: "},
		{"a link without title", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"link","url":"https://a.example"}]}}`, "welcome.attachments[0].title: "},
		{"a link to a file URL", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"link","url":"file:///etc/passwd","title":"t"}]}}`, "welcome.attachments[0].url: "},
		{"a miniprogram without page", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"miniprogram","title":"t","appid":"wx1","media_id":"m"}]}}`, "welcome.attachments[0].page: "},
		{"a miniprogram without cover", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"miniprogram","title":"t","appid":"wx1","page":"p"}]}}`, "welcome.attachments[0].url: "},
		{"an unknown attachment type", `{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"gif","url":"https://a.example/a.gif"}]}}`, "welcome.attachments[0].type: "},
		{"an unknown field", `{"name":"x","kind":"contact_way","members":["alice"],"color":"red"}`, "color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes, calls := e.writes.Writes.Load(), e.wayCalls()
			rec := call(e.srv, http.MethodPost, "/api/channels", tt.body)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tt.field) {
				t.Fatalf("= %d %s, want 400 naming %q", rec.Code, rec.Body, tt.field)
			}
			if n := e.writes.Writes.Load() - writes; n != 0 {
				t.Errorf("%d store writes", n)
			}
			if n := e.wayCalls() - calls; n != 0 {
				t.Errorf("%d create calls reached WeCom", n)
			}
		})
	}
}

func TestAStateAlreadyOwnedIs409AndLeavesNoTrace(t *testing.T) {
	e := channelsServer(t)
	mustCreate(t, e, `{"name":"a","kind":"contact_way","members":["alice"],"state":"shop-1"}`)
	writes, calls := e.writes.Writes.Load(), e.wayCalls()
	rec := call(e.srv, http.MethodPost, "/api/channels", `{"name":"b","kind":"acquisition_link","members":["bob"],"state":"shop-1"}`)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"state_taken"`) {
		t.Fatalf("= %d %s", rec.Code, rec.Body)
	}
	if n := e.writes.Writes.Load() - writes; n != 0 {
		t.Errorf("%d store writes", n)
	}
	if n := e.wayCalls() - calls; n != 0 {
		t.Errorf("%d create calls reached WeCom", n)
	}
}

func TestWeComRefusingTheCreateLeavesNothing(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, path, body string
		code, status     int
	}{
		{"a way refused for an unknown member", wecomsim.PathAddContactWay, `{"name":"a","kind":"contact_way","members":["alice"],"state":"s1"}`, wecom.CodeInvalidUserID, 400},
		{"a way refused for a reason no field names", wecomsim.PathAddContactWay, `{"name":"a","kind":"contact_way","members":["alice"],"state":"s1"}`, 40058, 502},
		{"a link refused over its quota", wecomsim.PathCreateLink, `{"name":"a","kind":"acquisition_link","members":["alice"],"state":"s1"}`, wecom.CodeAcquisitionLinkLimit, 409},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := channelsServer(t)
			e.sim.Inject(tt.path, tt.code, 1)
			rec := call(e.srv, http.MethodPost, "/api/channels", tt.body)
			if rec.Code != tt.status {
				t.Fatalf("= %d %s", rec.Code, rec.Body)
			}
			all, err := channels.List(ctx, e.st)
			if err != nil || len(all) != 0 {
				t.Fatalf("channels left: %+v %v", all, err)
			}
			if _, err := e.st.Get(ctx, "channel#state", "s1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("state index left: %v", err)
			}
			// And the state is free for the next try.
			mustCreate(t, e, tt.body)
		})
	}
}

func TestWithoutWeComChangesAre503AndReadsWork(t *testing.T) {
	e := channelsServerWith(t, false)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/channels", storeQR},
		{http.MethodGet, "/api/tags", ""},
		{http.MethodPost, "/api/tags", `{"group_name":"g","tags":[{"name":"t"}]}`},
	} {
		rec := call(e.srv, r.method, r.path, r.body)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "wecom_not_configured") {
			t.Errorf("%s %s = %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
	for _, path := range []string{"/api/channels", "/api/settings"} {
		if rec := call(e.srv, http.MethodGet, path, ""); rec.Code != 200 {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestAdoptingAStateIsIdempotentAndTheAdoptedChannelCanBeNamed(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	owned := mustCreate(t, e, `{"name":"a","kind":"contact_way","members":["alice"],"state":"owned"}`)
	n, err := channels.Adopt(ctx, e.st, []string{"console-way", "owned", "", "console-way"}, e.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("adopted %d %v", n, err)
	}
	if n, err := channels.Adopt(ctx, e.st, []string{"console-way", "owned"}, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("adopted again %d %v", n, err)
	}
	c, ok, err := channels.ByState(ctx, e.st, "console-way")
	if err != nil || !ok || c.Kind != channels.KindAdopted || c.ID != channels.AdoptedID("console-way") || c.Name != "" {
		t.Fatalf("adopted %+v %v %v", c, ok, err)
	}
	if got, _, _ := channels.ByState(ctx, e.st, "owned"); got.ID != owned.ID {
		t.Fatalf("owned state now %+v", got)
	}
	if rec := call(e.srv, http.MethodPatch, "/api/channels/"+c.ID, `{"name":"老海报","tags":["tag-vip"]}`); rec.Code != 200 {
		t.Fatalf("rename = %d %s", rec.Code, rec.Body)
	}
	if rec := call(e.srv, http.MethodPatch, "/api/channels/"+c.ID, `{"members":["alice"]}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "members: ") {
		t.Fatalf("members of an adopted channel = %d %s", rec.Code, rec.Body)
	}
	calls := e.sim.Calls(wecomsim.PathDelContactWay)
	if rec := call(e.srv, http.MethodDelete, "/api/channels/"+c.ID, ""); rec.Code != http.StatusNoContent || e.sim.Calls(wecomsim.PathDelContactWay) != calls {
		t.Fatalf("delete adopted = %d %s", rec.Code, rec.Body)
	}
	if _, ok, _ := channels.ByState(ctx, e.st, "console-way"); ok {
		t.Fatal("the adopted channel survived its delete")
	}
}

func TestSettingsAreValidatedAndSavedOnlyOverTheVersionRead(t *testing.T) {
	e := channelsServer(t)
	rec := call(e.srv, http.MethodGet, "/api/settings", "")
	var got channels.Settings
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || !got.ChurnAlert.Enabled || got.DeletionAlert.Threshold != 10 || got.DeletionAlert.WindowMinutes != 60 {
		t.Fatalf("defaults = %d %s", rec.Code, rec.Body)
	}
	first := rec.Header().Get("ETag")
	valid := `{"default_welcome":{"text":"你好 %NICKNAME%"},"churn_alert":{"enabled":false},"deletion_alert":{"enabled":true,"threshold":5,"window_minutes":30,"admins":["alice"]},"report_lang":"en"}`
	for _, tt := range []struct{ name, body, field string }{
		{"a threshold of 0", strings.Replace(valid, `"threshold":5`, `"threshold":0`, 1), "deletion_alert.threshold: "},
		{"a threshold over 1000", strings.Replace(valid, `"threshold":5`, `"threshold":1001`, 1), "deletion_alert.threshold: "},
		{"a window over a day", strings.Replace(valid, `"window_minutes":30`, `"window_minutes":1441`, 1), "deletion_alert.window_minutes: "},
		{"an empty admin", strings.Replace(valid, `["alice"]`, `["alice",""]`, 1), "deletion_alert.admins[1]: "},
		{"101 admins", strings.Replace(valid, `["alice"]`, `["`+strings.Repeat(`a","`, 100)+`a"]`, 1), "deletion_alert.admins: "},
		{"an unknown language", strings.Replace(valid, `"en"`, `"fr"`, 1), "report_lang: "},
		{"a default welcome with a bad attachment", strings.Replace(valid, `"text":"你好 %NICKNAME%"`, `"attachments":[{"type":"video"}]`, 1), "default_welcome.attachments[0].url: "},
	} {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			writes := e.writes.Writes.Load()
			rec := call(e.srv, http.MethodPut, "/api/settings", tt.body)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), tt.field) {
				t.Fatalf("= %d %s, want 400 naming %q", rec.Code, rec.Body, tt.field)
			}
			if n := e.writes.Writes.Load() - writes; n != 0 {
				t.Errorf("%d store writes", n)
			}
		})
	}
	rec = call(e.srv, http.MethodPut, "/api/settings", valid)
	if rec.Code != 200 {
		t.Fatalf("put = %d %s", rec.Code, rec.Body)
	}
	s, err := channels.LoadSettings(context.Background(), e.st)
	if err != nil || s.ReportLang != "en" || s.ChurnAlert.Enabled || s.DeletionAlert.Threshold != 5 || s.DefaultWelcome.Text != "你好 %NICKNAME%" {
		t.Fatalf("saved %+v %v", s, err)
	}
	t.Run("a PUT over a stale ETag is 409", func(t *testing.T) {
		req := httpRequest(http.MethodPut, "/api/settings", valid)
		req.Header.Set("If-Match", first)
		rec := serve(e.srv, req)
		if rec.Code != http.StatusConflict {
			t.Fatalf("= %d %s", rec.Code, rec.Body)
		}
	})
}

func TestTagsAPIOverWeCom(t *testing.T) {
	e := channelsServer(t)
	rec := call(e.srv, http.MethodPost, "/api/tags", `{"group_name":"会员等级","tags":[{"name":"金卡"},{"name":"银卡","order":2}]}`)
	var g channels.TagGroup
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || rec.Code != http.StatusCreated || g.Name != "会员等级" || len(g.Tags) != 2 {
		t.Fatalf("add = %d %s", rec.Code, rec.Body)
	}
	for _, tt := range []struct{ name, method, path, body, field string }{
		{"an empty tag name", http.MethodPost, "/api/tags", `{"group_name":"g","tags":[{"name":""}]}`, "tags[0].name: "},
		{"a tag name over 30 characters", http.MethodPost, "/api/tags", `{"group_name":"g","tags":[{"name":"` + strings.Repeat("标", 31) + `"}]}`, "tags[0].name: "},
		{"no tags", http.MethodPost, "/api/tags", `{"group_name":"g","tags":[]}`, "tags: "},
		{"no group", http.MethodPost, "/api/tags", `{"tags":[{"name":"t"}]}`, "group_name: "},
		{"a rename to nothing", http.MethodPatch, "/api/tags/" + g.Tags[0].ID, `{"name":""}`, "name: "},
	} {
		if rec := call(e.srv, tt.method, tt.path, tt.body); rec.Code != 400 || !strings.Contains(rec.Body.String(), tt.field) {
			t.Errorf("%s = %d %s", tt.name, rec.Code, rec.Body)
		}
	}
	if rec := call(e.srv, http.MethodPost, "/api/tags", `{"group_id":"`+g.ID+`","tags":[{"name":"金卡"}]}`); rec.Code != http.StatusConflict {
		t.Errorf("a duplicate name = %d %s", rec.Code, rec.Body)
	}
	if rec := call(e.srv, http.MethodPatch, "/api/tags/"+g.Tags[0].ID, `{"name":"黑金卡"}`); rec.Code != 200 {
		t.Fatalf("rename = %d %s", rec.Code, rec.Body)
	}
	if rec := call(e.srv, http.MethodPatch, "/api/tags/"+g.ID, `{"name":"等级"}`); rec.Code != 200 {
		t.Fatalf("rename group = %d %s", rec.Code, rec.Body)
	}
	if rec := call(e.srv, http.MethodDelete, "/api/tags/"+g.Tags[1].ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete tag = %d %s", rec.Code, rec.Body)
	}
	var l struct{ Groups []channels.TagGroup }
	rec = call(e.srv, http.MethodGet, "/api/tags", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(l.Groups, func(x channels.TagGroup) bool { return x.ID == g.ID })
	if i < 0 || l.Groups[i].Name != "等级" || len(l.Groups[i].Tags) != 1 || l.Groups[i].Tags[0].Name != "黑金卡" {
		t.Fatalf("library = %s", rec.Body)
	}
	if rec := call(e.srv, http.MethodDelete, "/api/tags/"+g.ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete group = %d %s", rec.Code, rec.Body)
	}
	if rec := call(e.srv, http.MethodDelete, "/api/tags/"+g.ID, ""); rec.Code != http.StatusNotFound {
		t.Fatalf("delete it again = %d %s", rec.Code, rec.Body)
	}
}

func httpRequest(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAChannelWhoseAnswerWasLostIsFoundAgainAndOneNeverMadeIsRemoved(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	e.sim.DropAnswers(wecomsim.PathAddContactWay, 1)
	e.sim.DropAnswers(wecomsim.PathCreateLink, 1)
	for _, body := range []string{
		`{"name":"门店二维码","kind":"contact_way","members":["alice"],"state":"lost-way"}`,
		`{"name":"抖音直播","kind":"acquisition_link","members":["bob"],"state":"lost-link"}`,
	} {
		if rec := call(e.srv, http.MethodPost, "/api/channels", body); rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "wecom_no_answer") {
			t.Fatalf("create without an answer = %d %s", rec.Code, rec.Body)
		}
		e.clock.Advance(time.Second)
	}
	// A third was recorded pending and the process died before WeCom was
	// asked: no way has its state.
	never := channels.Channel{ID: "chnever", Draft: channels.Draft{Name: "x", Kind: channels.KindContactWay, State: "never",
		Type: "multi", Members: []string{"alice"}}, Pending: true, CreatedAt: e.clock.Now().UTC()}
	data, _ := json.Marshal(never)
	if _, err := e.st.Put(ctx, store.Item{PK: "channel", SK: never.ID, Data: data}, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Put(ctx, store.Item{PK: "channel#state", SK: "never", Data: []byte(never.ID)}, store.IfAbsent); err != nil {
		t.Fatal(err)
	}

	var l struct{ Channels []channels.Channel }
	list := func() {
		rec := call(e.srv, http.MethodGet, "/api/channels", "")
		l.Channels = nil
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
	}
	list()
	if len(l.Channels) != 3 || !l.Channels[0].Pending || !l.Channels[1].Pending {
		t.Fatalf("within the grace the channels stay pending: %+v", l.Channels)
	}
	e.clock.Advance(channels.PendingGrace + time.Second)
	list()
	if len(l.Channels) != 2 {
		t.Fatalf("after repair %+v", l.Channels)
	}
	way, link := l.Channels[0], l.Channels[1]
	if way.Pending || way.ConfigID == "" || way.QRCode == "" {
		t.Fatalf("way not repaired: %+v", way)
	}
	if w, err := e.wc.GetContactWay(ctx, way.ConfigID); err != nil || w.State != "lost-way" {
		t.Fatalf("the way found is %+v %v", w, err)
	}
	if link.Pending || link.LinkID == "" || !strings.Contains(link.LinkURL, "customer_channel=lost-link") {
		t.Fatalf("link not repaired: %+v", link)
	}
	if _, ok, _ := channels.ByState(ctx, e.st, "never"); ok {
		t.Fatal("the channel never made in WeCom still owns its state")
	}
	if rec := call(e.srv, http.MethodDelete, "/api/channels/"+way.ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("the repaired way cannot be deleted: %d %s", rec.Code, rec.Body)
	}
}

func TestBadPatchesAreRefusedNamingTheFieldAndChangeNothing(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	way := mustCreate(t, e, `{"name":"门店","kind":"contact_way","type":"single","members":["alice"],"remark":"r"}`)
	for _, tt := range []struct{ name, body, field string }{
		{"a blank name", `{"name":""}`, "name: "},
		{"two members on a single way", `{"members":["alice","bob"]}`, "members: "},
		{"a department on a single way", `{"departments":[2]}`, "members: "},
		{"a tag the corp lacks", `{"tags":["tag-gone"]}`, "tags[0]: "},
		{"a welcome with a bad URL", `{"welcome":{"attachments":[{"type":"image","url":"ftp://x/a.png"}]}}`, "welcome.attachments[0].url: "},
		{"a remark WeCom cannot clear", `{"remark":""}`, "remark: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			writes, calls := e.writes.Writes.Load(), e.sim.Calls(wecomsim.PathUpdateContactWay)
			rec := call(e.srv, http.MethodPatch, "/api/channels/"+way.ID, tt.body)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), tt.field) {
				t.Fatalf("= %d %s, want 400 naming %q", rec.Code, rec.Body, tt.field)
			}
			if n := e.writes.Writes.Load() - writes; n != 0 {
				t.Errorf("%d store writes", n)
			}
			if n := e.sim.Calls(wecomsim.PathUpdateContactWay) - calls; n != 0 {
				t.Errorf("%d updates reached WeCom", n)
			}
		})
	}
	got, err := channels.Get(ctx, e.st, way.ID)
	if err != nil || got.Name != "门店" || !slices.Equal(got.Members, []string{"alice"}) {
		t.Fatalf("after refusals %+v %v", got, err)
	}
	if rec := call(e.srv, http.MethodPatch, "/api/channels/nope", `{"name":"x"}`); rec.Code != 404 {
		t.Fatalf("unknown channel = %d %s", rec.Code, rec.Body)
	}
}

func TestAStateIndexLeftByADeleteCutShortIsTakenOver(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	// The record was deleted, the process died before its index went.
	if _, err := e.st.Put(ctx, store.Item{PK: "channel#state", SK: "shop-9", Data: []byte("chgone")}, store.IfAbsent); err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, e, `{"name":"a","kind":"contact_way","members":["alice"],"state":"shop-9"}`)
	if got, ok, err := channels.ByState(ctx, e.st, "shop-9"); err != nil || !ok || got.ID != c.ID {
		t.Fatalf("state owner %+v %v %v", got, ok, err)
	}
}

func TestAChannelAlreadyGoneFromWeComCanStillBeDeleted(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	way := mustCreate(t, e, `{"name":"a","kind":"contact_way","members":["alice"]}`)
	link := mustCreate(t, e, `{"name":"b","kind":"acquisition_link","members":["alice"]}`)
	if err := e.wc.DelContactWay(ctx, way.ConfigID); err != nil {
		t.Fatal(err)
	}
	if err := e.wc.DeleteAcquisitionLink(ctx, link.LinkID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []channels.Channel{way, link} {
		if rec := call(e.srv, http.MethodDelete, "/api/channels/"+c.ID, ""); rec.Code != http.StatusNoContent {
			t.Errorf("delete %s = %d %s", c.Kind, rec.Code, rec.Body)
		}
	}
	if all, err := channels.List(ctx, e.st); err != nil || len(all) != 0 {
		t.Fatalf("left %+v %v", all, err)
	}
}
