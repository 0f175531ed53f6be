package jobs

import (
	"errors"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/testclock"
)

func TestDays(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := testclock.Date(2026, 11, 24, 1, 0, 0, 0, loc) // 00:05 timer territory
	cases := []struct {
		name    string
		req     Request
		want    int
		first   string
		wantBad bool
	}{
		{"no date means yesterday in the brand zone", Request{}, 1, testclock.Shift("2026-11-23"), false},
		{"one date", Request{Date: testclock.Shift("2026-11-01")}, 1, testclock.Shift("2026-11-01"), false},
		{"a range is inclusive", Request{From: testclock.Shift("2026-10-30"), To: testclock.Shift("2026-11-02")}, 4, testclock.Shift("2026-10-30"), false},
		{"reversed range is refused", Request{From: testclock.Shift("2026-11-02"), To: testclock.Shift("2026-11-01")}, 0, "", true},
		{"malformed date is refused", Request{Date: "2026/11/01"}, 0, "", true},
		{"over 400 days is refused", Request{From: testclock.Shift("2024-01-01"), To: testclock.Shift("2026-01-01")}, 0, "", true},
		{"the future is refused", Request{Date: testclock.Shift("2026-11-25")}, 0, "", true},
		{"date and range together are refused", Request{Date: testclock.Shift("2026-11-01"), From: testclock.Shift("2026-11-01"), To: testclock.Shift("2026-11-02")}, 0, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			days, err := c.req.Days(now, loc)
			var bad *BadRequestError
			if c.wantBad {
				if !errors.As(err, &bad) {
					t.Fatalf("want a bad request, got %v", err)
				}
				return
			}
			if err != nil || len(days) != c.want || days[0].String() != c.first {
				t.Fatalf("days = %v, err %v", days, err)
			}
		})
	}
}

func TestRangeIsOneParserWithARulePerFamily(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	today := calendar.Of(testclock.Date(2026, 11, 24, 12, 0, 0, 0, loc), loc)
	calendarRule := Range{MaxDays: 10, Future: true, Alone: true, Default: func(t calendar.Day) (calendar.Day, calendar.Day) { return t.AddDays(-2), t.AddDays(2) }}
	cases := []struct {
		name     string
		rule     Range
		from, to string
		want     string // "from..to", or "" for a bad request
	}{
		{"neither bound gives the family's default", calendarRule, "", "", testclock.Shift("2026-11-22..2026-11-26")},
		{"one bound alone keeps the other's default where the family allows it", calendarRule, testclock.Shift("2026-11-20"), "", testclock.Shift("2026-11-20..2026-11-26")},
		{"one bound alone is refused where from and to go together", JobRange, testclock.Shift("2026-11-20"), "", ""},
		{"future days are fine on a calendar", calendarRule, testclock.Shift("2026-11-25"), testclock.Shift("2026-11-30"), testclock.Shift("2026-11-25..2026-11-30")},
		{"future days are refused where the numbers do not exist yet", JobRange, testclock.Shift("2026-11-23"), testclock.Shift("2026-11-25"), ""},
		{"the family's limit counts days inclusively", calendarRule, testclock.Shift("2026-11-01"), testclock.Shift("2026-11-10"), testclock.Shift("2026-11-01..2026-11-10")},
		{"one day over the limit is refused", calendarRule, testclock.Shift("2026-11-01"), testclock.Shift("2026-11-11"), ""},
		{"a reversed range is refused", calendarRule, testclock.Shift("2026-11-05"), testclock.Shift("2026-11-01"), ""},
		{"a malformed day is refused", calendarRule, "2026/11/01", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from, to, err := c.rule.Parse(c.from, c.to, today, loc)
			var bad *BadRequestError
			switch {
			case c.want == "" && !errors.As(err, &bad):
				t.Fatalf("got %s..%s, %v; want a bad request", from, to, err)
			case c.want != "" && (err != nil || from.String()+".."+to.String() != c.want):
				t.Fatalf("got %s..%s, %v; want %s", from, to, err, c.want)
			}
		})
	}
}
