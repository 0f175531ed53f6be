package main

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestAMonthOfTheSmallestBrandIsMeasuredEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a month through the whole app")
	}
	size := SizeFor(1000, MonthDays)
	m, err := Measure(context.Background(), size, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every callback the simulator delivered is one callback invocation", func(t *testing.T) {
		if m.Deliveries == 0 {
			t.Fatal("the simulator delivered no callbacks")
		}
		if m.CallbackRequests != m.Deliveries {
			t.Errorf("callback requests %d, deliveries %d", m.CallbackRequests, m.Deliveries)
		}
		if got := m.Fn[FnCallback].Invocations; got != float64(m.Deliveries) {
			t.Errorf("callback invocations %v, want the %d deliveries of the %d-day month", got, m.Deliveries, MonthDays)
		}
	})
	t.Run("every function was invoked and used the store", func(t *testing.T) {
		for _, f := range Functions {
			u := m.Fn[f.Name]
			if u.Invocations == 0 || u.Seconds == 0 || u.Requests == 0 || u.RRU+u.WRU == 0 {
				t.Errorf("%s: %+v has a zero count", f.Name, u)
			}
		}
		if m.Fn[FnCallback].WRU == 0 {
			t.Error("callbacks wrote nothing")
		}
		if m.Fn[FnRollup].WeComCalls == 0 {
			t.Error("the nightly sync called WeCom not once")
		}
		if m.TableBytes == 0 || m.Items == 0 {
			t.Error("the table is empty after a month")
		}
	})
	t.Run("the poster ticks once a minute and the timers fire accordingly", func(t *testing.T) {
		if got := m.Fn[FnPoster].Invocations; got != 1440*MonthDays {
			t.Errorf("poster invocations %v, want %d", got, 1440*MonthDays)
		}
		if m.PosterIdle.N+m.PosterActive.N != 1440 {
			t.Errorf("measured ticks %d + %d, want 1440", m.PosterIdle.N, m.PosterActive.N)
		}
		if m.PosterActive.N == 0 {
			t.Error("no tick sent the scheduled posts")
		}
		if m.SchedulerInvocations != 1441*MonthDays {
			t.Errorf("scheduler invocations %v", m.SchedulerInvocations)
		}
		if got := m.Fn[FnRollup].Invocations; got != MonthDays {
			t.Errorf("nightly runs %v, want %d", got, MonthDays)
		}
	})
	t.Run("a brand of a thousand customers costs well under a dollar", func(t *testing.T) {
		if b := Price(m); b.Total >= 1 || b.TotalFree > b.Total {
			t.Errorf("total %v, with free tier %v", b.Total, b.TotalFree)
		}
	})
	t.Run("the table names the size and both totals", func(t *testing.T) {
		md := Render([]Month{m}, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
		for _, want := range []string{"10^3 customers", "total, no free tier", "total, with always-free tier", "Tencent SCF", "Assumptions"} {
			if !strings.Contains(md, want) {
				t.Errorf("rendered table lacks %q", want)
			}
		}
	})
}

func TestPriceAppliesListPricesAndTheFreeTier(t *testing.T) {
	tests := []struct {
		name            string
		month           Month
		total, withFree float64
	}{
		{
			name:  "an idle month costs nothing",
			month: Month{Fn: map[string]Usage{}},
		},
		{
			name: "a large month pays every line, and the free tier takes off only what it covers",
			month: Month{
				Fn: map[string]Usage{FnCallback: {Invocations: 2e6, Seconds: 1e6, RRU: 4e6, WRU: 8e6}},
				// 30 GiB stored, 15 million timer fires.
				TableBytes: 30 << 30, SchedulerInvocations: 15e6,
			},
			// requests 0.40 + 125,000 GB-s 1.666675 + reads 0.50 + writes 5.00 +
			// storage 7.50 + scheduler 15.00 + 0.6 GB of platform logs 0.30
			total: 30.366675,
			// requests beyond 1M 0.20 + reads and writes 5.50 (no free tier on
			// demand) + 5 GB beyond 25 GB 1.25 + 1M fires beyond 14M 1.00
			withFree: 7.95,
		},
		{
			name: "a month inside the free tier pays only DynamoDB requests",
			month: Month{
				Fn:                   map[string]Usage{FnRollup: {Invocations: 30, Seconds: 100, Requests: 1000, WRU: 1e6}},
				SchedulerInvocations: 30,
			},
			// 30 requests 0.000006 + (100 s + 1000 × 5 ms) × 0.25 GB = 26.25 GB-s
			// 0.000350 + writes 0.625 + 30 fires 0.00003 + logs 9,000 B 0.0000045
			total:    0.000006 + 26.25*LambdaArmPerGBs + 0.625 + 0.00003 + 9000.0/1e9*0.5,
			withFree: 0.625,
		},
		{
			name: "cold starts and WeCom calls are billed time",
			month: Month{
				Fn: map[string]Usage{FnPoster: {Invocations: 1e6, ColdStarts: 1e6, WeComCalls: 1e6}},
			},
			// 1e6 × (80 ms + 100 ms) × 0.125 GB = 22,500 GB-s; requests 0.20;
			// 0.3 GB of platform logs 0.15
			total:    22_500*LambdaArmPerGBs + 0.20 + 0.15,
			withFree: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Price(tt.month)
			if !near(b.Total, tt.total) {
				t.Errorf("total %.9f, want %.9f", b.Total, tt.total)
			}
			if !near(b.TotalFree, tt.withFree) {
				t.Errorf("with free tier %.9f, want %.9f", b.TotalFree, tt.withFree)
			}
		})
	}
}

