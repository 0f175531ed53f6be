package jobs

import (
	"errors"
	"testing"
	"time"

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
