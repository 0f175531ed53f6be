package moments_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// fakePosts holds sent posts as the posts service would list them.
type fakePosts struct {
	mu    sync.Mutex
	posts map[string]posts.Post
}

func (f *fakePosts) Get(_ context.Context, id string) (posts.Post, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.posts[id]
	if !ok {
		return posts.Post{}, posts.ErrNotFound
	}
	return p, nil
}

func (f *fakePosts) List(_ context.Context, q posts.ListQuery) (posts.Listing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := posts.Listing{}
	for _, p := range f.posts {
		out.Posts = append(out.Posts, p)
	}
	return out, nil
}

type fixture struct {
	clock *testclock.Clock
	loc   *time.Location
	sim   *wecomsim.Sim
	wc    *wecom.Client
	store store.Store
	posts *fakePosts
	svc   *moments.Service
}

// newFixture is 2026-11-25 09:00 Shanghai, a SQLite store in a temp file,
// the simulator and a service over both.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: testclock.New(testclock.Date(2026, 11, 25, 9, 0, 0, 0, loc)), loc: loc, posts: &fakePosts{posts: map[string]posts.Post{}}}
	f.sim = wecomsim.New(wecomsim.Options{Seed: 42, Now: f.clock.Now})
	t.Cleanup(f.sim.Close)
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f.store = st
	f.wc = wecom.NewClient(wecom.ClientConfig{BaseURL: f.sim.URL, CorpID: f.sim.CorpID(), Secret: f.sim.Secret(), Store: st,
		Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler), MaxRetries: -1})
	f.svc = moments.New(st, f.wc, f.posts, loc, "https://siyu.example.com", slog.New(slog.DiscardHandler), nil)
	f.svc.Now = f.clock.Now
	return f
}

// customers gives member n customers.
func (f *fixture) customers(t testing.TB, member string, n int) {
	t.Helper()
	f.sim.PutMember(wecomsim.Member{UserID: member, Name: member})
	for i := range n {
		err := f.sim.PutRelationship(wecomsim.Relationship{UserID: member, ExternalUserID: fmt.Sprintf("wm%s%05d", member, i),
			CreateTime: f.clock.Now().Add(-time.Duration(n-i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// moment creates an enterprise Moment in the sim for members and records
// it as sent post id.
func (f *fixture) moment(t testing.TB, id string, members ...string) string {
	t.Helper()
	ctx := context.Background()
	job, err := f.wc.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "新品 " + id},
		VisibleRange: &wecom.MomentVisibleRange{SenderList: &wecom.MomentSenders{UserList: members}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.wc.GetMomentTaskResult(ctx, job)
	if err != nil || res.Result.MomentID == "" {
		t.Fatalf("moment task: %+v, %v", res, err)
	}
	now := f.clock.Now()
	f.posts.mu.Lock()
	f.posts.posts[id] = posts.Post{ID: id, Kind: posts.Moment, Status: posts.Sent, SendAt: now, SentAt: &now,
		MomentID: res.Result.MomentID, VisibleRange: posts.VisibleRange{Members: members}}
	f.posts.mu.Unlock()
	return res.Result.MomentID
}

// groupMsg creates a group message sent by member, recorded as post id.
func (f *fixture) groupMsg(t testing.TB, id, member string) string {
	t.Helper()
	res, err := f.wc.AddMsgTemplate(context.Background(), wecom.MsgTemplate{Sender: member, Text: &wecom.Text{Content: "活动 " + id}})
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	f.posts.mu.Lock()
	f.posts.posts[id] = posts.Post{ID: id, Kind: posts.GroupMessage, Status: posts.Sent, SendAt: now, SentAt: &now, MsgID: res.MsgID,
		Sender: member}
	f.posts.mu.Unlock()
	return res.MsgID
}

// count returns the items of a partition.
func count(t testing.TB, st store.Store, pk string) int {
	t.Helper()
	page, err := st.Query(context.Background(), store.Query{PK: pk, Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}
