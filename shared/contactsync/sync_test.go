package contactsync_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestBaseline(t *testing.T) {
	e := newEnv(t, wecomsim.SeedConfig{Members: 130, Customers: 450, Groups: 3})
	rels := e.sim.Relationships()
	groups := e.sim.Groups()

	res := e.runSync(at(0, 10, 0))

	t.Run("every relationship of more than 100 members is imported, page by page", func(t *testing.T) {
		if res["baseline"] != true {
			t.Fatalf("first run baseline = %v, want true", res["baseline"])
		}
		if got := num(t, res, "relationships"); got != int64(len(rels)) {
			t.Errorf("relationships = %d, want %d", got, len(rels))
		}
		// 130 members take two calls of ≤100; 450+ relationships need more pages.
		if calls := e.sim.Calls(wecomsim.PathBatchGetByUser); calls < len(rels)/wecom.MaxBatchLimit+1 {
			t.Errorf("batch/get_by_user called %d times for %d relationships", calls, len(rels))
		}
		live, want := e.live(), e.wecomPairs()
		if len(live) != len(want) {
			t.Fatalf("Siyu has %d live relationships, WeCom %d", len(live), len(want))
		}
		for p := range want {
			if !live[p] {
				t.Fatalf("relationship %v missing from the baseline", p)
			}
		}
	})

	t.Run("the baseline day starts with every existing customer and nothing is counted as new", func(t *testing.T) {
		d := e.rollDay(0)
		if d.CustomersStart != int64(distinctCustomers(rels)) || d.NewCustomers != 0 || d.CustomersEnd != d.CustomersStart {
			t.Errorf("day 0 = %+v, want customers_start = end = %d and no new", d, distinctCustomers(rels))
		}
	})

	t.Run("group member counts start from the imported baseline", func(t *testing.T) {
		g := groups[0]
		var customer string
		for _, r := range rels {
			if !slices.ContainsFunc(g.Members, func(m wecom.GroupMember) bool { return m.UserID == r.ExternalUserID }) {
				customer = r.ExternalUserID
				break
			}
		}
		if _, err := e.sim.JoinGroup(e.ctx, g.ChatID, customer, wecom.GroupJoinQRCode, at(1, 11, 0)); err != nil {
			t.Fatal(err)
		}
		e.rollDay(1)
		rows, err := churn.GroupRange(e.ctx, e.store, day0.AddDays(1), day0.AddDays(1))
		if err != nil || len(rows) != 1 {
			t.Fatalf("group rows = %+v, %v", rows, err)
		}
		if rows[0].MembersStart != int64(len(g.Members)) || rows[0].MembersEnd != int64(len(g.Members)+1) {
			t.Errorf("group %s: start %d end %d, want %d and %d", g.Name, rows[0].MembersStart, rows[0].MembersEnd, len(g.Members), len(g.Members)+1)
		}
	})

	t.Run("WeCom's behaviour data is stored for every member", func(t *testing.T) {
		rows, err := contactsync.BehaviorFor(e.ctx, e.store, day0.AddDays(-1))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 130 {
			t.Errorf("behaviour rows of the day before = %d, want one per member (130)", len(rows))
		}
	})
}

// pickSingles returns n customers with exactly one relationship.
func pickSingles(t *testing.T, rels []wecomsim.Relationship, n int) []wecomsim.Relationship {
	t.Helper()
	count := map[string]int{}
	for _, r := range rels {
		count[r.ExternalUserID]++
	}
	var out []wecomsim.Relationship
	for _, r := range rels {
		if count[r.ExternalUserID] == 1 && len(out) < n {
			out = append(out, r)
		}
	}
	if len(out) < n {
		t.Fatalf("only %d single-member customers", len(out))
	}
	return out
}

