package contactsync_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// TestSyncKeepsGroupNames runs the baseline and two nightly runs against the
// simulator, on SQLite: every group's name is kept, an unchanged name is not
// written again, and a renamed group's name is updated by the next run.
func TestSyncKeepsGroupNames(t *testing.T) {
	ctx := context.Background()
	clk, s, sim, y := groupSync(t)
	run := func() {
		t.Helper()
		if _, err := y.Run(ctx, jobs.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	want := func() map[string]string {
		out := map[string]string{}
		for _, g := range sim.Groups() {
			out[g.ChatID] = g.Name
		}
		return out
	}
	check := func(what string) {
		t.Helper()
		got, err := contactsync.GroupNames(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if w := want(); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: names = %v, want %v", what, got, w)
		}
	}
	version := func(chat string) int64 {
		t.Helper()
		it, err := s.Get(ctx, "group#name", chat)
		if err != nil {
			t.Fatal(err)
		}
		return it.Version
	}

	run()
	check("after the baseline")
	groups := sim.Groups()
	for _, g := range groups {
		if g.Name == "" {
			t.Fatalf("seeded group %s has no name", g.ChatID)
		}
	}

	clk.Set(at(1, 0, 5))
	run()
	check("after a nightly run")
	for _, g := range groups {
		if v := version(g.ChatID); v != 1 {
			t.Errorf("unchanged group %s written %d times, want once", g.ChatID, v)
		}
	}

	renamed := groups[0].ChatID
	if _, err := sim.RenameGroup(ctx, renamed, "会员专属福利群", at(1, 9, 0)); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(2, 0, 5))
	run()
	check("after a rename")
	if v := version(renamed); v != 2 {
		t.Errorf("renamed group written %d times, want twice", v)
	}
	if v := version(groups[1].ChatID); v != 1 {
		t.Errorf("unchanged group written %d times, want once", v)
	}
}

// BenchmarkGroupNames reads the names of 1000 groups from SQLite, as the
// groups stats route does on every request.
func BenchmarkGroupNames(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "siyu.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	for i := range 1000 {
		item := store.Item{PK: "group#name", SK: fmt.Sprintf("wr%06d", i), Data: []byte(`{"name":"门店会员群"}`)}
		if _, err := s.Put(ctx, item, store.Always); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		names, err := contactsync.GroupNames(ctx, s)
		if err != nil || len(names) != 1000 {
			b.Fatal(len(names), err)
		}
	}
}

// TestANightWhoseGroupReadsFailStillFinishes: after the baseline, groups are
// read only for their names, so a group WeCom refuses to describe leaves
// the names as they were and the night goes on to its behaviour step.
func TestANightWhoseGroupReadsFailStillFinishes(t *testing.T) {
	ctx := context.Background()
	clk, s, sim, y := groupSync(t)
	if _, err := y.Run(ctx, jobs.Request{}); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	before, err := contactsync.GroupNames(ctx, s)
	if err != nil || len(before) == 0 {
		t.Fatalf("names after the baseline: %v %v", before, err)
	}
	clk.Advance(24 * time.Hour)
	sim.Inject(wecomsim.PathGroupChatGet, 40050, 100) // chat_id not found: a group dismissed between list and get
	res, err := y.Run(ctx, jobs.Request{})
	if err != nil {
		t.Fatalf("a night whose group reads fail stopped: %v", err)
	}
	if res["groups_error"] == nil {
		t.Errorf("result %v does not say the group names were not refreshed", res)
	}
	after, err := contactsync.GroupNames(ctx, s)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("names after the failed night %v (%v), want them kept: %v", after, err, before)
	}
}

// groupSync is a brand of 5 members, 20 customers and 3 groups in the
// simulator, and its syncer over SQLite, on one test clock.
func groupSync(t *testing.T) (*testclock.Clock, store.Store, *wecomsim.Sim, *contactsync.Syncer) {
	t.Helper()
	clk := testclock.New(at(0, 10, 0))
	quiet := slog.New(slog.DiscardHandler)
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	sim := wecomsim.New(wecomsim.Options{Seed: 7, Now: clk.Now, Logger: quiet})
	t.Cleanup(sim.Close)
	sim.Seed(wecomsim.SeedConfig{Members: 5, Customers: 20, Groups: 3, Until: clk.Now()})
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret(),
		Store: s, Now: clk.Now, Logger: quiet, MaxRetries: -1})
	y := contactsync.New(s, client, sim.CorpID(), shanghai, quiet, nil)
	y.Now = clk.Now
	return clk, s, sim, y
}
