package testclock

import (
	"testing"
	"time"
)

func TestYearsKeepFixedDatesAYearAwayFromToday(t *testing.T) {
	for _, today := range []time.Time{
		time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2031, 7, 15, 0, 0, 0, 0, time.UTC),
	} {
		past, future := yearsFor("past", today), yearsFor("future", today)
		if end := time.Date(lastYear+past+1, 1, 1, 0, 0, 0, 0, time.UTC); !end.Before(today.AddDate(-1, 0, 0)) {
			t.Errorf("today %s: past dates end %s, not a year before today", today.Format(time.DateOnly), end.Format(time.DateOnly))
		}
		if start := time.Date(firstYear+future, 1, 1, 0, 0, 0, 0, time.UTC); !start.After(today.AddDate(1, 0, 0)) {
			t.Errorf("today %s: future dates start %s, not a year after today", today.Format(time.DateOnly), start.Format(time.DateOnly))
		}
		if past%4 != 0 || future%4 != 0 {
			t.Errorf("today %s: moves %d and %d would change leap days", today.Format(time.DateOnly), past, future)
		}
	}
	if yearsFor("", time.Now()) != 0 {
		t.Error("unset SIYU_TEST_DATES moves dates")
	}
}

func TestAnUnknownModePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("SIYU_TEST_DATES=pats did not panic")
		}
	}()
	yearsFor("pats", time.Now())
}

func TestShiftMovesEveryDateAndNothingElse(t *testing.T) {
	yearsOnce.Do(func() {}) // pin years for this test
	saved := years
	years = 4
	defer func() { years = saved }()
	got := Shift(`{"send_at":"2026-11-25T08:00:00+08:00","month":"2026-11","id":"p-12026-11","n":2026}`)
	want := `{"send_at":"2030-11-25T08:00:00+08:00","month":"2030-11","id":"p-12026-11","n":2026}`
	if got != want {
		t.Errorf("Shift:\n got %s\nwant %s", got, want)
	}
	if d := Day(2025, time.March, 1).String(); d != "2029-03-01" {
		t.Errorf("Day = %s", d)
	}
}
