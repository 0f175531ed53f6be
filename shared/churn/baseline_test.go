package churn_test

import (
	"reflect"
	"testing"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestBaseline(t *testing.T) {
	rels := []churn.Relationship{
		{Member: "alice", Customer: "c1", Channel: "poster", Since: at(-100, 9, 0)},
		{Member: "bob", Customer: "c1", Channel: "", Since: at(-50, 9, 0)},
		{Member: "alice", Customer: "c2", Channel: "shop", Since: at(-10, 9, 0)},
	}

	t.Run("the baseline day starts with the baseline customers and the old ones are not new", func(t *testing.T) {
		e := newEnv(t)
		if err := churn.SetBaseline(e.ctx, e.store, shanghai, at(0, 10, 0), rels); err != nil {
			t.Fatal(err)
		}
		// A callback copy of an old relationship, and a real new customer.
		e.appendAll(nil, events.OriginCallback)
		e.appendAll([]wecom.Event{add("alice", "c2", "shop", at(0, 11, 0)), add("bob", "c3", "shop", at(0, 12, 0))}, events.OriginCallback)
		got := e.run(0, 0)[0].Daily
		if got.CustomersStart != 2 || got.NewCustomers != 1 || got.CustomersEnd != 3 || got.Relationships.Added != 1 {
			t.Errorf("baseline day = %+v, want start 2, new 1, end 3, 1 relationship added", got)
		}
	})

	t.Run("setting the same baseline twice changes nothing and another day is refused", func(t *testing.T) {
		e := newEnv(t)
		for range 2 {
			if err := churn.SetBaseline(e.ctx, e.store, shanghai, at(0, 10, 0), rels); err != nil {
				t.Fatal(err)
			}
		}
		before := e.store.Dump("")
		if err := churn.SetBaseline(e.ctx, e.store, shanghai, at(0, 11, 0), rels[:1]); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, e.store.Dump("")) {
			t.Error("a second baseline on the same day changed the store")
		}
		if err := churn.SetBaseline(e.ctx, e.store, shanghai, at(3, 10, 0), rels); err == nil {
			t.Error("a baseline on another day was accepted")
		}
	})

	t.Run("live relationships follow the baseline, rolled days and today's events", func(t *testing.T) {
		e := newEnv(t)
		if err := churn.SetBaseline(e.ctx, e.store, shanghai, at(0, 10, 0), rels); err != nil {
			t.Fatal(err)
		}
		e.appendAll([]wecom.Event{
			delByCustomer("bob", "c1", at(1, 9, 0)),
			add("carol", "c4", "ad", at(1, 10, 0)),
			// today, not rolled yet
			delByMember("alice", "c2", at(2, 8, 0)),
			add("dave", "c5", "ad", at(2, 9, 0)),
		}, events.OriginCallback)
		e.run(0, 1)
		got, err := churn.Live(e.ctx, e.store, shanghai, at(2, 10, 0))
		if err != nil {
			t.Fatal(err)
		}
		var pairs []string
		for _, r := range got {
			pairs = append(pairs, r.Member+"/"+r.Customer+"/"+r.Channel)
		}
		want := []string{"alice/c1/poster", "carol/c4/ad", "dave/c5/ad"}
		if !reflect.DeepEqual(pairs, want) {
			t.Errorf("live = %v, want %v", pairs, want)
		}
	})
}
