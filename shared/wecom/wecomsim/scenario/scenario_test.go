package scenario_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim/scenario"
)

// play runs days of a seeded brand and returns its events (welcome codes
// left out: WeCom's are random) and its truth.
func play(t *testing.T, seed int64, days int) ([]scenario.Event, *scenario.Truth) {
	t.Helper()
	first := testclock.Day(2026, 3, 2)
	clk := testclock.New(first.Start(wecom.Beijing))
	sim := wecomsim.New(wecomsim.Options{Seed: seed, Now: clk.Now})
	t.Cleanup(sim.Close)
	sc, err := scenario.New(context.Background(), sim, scenario.Config{Seed: seed, Customers: 300, First: first,
		OutageDay: 1, OutageFrom: 10 * time.Hour, PostsPerDay: 2, DailyAdds: 60})
	if err != nil {
		t.Fatal(err)
	}
	var out []scenario.Event
	for i := range days {
		for _, ev := range sc.Day(i) {
			ev.WelcomeCode = ""
			out = append(out, ev)
		}
	}
	return out, sc.Truth()
}

func TestTheSameSeedPlaysTheSameBrand(t *testing.T) {
	a, ta := play(t, 7, 3)
	b, tb := play(t, 7, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs of seed 7 differ: %d and %d events", len(a), len(b))
	}
	if !reflect.DeepEqual(ta.Days, tb.Days) {
		t.Errorf("two runs of seed 7 keep different truths")
	}
}

func TestTheTruthKeepsItsInvariantAndCountsTheOutageAtTheNightlySync(t *testing.T) {
	evs, truth := play(t, 11, 120)
	var lost int
	for _, ev := range evs {
		if ev.Lost {
			lost++
		}
	}
	if lost == 0 {
		t.Fatal("the outage on day 2 lost no callback")
	}
	var reconciled int64
	for _, date := range truth.Dates() {
		d := truth.Days[date]
		if d.CustomersEnd != d.CustomersStart+d.NewCustomers-d.LostCustomers-d.RemovedCustomers {
			t.Errorf("%s: end %d ≠ start %d + new %d − lost %d − removed %d", date, d.CustomersEnd, d.CustomersStart,
				d.NewCustomers, d.LostCustomers, d.RemovedCustomers)
		}
		reconciled += d.Reconciled
	}
	if reconciled != int64(lost) {
		t.Errorf("the truth reconciles %d events, want the %d lost", reconciled, lost)
	}
	if d := truth.Days[testclock.Day(2026, 3, 4).String()]; d == nil || d.Reconciled == 0 {
		t.Errorf("the outage of day 2 is not counted on day 3, when the nightly sync finds it: %+v", d)
	}
}

// A steady brand (the soak's) stays about its size through a year: its
// customers' churn balances its adds, so a year at 10^5 customers is a year
// at 10^5, not a brand that ends five times bigger.
func TestASteadyBrandKeepsItsSizeThroughAYear(t *testing.T) {
	first := testclock.Day(2026, 1, 1)
	clk := testclock.New(first.Start(wecom.Beijing))
	sim := wecomsim.New(wecomsim.Options{Seed: 3, Now: clk.Now})
	t.Cleanup(sim.Close)
	const customers = 5000
	sc, err := scenario.New(context.Background(), sim, scenario.Config{Seed: 3, Customers: customers, Members: 100, Groups: 20,
		First: first, OutageDay: -1, DailyAdds: customers / 200, DailyChurn: scenario.SteadyChurn})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 365 {
		clk.Set(first.AddDays(i).Start(wecom.Beijing))
		sc.Day(i)
	}
	end := sc.Truth().Days[first.AddDays(364).String()]
	if end == nil {
		t.Fatal("no truth for the year's last day")
	}
	if lo, hi := int64(customers*85/100), int64(customers*115/100); end.CustomersEnd < lo || end.CustomersEnd > hi {
		t.Errorf("a steady brand of %d customers ends the year with %d, want %d..%d", customers, end.CustomersEnd, lo, hi)
	}
}