func TestReconcile(t *testing.T) {
	e := newEnv(t, wecomsim.SeedConfig{Customers: 60, Groups: 1})
	e.runSync(at(0, 10, 0))
	singles := pickSingles(t, e.sim.Relationships(), 3)
	oneWay, removed, readded := singles[0], singles[1], singles[2]
	newcomer := e.sim.NewCustomerID()
	adder := e.sim.Members()[0].UserID

	// Day 1: two lost callbacks, one delivered deletion by a customer, and a
	// customer who deleted a member and came back with the return lost.
	e.sim.SuppressCallbacks(1)
	must(t)(e.sim.AddCustomer(e.ctx, adder, newcomer, "wechat_ad", at(1, 11, 0)))
	must(t)(e.sim.CustomerDeletesMember(e.ctx, oneWay.UserID, oneWay.ExternalUserID, at(1, 12, 0)))
	e.sim.SuppressCallbacks(1)
	must(t)(e.sim.MemberDeletesCustomer(e.ctx, removed.UserID, removed.ExternalUserID, false, at(1, 13, 0)))
	must(t)(e.sim.CustomerDeletesMember(e.ctx, readded.UserID, readded.ExternalUserID, at(1, 14, 0)))
	e.sim.SuppressCallbacks(1)
	must(t)(e.sim.AddCustomer(e.ctx, readded.UserID, readded.ExternalUserID, "store_qr_sh", at(1, 15, 0)))

	first := e.runSync(at(2, 0, 5))

	t.Run("lost callbacks are written as reconciled events dated when found", func(t *testing.T) {
		if got := num(t, first, "reconciled_added"); got != 2 {
			t.Errorf("reconciled adds = %d, want 2 (the newcomer and the returning customer)", got)
		}
		if got := num(t, first, "reconciled_deleted"); got != 1 {
			t.Errorf("reconciled deletions = %d, want 1", got)
		}
		recs := e.reconciled(2)
		if len(recs) != 3 {
			t.Fatalf("reconciled events on day 2 = %d, want 3", len(recs))
		}
		for _, r := range recs {
			if r.CreateTime != at(2, 0, 5).Unix() {
				t.Errorf("reconciled %s dated %d, want the discovery time", r.ChangeType, r.CreateTime)
			}
			if r.ChangeType == wecom.ChangeAddExternalContact && r.ExternalUserID == newcomer && r.State != "wechat_ad" {
				t.Errorf("reconciled add of the newcomer has channel %q, want wechat_ad", r.State)
			}
			if r.ChangeType == wecom.ChangeDelExternalContact && r.ExternalUserID != removed.ExternalUserID {
				t.Errorf("reconciled deletion of %s, want %s", r.ExternalUserID, removed.ExternalUserID)
			}
		}
	})

	t.Run("a one-way relationship left by a customer's deletion is not re-added", func(t *testing.T) {
		if got := num(t, first, "one_way_kept"); got != 1 {
			t.Errorf("one-way relationships kept = %d, want 1", got)
		}
		p := churn.Pair{Member: oneWay.UserID, Customer: oneWay.ExternalUserID}
		if e.live()[p] {
			t.Errorf("%v is live again after the customer deleted the member", p)
		}
		want := e.wecomPairs()
		delete(want, p)
		if live := e.live(); len(live) != len(want) {
			t.Errorf("Siyu has %d live relationships, WeCom %d two-way ones", len(live), len(want))
		}
	})

	t.Run("a second run the same night writes nothing again", func(t *testing.T) {
		again := e.runSync(at(2, 0, 30))
		if num(t, again, "reconciled_added") != 0 || num(t, again, "reconciled_deleted") != 0 {
			t.Errorf("second run = %v, want no reconciled events", again)
		}
		if n := len(e.reconciled(2)); n != 3 {
			t.Errorf("reconciled events on day 2 = %d after a second run, want 3", n)
		}
	})

	t.Run("the rollup counts each recovered change once, on the day it was found", func(t *testing.T) {
		e.rollDay(0)
		d1 := e.rollDay(1)
		if d1.NewCustomers != 0 || d1.LostCustomers != 2 || d1.RemovedCustomers != 0 {
			t.Errorf("day 1 = new %d lost %d removed %d, want 0, 2 (the delivered deletions), 0", d1.NewCustomers, d1.LostCustomers, d1.RemovedCustomers)
		}
		d2 := e.rollDay(2)
		if d2.NewCustomers != 2 || d2.RemovedCustomers != 1 || d2.LostCustomers != 0 || d2.Reconciled != 3 {
			t.Errorf("day 2 = new %d removed %d lost %d reconciled %d, want 2, 1, 0, 3", d2.NewCustomers, d2.RemovedCustomers, d2.LostCustomers, d2.Reconciled)
		}
		if d2.CustomersEnd != d2.CustomersStart+d2.NewCustomers-d2.LostCustomers-d2.RemovedCustomers {
			t.Errorf("day 2 breaks customers_end = start + new − lost − removed: %+v", d2)
		}
		later := e.runSync(at(3, 0, 20))
		if num(t, later, "reconciled_added") != 0 || num(t, later, "reconciled_deleted") != 0 {
			t.Errorf("the next night's run = %v, want nothing left to reconcile", later)
		}
	})

	t.Run("WeCom's own counts of the day are stored beside Siyu's", func(t *testing.T) {
		rows, err := contactsync.BehaviorFor(e.ctx, e.store, day0.AddDays(1))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]int64{} // member → adds, customer deletions
		bump := func(m string, add, neg int64) { w := want[m]; w[0] += add; w[1] += neg; want[m] = w }
		bump(adder, 1, 0)
		bump(oneWay.UserID, 0, 1)
		bump(readded.UserID, 1, 1)
		if len(rows) != len(e.sim.Members()) {
			t.Fatalf("behaviour rows = %d, want one per member", len(rows))
		}
		for _, r := range rows {
			if got := [2]int64{r.NewContactCnt, r.NegativeFeedbackCnt}; got != want[r.Member] {
				t.Errorf("%s: new_contact_cnt, negative_feedback_cnt = %v, want %v", r.Member, got, want[r.Member])
			}
		}
	})
}

