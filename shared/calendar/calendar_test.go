package calendar

import (
	"testing"
	"time"
)

func TestDayOfUsesTheBrandZoneNotUTC(t *testing.T) {
	loc, err := Zone("")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-01 16:30 UTC is already 2026-03-02 00:30 in Shanghai.
	got := Of(time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC), loc)
	if got.String() != "2026-03-02" {
		t.Fatalf("day = %s, want 2026-03-02", got)
	}
	if s := got.Start(loc); !s.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("start = %s", s)
	}
}

func TestParseRejectsLooseDates(t *testing.T) {
	for _, s := range []string{"2026-3-1", "2026-02-30", "20260301", "", "2026-03-01T00:00:00Z"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	d, err := Parse("2024-02-29")
	if err != nil || d.AddDays(1).String() != "2024-03-01" || d.DaysUntil(Day{2024, 3, 31}) != 31 {
		t.Fatalf("leap day arithmetic wrong: %v %v", d, err)
	}
}
