package wecom_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// newClock is the one clock of a simulator and its clients.
func newClock() *testclock.Clock {
	return testclock.New(testclock.Date(2025, 6, 10, 9, 30, 0, 0, wecom.Beijing))
}

// fixture is a simulator, a shared store and a clock.
type fixture struct {
	sim    *wecomsim.Sim
	store  *storetest.MemStore
	clock  *testclock.Clock
	sleeps []time.Duration
	mu     sync.Mutex
}

func newFixture(t *testing.T, opts wecomsim.Options) *fixture {
	t.Helper()
	f := &fixture{clock: newClock()}
	opts.Now = f.clock.Now
	opts.Seed = 7
	f.sim = wecomsim.New(opts)
	t.Cleanup(f.sim.Close)
	f.store = storetest.NewMemStore(f.clock.Now)
	return f
}

func (f *fixture) client(mod ...func(*wecom.ClientConfig)) *wecom.Client {
	cfg := wecom.ClientConfig{
		BaseURL: f.sim.URL, CorpID: f.sim.CorpID(), Secret: f.sim.Secret(), Store: f.store, Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep: func(_ context.Context, d time.Duration) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sleeps = append(f.sleeps, d)
			return nil
		},
	}
	for _, m := range mod {
		m(&cfg)
	}
	return wecom.NewClient(cfg)
}