func TestResume(t *testing.T) {
	t.Run("a baseline import stopped by WeCom resumes after the last stored batch", func(t *testing.T) {
		e := newEnv(t, wecomsim.SeedConfig{Members: 130, Customers: 450})
		var members []string
		for _, m := range e.sim.Members() {
			members = append(members, m.UserID)
		}
		slices.Sort(members)
		first := map[string]bool{}
		for _, m := range members[:wecom.MaxBatchUsers] {
			first[m] = true
		}
		n1 := 0
		for _, r := range e.sim.Relationships() {
			if first[r.UserID] {
				n1++
			}
		}
		pages1 := (n1 + wecom.MaxBatchLimit - 1) / wecom.MaxBatchLimit
		// The first batch's pages pass, the second batch's first call is refused.
		e.sim.SetRateLimit(wecomsim.PathBatchGetByUser, pages1)

		e.clock.Set(at(0, 10, 0))
		_, err := e.sync.Run(e.ctx, jobs.Request{Job: "sync"})
		if !wecom.IsCode(err, wecom.CodeRateLimited) {
			t.Fatalf("sync error = %v, want WeCom's 45009", err)
		}
		if _, ok, _ := churn.BaselineDay(e.ctx, e.store); ok {
			t.Fatal("a half-read baseline was set")
		}
		if n := len(e.live()); n != 0 {
			t.Fatalf("%d live relationships after a failed import, want none yet", n)
		}

		before := e.sim.Calls(wecomsim.PathBatchGetByUser)
		e.sim.SetRateLimit(wecomsim.PathBatchGetByUser, 0)
		res := e.runSync(at(0, 10, 2))
		if res["resumed"] != true {
			t.Errorf("second run resumed = %v, want true", res["resumed"])
		}
		n2 := len(e.sim.Relationships()) - n1
		if calls := e.sim.Calls(wecomsim.PathBatchGetByUser) - before; calls != (n2+wecom.MaxBatchLimit-1)/wecom.MaxBatchLimit {
			t.Errorf("the resumed run made %d calls, want only the second batch's %d pages", calls, (n2+99)/100)
		}
		if live, want := e.live(), e.wecomPairs(); len(live) != len(want) {
			t.Errorf("baseline has %d relationships, WeCom %d", len(live), len(want))
		}
		if d, ok, _ := churn.BaselineDay(e.ctx, e.store); !ok || d != day0 {
			t.Errorf("baseline day = %s (%v), want %s", d, ok, day0)
		}
	})

	t.Run("a nightly run stopped in the behaviour data keeps its reconciled events and resumes", func(t *testing.T) {
		e := newEnv(t, wecomsim.SeedConfig{Customers: 40})
		e.runSync(at(0, 10, 0))
		e.sim.SuppressCallbacks(1)
		must(t)(e.sim.AddCustomer(e.ctx, e.sim.Members()[1].UserID, e.sim.NewCustomerID(), "douyin_live", at(1, 20, 0)))

		e.sim.Inject(wecomsim.PathUserBehaviorData, 48002, 1)
		e.clock.Set(at(2, 0, 5))
		if _, err := e.sync.Run(e.ctx, jobs.Request{Job: "sync"}); !wecom.IsCode(err, 48002) {
			t.Fatalf("sync error = %v, want the injected 48002", err)
		}
		if n := len(e.reconciled(2)); n != 1 {
			t.Fatalf("reconciled events after the failed run = %d, want 1", n)
		}
		res := e.runSync(at(2, 0, 10))
		if res["resumed"] != true || num(t, res, "reconciled_added") != 1 {
			t.Errorf("resumed run = %v, want resumed with the first attempt's 1 reconciled add", res)
		}
		if n := len(e.reconciled(2)); n != 1 {
			t.Errorf("reconciled events after the resumed run = %d, want still 1", n)
		}
		rows, err := contactsync.BehaviorFor(e.ctx, e.store, day0.AddDays(1))
		if err != nil || len(rows) != len(e.sim.Members()) {
			t.Errorf("behaviour rows of day 1 = %d (%v), want one per member", len(rows), err)
		}
	})
}