func TestAlwaysOnIsTheThreeInstancesAndStorage(t *testing.T) {
	// (0.0168 + 0.016 + 0.016) $/h × 730 h + 20 GB × $0.115
	if got := AlwaysOn(); !near(got, 37.924) {
		t.Errorf("always-on %v, want 37.924", got)
	}
}

func TestLambdaBillsEachInvocationUpToTheMillisecond(t *testing.T) {
	tests := []struct {
		in, want time.Duration
	}{
		{0, time.Millisecond},
		{300 * time.Microsecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{1200 * time.Microsecond, 2 * time.Millisecond},
		{1500 * time.Millisecond, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.in.String()+" is billed as "+tt.want.String(), func(t *testing.T) {
			if got := billedMs(tt.in); got != tt.want {
				t.Errorf("billed %v", got)
			}
		})
	}
}

func TestSizesScaleMembersGroupsAndDailyAdds(t *testing.T) {
	tests := []struct {
		customers                 int
		members, groups, dailyAdd int
	}{
		{1000, 20, 4, 15},
		{10000, 200, 40, 150},
		{100000, 200, 100, 1500},
	}
	for _, tt := range tests {
		t.Run(pow10(tt.customers)+" customers", func(t *testing.T) {
			s := SizeFor(tt.customers, 30)
			if s.Members != tt.members || s.Groups != tt.groups || s.DailyAdds != tt.dailyAdd {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestExtrapolationScalesWhatGrowsWithTheBrandOnly(t *testing.T) {
	m := Month{
		Size: SizeFor(1000, MonthDays), Deliveries: 700, CallbackRequests: 700, TableBytes: 1 << 20, Items: 2000,
		Fn: map[string]Usage{
			FnCallback: {Invocations: 700, ColdStarts: 700, WRU: 700},
			FnRollup:   {Invocations: 30, ColdStarts: 30, WeComCalls: 1000, RRU: 5000},
			FnPoster:   {Invocations: 43200, RRU: 130000},
			FnAPI:      {Invocations: 660, RRU: 1000},
		},
	}
	x := Extrapolate(m, 10_000)
	tests := []struct {
		name      string
		got, want float64
	}{
		{"callbacks grow tenfold", x.Fn[FnCallback].Invocations, 7000},
		{"callback writes grow tenfold", x.Fn[FnCallback].WRU, 7000},
		{"deliveries grow with them", float64(x.Deliveries), 7000},
		{"the nightly run still runs once a night", x.Fn[FnRollup].Invocations, 30},
		{"the nightly run's WeCom calls grow tenfold", x.Fn[FnRollup].WeComCalls, 10000},
		{"the nightly run's reads grow tenfold", x.Fn[FnRollup].RRU, 50000},
		{"the poster does not change", x.Fn[FnPoster].RRU, 130000},
		{"the api does not change", x.Fn[FnAPI].Invocations, 660},
		{"the table grows tenfold", float64(x.TableBytes), 10 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !near(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
	if x.ExtrapolatedFrom != 1000 || x.Size.Customers != 10_000 {
		t.Errorf("extrapolated month %+v", x.Size)
	}
}

func TestFirstTouchIsBookedAsOnePosterInvocationPerDispatchedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates days through the whole app")
	}
	m, err := Measure(context.Background(), SizeFor(1000, 3), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	u := m.Fn[FnFirstTouch]
	t.Logf("events %d, errors %d, arrivals %d, welcomes %d, tagged %d; welcomed %+v; line %+v",
		m.FirstTouchEvents, m.FirstTouchErrors, m.Arrivals, m.WelcomesSent, m.Tagged, m.Welcomed, u)
	t.Run("each dispatched event is one invocation, and none failed", func(t *testing.T) {
		if m.FirstTouchEvents == 0 {
			t.Fatal("the callback dispatched no event")
		}
		if m.FirstTouchEvents != m.FirstTouchDue {
			t.Errorf("%d events dispatched, %d delivered adds and deletes", m.FirstTouchEvents, m.FirstTouchDue)
		}
		want := float64(m.FirstTouchEvents) * MonthDays / 3
		if !near(u.Invocations, want) {
			t.Errorf("first-touch invocations %v, want the %d dispatched events scaled to %v", u.Invocations, m.FirstTouchEvents, want)
		}
		if m.FirstTouchErrors != 0 {
			t.Errorf("%d first-touch invocations failed", m.FirstTouchErrors)
		}
	})
	t.Run("every arrival through the QR code was welcomed within its code's life and tagged twice", func(t *testing.T) {
		_, perDay := splitAdds(m.Size.DailyAdds)
		if m.Arrivals < 3*perDay {
			t.Fatalf("%d arrivals, want at least %d a day", m.Arrivals, perDay)
		}
		if m.WelcomesSent != m.Arrivals {
			t.Errorf("%d welcomes sent for %d fresh welcome codes", m.WelcomesSent, m.Arrivals)
		}
		if m.Tagged != m.Arrivals {
			t.Errorf("%d of %d arrivals tagged", m.Tagged, m.Arrivals)
		}
	})
	t.Run("a welcomed add reads and writes the store and calls WeCom", func(t *testing.T) {
		w := m.Welcomed
		if w.Invocations != float64(m.Arrivals) {
			t.Errorf("welcomed invocations %v, want %d", w.Invocations, m.Arrivals)
		}
		// At least: the welcome's claim and outcome, the tags' claim, the
		// own events, the pending marker cleared; send_welcome_msg and mark_tag.
		if w.Reads == 0 || w.Writes < 4*w.Invocations || w.WeComCalls < 2*w.Invocations {
			t.Errorf("welcomed usage %+v", w)
		}
	})
	t.Run("the callback no longer carries the worker's writes", func(t *testing.T) {
		cb := m.Fn[FnCallback]
		// Each event is appended once; each add or delete also marks its work.
		if cb.Writes > cb.Invocations+u.Invocations {
			t.Errorf("callback writes %v for %v callbacks and %v marked events", cb.Writes, cb.Invocations, u.Invocations)
		}
		if cb.WeComCalls != 0 {
			t.Errorf("callback called WeCom %v times", cb.WeComCalls)
		}
	})
}

func TestTenThousandWelcomedAddsArePricedFromTheMeasuredOnes(t *testing.T) {
	m := Month{Arrivals: 2, Welcomed: Usage{Invocations: 2, Requests: 28, Reads: 10, Writes: 18, RRU: 10, WRU: 18, WeComCalls: 6}}
	u, got := WelcomedAdds(m, 10_000)
	if u.Invocations != 10_000 || u.ColdStarts != 10_000 || u.Writes != 90_000 {
		t.Errorf("scaled usage %+v", u)
	}
	// 10,000 requests 0.002 + (140,000 × 5 ms + 30,000 × 100 ms + 10,000 ×
	// 80 ms) × 0.125 GB = 562.5 GB-s; reads 0.00625 + writes 0.05625; 3 MB
	// of platform logs 0.0015
	want := 0.002 + 562.5*LambdaArmPerGBs + 0.00625 + 0.05625 + 0.0015
	if !near(got, want) {
		t.Errorf("$%.9f, want $%.9f", got, want)
	}
	if _, none := WelcomedAdds(Month{}, 10_000); none != 0 {
		t.Errorf("no arrivals measured, priced $%v", none)
	}
}