// withCustomers gives member n baseline customers.
func (f *fixture) withCustomers(t *testing.T, member string, n int) []string {
	t.Helper()
	f.sim.PutMember(wecomsim.Member{UserID: member, Name: member})
	var ids []string
	for i := range n {
		id := fmt.Sprintf("wm%s%04dAAAA", member, i)
		err := f.sim.PutRelationship(wecomsim.Relationship{UserID: member, ExternalUserID: id, State: "store_qr_sh",
			CreateTime: f.clock.Now().Add(-time.Duration(n-i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestTokenIsSharedThroughTheStore(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	want := f.withCustomers(t, "zhangwei", 3)
	ctx := context.Background()
	for i, c := range []*wecom.Client{f.client(), f.client()} {
		got, err := c.ListExternalContacts(ctx, "zhangwei")
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("client %d listed %v, want %v", i, got, want)
		}
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 1 {
		t.Errorf("two clients sharing a store fetched %d tokens, want 1", n)
	}
	it, err := f.store.Get(ctx, "wecom#token", f.sim.CorpID()+":"+sha8(f.sim.Secret()))
	if err != nil {
		t.Fatalf("token not cached under the documented key: %v", err)
	}
	var cached struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(it.Data, &cached); err != nil || cached.Token == "" {
		t.Fatalf("cached token %s: %v", it.Data, err)
	}
	if want := f.clock.Now().Add(wecomsim.TokenTTL); !cached.ExpiresAt.Equal(want) {
		t.Errorf("cached token expires at %v, want %v", cached.ExpiresAt, want)
	}
}

func TestTokenRefresh(t *testing.T) {
	tests := []struct {
		name        string
		disturb     func(f *fixture)
		wantFetches int
	}{
		{"a token close to expiry is renewed ahead of time", func(f *fixture) { f.clock.Advance(wecomsim.TokenTTL - 200*time.Second) }, 2},
		{"a token used well within its life is reused", func(f *fixture) { f.clock.Advance(time.Hour) }, 1},
		{"a token WeCom expired early is refreshed once", func(f *fixture) { f.sim.ExpireTokens() }, 2},
		{"an injected 42001 refreshes once and retries", func(f *fixture) { f.sim.Inject(wecomsim.PathList, wecom.CodeTokenExpired, 1) }, 2},
		{"an injected 40014 refreshes once and retries", func(f *fixture) { f.sim.Inject(wecomsim.PathList, wecom.CodeInvalidToken, 1) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, wecomsim.Options{})
			want := f.withCustomers(t, "lina", 2)
			c := f.client()
			ctx := context.Background()
			if _, err := c.ListExternalContacts(ctx, "lina"); err != nil {
				t.Fatal(err)
			}
			tt.disturb(f)
			got, err := c.ListExternalContacts(ctx, "lina")
			if err != nil {
				t.Fatalf("call after disturbance: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("listed %v, want %v", got, want)
			}
			if n := f.sim.Calls(wecomsim.PathGetToken); n != tt.wantFetches {
				t.Errorf("gettoken called %d times, want %d", n, tt.wantFetches)
			}
		})
	}
}

func TestATokenRejectedTwiceSurfacesTheError(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "lina", 1)
	f.sim.Inject(wecomsim.PathList, wecom.CodeInvalidToken, 2)
	_, err := f.client().ListExternalContacts(context.Background(), "lina")
	if !wecom.IsCode(err, wecom.CodeInvalidToken) {
		t.Fatalf("got %v, want errcode 40014 after one refresh", err)
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 2 {
		t.Errorf("gettoken called %d times, want 2 (refresh once only)", n)
	}
}

// WeCom revokes every token at once while two instances share the cache:
// the refresh after a refused token finds the other instance's token, as
// dead as its own, and must not give up on it.
func TestATokenRevokedWithTheSharedCachesIsFetchedAgain(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	want := f.withCustomers(t, "lina", 2)
	ctx := context.Background()
	first, second := f.client(), f.client()
	if _, err := first.ListExternalContacts(ctx, "lina"); err != nil {
		t.Fatal(err)
	}
	// The second instance meets a revocation and caches a new token; the
	// first still holds the old one in memory.
	f.sim.ExpireTokens()
	if _, err := second.ListExternalContacts(ctx, "lina"); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 2 {
		t.Fatalf("gettoken called %d times before the second revocation, want 2", n)
	}
	// Every token is revoked again: the first instance's own token and the
	// cached one are both dead.
	f.sim.ExpireTokens()
	got, err := first.ListExternalContacts(ctx, "lina")
	if err != nil {
		t.Fatalf("call after a revocation of every token: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 3 {
		t.Errorf("gettoken called %d times, want 3 (one more fetch)", n)
	}
}

// keepsTokens is a table whose cached access token comes back as soon as it
// is dropped: another instance that read it a moment before the drop
// caches it again.
type keepsTokens struct{ store.Store }

func (k keepsTokens) Delete(ctx context.Context, pk, sk string, cond store.Cond) error {
	if strings.HasPrefix(pk, "wecom#token") && !strings.HasSuffix(sk, "#lease") {
		return nil
	}
	return k.Store.Delete(ctx, pk, sk, cond)
}

// A refused token is never used again within the call, wherever it comes
// back from.
func TestARefusedTokenCachedAgainIsNotRetried(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	want := f.withCustomers(t, "lina", 2)
	ctx := context.Background()
	c := f.client(func(cfg *wecom.ClientConfig) { cfg.Store = keepsTokens{f.store} })
	if _, err := c.ListExternalContacts(ctx, "lina"); err != nil {
		t.Fatal(err)
	}
	f.sim.ExpireTokens()
	got, err := c.ListExternalContacts(ctx, "lina")
	if err != nil {
		t.Fatalf("call after a revocation, the refused token cached again: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 2 {
		t.Errorf("gettoken called %d times, want 2", n)
	}
}

func TestTransientErrorsBackOff(t *testing.T) {
	tests := []struct {
		name      string
		code      int
		times     int
		wantErr   bool
		wantSleep int
	}{
		{"rate limited twice then served", wecom.CodeRateLimited, 2, false, 2},
		{"system busy once then served", wecom.CodeBusy, 1, false, 1},
		{"concurrency limited once then served", wecom.CodeConcurrencyLimited, 1, false, 1},
		{"rate limited on every try gives up after three", wecom.CodeRateLimited, 5, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, wecomsim.Options{})
			f.withCustomers(t, "lina", 1)
			f.sim.Inject(wecomsim.PathList, tt.code, tt.times)
			c := f.client(func(cfg *wecom.ClientConfig) { cfg.MaxBackoff = 2 * time.Second })
			_, err := c.ListExternalContacts(context.Background(), "lina")
			if tt.wantErr {
				var apiErr *wecom.APIError
				if !errors.As(err, &apiErr) || apiErr.Code != tt.code || !apiErr.Temporary() {
					t.Fatalf("got %v, want a temporary APIError %d", err, tt.code)
				}
			} else if err != nil {
				t.Fatalf("got %v, want success after backoff", err)
			}
			if len(f.sleeps) != tt.wantSleep {
				t.Errorf("slept %d times (%v), want %d", len(f.sleeps), f.sleeps, tt.wantSleep)
			}
			for _, d := range f.sleeps {
				if d <= 0 || d > 2*time.Second {
					t.Errorf("waited %v, want within (0, MaxBackoff]", d)
				}
			}
		})
	}
}

func TestPermanentErrorsSurfaceAtOnce(t *testing.T) {
	tests := []struct {
		name string
		call func(*wecom.Client) error
		code int
	}{
		{"a wrong secret is 40001", func(c *wecom.Client) error { _, err := c.GetFollowUserList(context.Background()); return err }, wecom.CodeInvalidSecret},
		{"an unknown customer is 40096", func(c *wecom.Client) error {
			_, err := c.GetExternalContact(context.Background(), "wmnobody")
			return err
		}, wecom.CodeInvalidExternalID},
		{"an unknown group is 40050", func(c *wecom.Client) error {
			_, err := c.GroupChatGet(context.Background(), "wrnothing")
			return err
		}, 40050},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, wecomsim.Options{})
			c := f.client()
			if tt.code == wecom.CodeInvalidSecret {
				c = f.client(func(cfg *wecom.ClientConfig) { cfg.Secret = "not-the-secret" })
			}
			err := tt.call(c)
			var apiErr *wecom.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.code {
				t.Fatalf("got %v, want APIError %d", err, tt.code)
			}
			if apiErr.Temporary() {
				t.Errorf("errcode %d reported temporary", tt.code)
			}
			if len(f.sleeps) != 0 {
				t.Errorf("retried a permanent error (%d sleeps)", len(f.sleeps))
			}
			if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), "simtok_") {
				t.Errorf("error leaks a credential: %v", err)
			}
		})
	}
}

func TestErrorsNeverCarryTheToken(t *testing.T) {
	// A server that hangs up: the transport error would name the URL.
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "lina", 1)
	c := f.client()
	ctx := context.Background()
	if _, err := c.ListExternalContacts(ctx, "lina"); err != nil {
		t.Fatal(err)
	}
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wecomsim.PathGetToken {
			f.sim.Handler().ServeHTTP(w, r)
			return
		}
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	t.Cleanup(hangup.Close)
	c2 := f.client(func(cfg *wecom.ClientConfig) { cfg.BaseURL = hangup.URL })
	_, err := c2.ListExternalContacts(ctx, "lina")
	if err == nil {
		t.Fatal("want a transport error")
	}
	if strings.Contains(err.Error(), "simtok_") || !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("transport error should name the URL with the token redacted: %v", err)
	}
	if len(f.sleeps) != 2 {
		t.Errorf("a read failing in transport was tried %d times, want 3", len(f.sleeps)+1)
	}
}