// The nightly reconciliation follows two cursor chains at once. When
// WeCom refuses one of them, the run fails, what the other wrote stays, and
// the next run finishes the rest: every lost add is reconciled exactly once,
// whichever chain failed.
func TestReconcileSideBySideChainsResumeWithoutWritingTwice(t *testing.T) {
	for _, failAfter := range []int{1, 2, 4, 7} {
		t.Run(fmt.Sprintf("refused after %d pages", failAfter), func(t *testing.T) {
			e := newEnv(t, wecomsim.SeedConfig{Members: 40, Customers: 900})
			e.runSync(at(0, 10, 0))
			var members []string
			for _, m := range e.sim.Members() {
				members = append(members, m.UserID)
			}
			slices.Sort(members)
			// Lost callbacks in both halves (a chain each).
			lost := []string{members[0], members[7], members[25], members[39]}
			e.sim.SuppressCallbacks(len(lost))
			for i, m := range lost {
				must(t)(e.sim.AddCustomer(e.ctx, m, e.sim.NewCustomerID(), "douyin_live", at(1, 9+i, 0)))
			}
			// Some pages pass, then WeCom refuses (this client does not
			// retry); the chains' pages interleave as they run.
			e.sim.SetRateLimit(wecomsim.PathBatchGetByUser, failAfter)
			e.clock.Set(at(2, 0, 5))
			if _, err := e.sync.Run(e.ctx, jobs.Request{Job: "sync"}); !wecom.IsCode(err, wecom.CodeRateLimited) {
				t.Fatalf("sync error = %v, want WeCom's 45009", err)
			}
			e.sim.SetRateLimit(wecomsim.PathBatchGetByUser, 0)
			e.runSync(at(2, 0, 10))
			if n := len(e.reconciled(2)); n != len(lost) {
				t.Errorf("reconciled events after the resumed run = %d, want the %d lost adds once each", n, len(lost))
			}
			if live, want := e.live(), e.wecomPairs(); len(live) != len(want) {
				t.Errorf("Siyu has %d live relationships, WeCom %d", len(live), len(want))
			}
		})
	}
}

// must fails the test when a simulator action fails.
func must(t *testing.T) func(wecom.Event, error) {
	return func(_ wecom.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// countingStore counts the reads of customers' fact partitions.
type countingStore struct {
	store.Store
	custReads *atomic.Int64
}

func (c countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if strings.HasPrefix(q.PK, "cust#") {
		c.custReads.Add(1)
	}
	return c.Store.Query(ctx, q)
}

// A one-way relationship (the customer deleted the member; WeCom keeps
// listing it) is looked up in the customer's facts once: later nights know
// it by WeCom's add time, so a year of deletions does not make every night
// read every such customer again. A new add by the customer changes the
// add time and is reconciled; a pair two-way again is forgotten.
func TestAOneWayRelationshipIsLookedUpOnce(t *testing.T) {
	e := newEnv(t, wecomsim.SeedConfig{Customers: 40})
	e.runSync(at(0, 10, 0))
	var p churn.Pair
	for _, r := range e.sim.Relationships() {
		if !r.OneWay {
			p = churn.Pair{Member: r.UserID, Customer: r.ExternalUserID}
			break
		}
	}
	must(t)(e.sim.CustomerDeletesMember(e.ctx, p.Member, p.Customer, at(1, 10, 0)))

	var reads atomic.Int64
	e.sync.Store = countingStore{Store: e.store, custReads: &reads}
	known := func() bool {
		t.Helper()
		_, err := e.store.Get(e.ctx, "sync#oneway#"+p.Member, p.Customer)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	night2 := e.runSync(at(2, 0, 5))
	if num(t, night2, "one_way_kept") != 1 || num(t, night2, "reconciled_added") != 0 || !known() || reads.Load() == 0 {
		t.Fatalf("first night after the deletion = %v, remembered %v, customer reads %d; want it kept one-way, remembered, looked up",
			night2, known(), reads.Load())
	}
	reads.Store(0)
	night3 := e.runSync(at(3, 0, 5))
	if num(t, night3, "one_way_kept") != 1 || num(t, night3, "reconciled_added") != 0 || reads.Load() != 0 {
		t.Errorf("next night = %v with %d reads of customers' facts; want it kept one-way without reading them", night3, reads.Load())
	}

	// The customer adds the member back; the callback is lost.
	e.sim.SuppressCallbacks(1)
	must(t)(e.sim.AddCustomer(e.ctx, p.Member, p.Customer, "", at(3, 10, 0)))
	night4 := e.runSync(at(4, 0, 5))
	if num(t, night4, "reconciled_added") != 1 || !e.live()[p] {
		t.Errorf("night after a lost re-add = %v, live %v; want the add reconciled", night4, e.live()[p])
	}
	e.runSync(at(5, 0, 5))
	if known() {
		t.Errorf("a pair two-way again is still remembered as one-way")
	}
}