func TestListExternalContactsOfAMemberWithoutCustomersIsEmpty(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	f.sim.PutMember(wecomsim.Member{UserID: "newbie"})
	got, err := f.client().ListExternalContacts(context.Background(), "newbie")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want an empty list for 84061", got, err)
	}
}

func TestBatchGetByUserPagesPastOneHundred(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	want := f.withCustomers(t, "wangfang", 130)
	more := f.withCustomers(t, "chenjing", 90)
	c := f.client()
	ctx := context.Background()

	page, err := c.BatchGetByUser(ctx, wecom.BatchGetByUserRequest{UserIDs: []string{"wangfang", "chenjing"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Contacts) != 100 || page.NextCursor == "" {
		t.Fatalf("first page has %d contacts and cursor %q, want 100 and a cursor", len(page.Contacts), page.NextCursor)
	}

	all, err := c.BatchGetAllByUser(ctx, []string{"wangfang", "chenjing"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fc := range all {
		got = append(got, fc.ExternalContact.ExternalUserID)
		if fc.FollowInfo.State != "store_qr_sh" || fc.FollowInfo.CreateTime == 0 {
			t.Fatalf("follow_info %+v lacks channel or add time", fc.FollowInfo)
		}
	}
	if want := append(want, more...); !slices.Equal(got, want) {
		t.Errorf("paged %d contacts, want all %d in order", len(got), len(want))
	}
	// The lean listing: the same pairs in the same order, a page at a time.
	var pairs []wecom.FollowedPair
	pages := 0
	if err := c.BatchEachByUser(ctx, []string{"wangfang", "chenjing"}, func(page []wecom.FollowedPair) error {
		pages++
		pairs = append(pairs, page...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if pages != 3 || len(pairs) != len(all) {
		t.Fatalf("BatchEachByUser: %d pages, %d pairs; want 3 pages of the %d relationships", pages, len(pairs), len(all))
	}
	for i, p := range pairs {
		fi := all[i].FollowInfo
		if want := (wecom.FollowedPair{UserID: fi.UserID, ExternalUserID: all[i].ExternalContact.ExternalUserID, State: fi.State, CreateTime: fi.CreateTime}); p != want {
			t.Fatalf("pair %d = %+v, want %+v", i, p, want)
		}
	}
	if _, err := c.BatchGetByUser(ctx, wecom.BatchGetByUserRequest{UserIDs: []string{"wangfang"}, Limit: 101}); err == nil {
		t.Error("a limit over 100 should be refused before calling WeCom")
	}
}

func TestGetExternalContactShowsEveryFollower(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	ctx := context.Background()
	at := f.clock.Now().Add(-time.Hour)
	for _, m := range []string{"zhangwei", "lina"} {
		f.sim.PutMember(wecomsim.Member{UserID: m})
		if _, err := f.sim.AddCustomer(ctx, m, "wmCustomerOneAAAA", "douyin_live", at); err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.client().GetExternalContact(ctx, "wmCustomerOneAAAA")
	if err != nil {
		t.Fatal(err)
	}
	var followers []string
	for _, fu := range got.FollowUsers {
		followers = append(followers, fu.UserID+"/"+fu.State)
	}
	if want := []string{"lina/douyin_live", "zhangwei/douyin_live"}; !slices.Equal(followers, want) {
		t.Errorf("followers %v, want %v", followers, want)
	}
	if got.ExternalContact.Name == "" {
		t.Error("customer has no name")
	}
}

func TestUserBehaviorDataCountsTheDay(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	ctx := context.Background()
	f.sim.PutMember(wecomsim.Member{UserID: "zhaolei"})
	day := wecom.BeijingDay(f.clock.Now()).AddDate(0, 0, -3)
	for i, id := range []string{"wmA", "wmB", "wmC"} {
		if _, err := f.sim.AddCustomer(ctx, "zhaolei", id, "", day.Add(time.Duration(10+i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sim.CustomerDeletesMember(ctx, "zhaolei", "wmB", day.Add(23*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	rows, err := c.GetUserBehaviorData(ctx, wecom.BehaviorQuery{UserIDs: []string{"zhaolei"}, Start: day.AddDate(0, 0, -1), End: day.Add(5 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d days, want 2", len(rows))
	}
	got := rows[1]
	if got.StatTime != day.Unix() || got.NewContactCnt != 3 || got.NegativeFeedbackCnt != 1 {
		t.Errorf("day row %+v, want stat_time %d, 3 new contacts, 1 negative feedback", got, day.Unix())
	}

	t.Run("a window over 30 days is refused", func(t *testing.T) {
		_, err := c.GetUserBehaviorData(ctx, wecom.BehaviorQuery{UserIDs: []string{"zhaolei"}, Start: day.AddDate(0, 0, -31), End: day})
		if err == nil || !strings.Contains(err.Error(), "30 days") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a start older than 180 days is refused", func(t *testing.T) {
		_, err := c.GetUserBehaviorData(ctx, wecom.BehaviorQuery{UserIDs: []string{"zhaolei"}, Start: day.AddDate(0, 0, -200), End: day.AddDate(0, 0, -190)})
		if err == nil || !strings.Contains(err.Error(), "180 days") {
			t.Errorf("got %v", err)
		}
	})
}

func TestGroupChats(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	ctx := context.Background()
	f.sim.Seed(wecomsim.SeedConfig{Groups: 3, Customers: 50})
	c := f.client()
	var chats []string
	cursor := ""
	for {
		page, err := c.GroupChatList(ctx, wecom.GroupChatListRequest{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Chats {
			chats = append(chats, r.ChatID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(chats) != 3 {
		t.Fatalf("listed %d groups, want 3", len(chats))
	}
	before, err := c.GroupChatGet(ctx, chats[0])
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.sim.JoinGroup(ctx, chats[0], "wmNewJoinerAAAA", wecom.GroupJoinQRCode, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	after, err := c.GroupChatGet(ctx, chats[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Members) != len(before.Members)+1 {
		t.Errorf("members %d → %d, want one more", len(before.Members), len(after.Members))
	}
	if ev.LastMemVer != before.MemberVersion || ev.CurMemVer != after.MemberVersion || before.MemberVersion == after.MemberVersion {
		t.Errorf("versions: event %s→%s, group %s→%s", ev.LastMemVer, ev.CurMemVer, before.MemberVersion, after.MemberVersion)
	}
	joined := after.Members[len(after.Members)-1]
	if joined.UserID != "wmNewJoinerAAAA" || joined.Type != wecom.GroupMemberCustomer || joined.JoinScene != wecom.GroupJoinQRCode || joined.Name == "" {
		t.Errorf("joined member %+v", joined)
	}

	mine, err := c.GroupChatList(ctx, wecom.GroupChatListRequest{OwnerUserIDs: []string{"zhangwei"}, Limit: 100})
	if err != nil || len(mine.Chats) != 1 {
		t.Errorf("owner filter: %v, %v; want the one group zhangwei owns", mine.Chats, err)
	}
}

func TestSendRobotMarkdown(t *testing.T) {
	f := newFixture(t, wecomsim.Options{RobotKeys: []string{"robot-key-1"}})
	c := f.client()
	ctx := context.Background()
	hook := f.sim.URL + "/cgi-bin/webhook/send?key=robot-key-1"

	report := "## 昨日客户流失\n新增客户 <font color=\"info\">12</font>，流失 <font color=\"warning\">3</font>"
	if err := c.SendRobotMarkdown(ctx, hook, report); err != nil {
		t.Fatal(err)
	}
	msgs := f.sim.RobotMessages()
	if len(msgs) != 1 || msgs[0].MsgType != "markdown" || msgs[0].Content != report {
		t.Fatalf("robot got %+v", msgs)
	}

	tests := []struct {
		name    string
		url     string
		content string
		code    int
	}{
		{"markdown over 4096 bytes is refused locally", hook, strings.Repeat("流", 1366), 0},
		{"a removed robot is 93000", f.sim.URL + "/cgi-bin/webhook/send?key=gone-key", "hi", wecom.CodeBadWebhook},
		{"a URL without key is refused locally", f.sim.URL + "/cgi-bin/webhook/send", "hi", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.SendRobotMarkdown(ctx, tt.url, tt.content)
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.code != 0 && !wecom.IsCode(err, tt.code) {
				t.Errorf("got %v, want errcode %d", err, tt.code)
			}
			if strings.Contains(err.Error(), "gone-key") {
				t.Errorf("error leaks the webhook key: %v", err)
			}
		})
	}

	t.Run("the 21st message in a minute is rate limited, not retried", func(t *testing.T) {
		var err error
		for i := 0; i < wecom.RobotPerMinute && err == nil; i++ {
			err = c.SendRobotMarkdown(ctx, hook, fmt.Sprintf("第%d条", i))
		}
		if !wecom.IsCode(err, wecom.CodeRateLimited) {
			t.Fatalf("got %v, want 45009 on the 21st", err)
		}
		if len(f.sleeps) != 0 {
			t.Errorf("a paced call waited %v", f.sleeps)
		}
	})
}

func TestResponseFixturesDecode(t *testing.T) {
	raw, err := os.ReadFile("testdata/client/externalcontact_get.json")
	if err != nil {
		t.Fatal(err)
	}
	var got wecom.ExternalContactDetail
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	fu := got.FollowUsers[0]
	if got.ExternalContact.Name != "李四" || fu.UserID != "rocky" || fu.State != "外联二维码1" || fu.CreateTime != 1525779812 || fu.Tags[0].TagID != "etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA" {
		t.Errorf("decoded %+v", got)
	}
}

func sha8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum)[:8]
}

func TestConcurrentCallersFetchOneToken(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "lina", 1)
	realSleep := func(cfg *wecom.ClientConfig) { cfg.Sleep = nil }
	// Four instances (clients sharing the store), five goroutines each.
	clients := []*wecom.Client{f.client(realSleep), f.client(realSleep), f.client(realSleep), f.client(realSleep)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := clients[i%len(clients)].ListExternalContacts(context.Background(), "lina")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 1 {
		t.Errorf("20 concurrent calls on 4 instances fetched %d tokens, want 1", n)
	}
}

func BenchmarkCallWithCachedToken(b *testing.B) {
	c := newClock()
	sim := wecomsim.New(wecomsim.Options{Now: c.Now, RateLimit: 1 << 30}) // a frozen clock never starts a new minute
	defer sim.Close()
	sim.PutMember(wecomsim.Member{UserID: "lina"})
	_ = sim.PutRelationship(wecomsim.Relationship{UserID: "lina", ExternalUserID: "wmBench", CreateTime: c.Now()})
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
		Store: storetest.NewMemStore(c.Now), Now: c.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	for b.Loop() {
		if _, err := client.ListExternalContacts(ctx, "lina"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestATokenWithAShortLifeIsNotFetchedOnEveryCall(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	fetches := 0
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wecomsim.PathGetToken {
			fetches++
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","access_token":"short-lived","expires_in":100}`)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","follow_user":["lina"]}`)
	}))
	t.Cleanup(short.Close)
	c := f.client(func(cfg *wecom.ClientConfig) { cfg.BaseURL = short.URL })
	for range 5 {
		if _, err := c.GetFollowUserList(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * time.Second)
	}
	if fetches != 1 {
		t.Errorf("a 100 s token was fetched %d times in 50 s, want once", fetches)
	}
}

// refreshBetween runs another instance's whole token refresh at the moment
// this instance first reads the refresh lease: after its own empty read of
// the cache and before it takes the lease.
type refreshBetween struct {
	store.Store
	other func()
	once  sync.Once
}

func (r *refreshBetween) Get(ctx context.Context, pk, sk string) (store.Item, error) {
	if strings.HasSuffix(sk, "#lease") {
		r.once.Do(r.other)
	}
	return r.Store.Get(ctx, pk, sk)
}

func TestAnInstanceThatTakesTheLeaseAfterAnotherRefreshedUsesThatToken(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "lina", 1)
	first := f.client()
	second := f.client(func(cfg *wecom.ClientConfig) {
		cfg.Store = &refreshBetween{Store: f.store, other: func() {
			if _, err := first.ListExternalContacts(context.Background(), "lina"); err != nil {
				t.Error(err)
			}
		}}
	})
	if _, err := second.ListExternalContacts(context.Background(), "lina"); err != nil {
		t.Fatal(err)
	}
	if n := f.sim.Calls(wecomsim.PathGetToken); n != 1 {
		t.Errorf("two instances fetched %d tokens, want 1: the second took the free lease and fetched again", n)
	}
}
