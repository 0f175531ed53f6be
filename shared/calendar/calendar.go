// Package calendar holds the business day: an Asia/Shanghai (SIYU_TZ)
// calendar date, never the runtime's clock zone (Lambda runs with TZ=:UTC).
package calendar

import (
	"fmt"
	"time"
)

// Day is a calendar date in the brand's zone.
type Day struct {
	Year  int
	Month time.Month
	Day   int
}

// DefaultZone is the zone WeCom's own statistics use.
const DefaultZone = "Asia/Shanghai"

// Of returns the day t falls on in loc.
func Of(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day{y, m, d}
}

// Parse reads YYYY-MM-DD strictly.
func Parse(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return Day{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Day{t.Year(), t.Month(), t.Day()}, nil
}

// String formats YYYY-MM-DD.
func (d Day) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is unset.
func (d Day) IsZero() bool { return d.Year == 0 }

// Start is 00:00 of d in loc.
func (d Day) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// End is 00:00 of the next day in loc (exclusive end of d).
func (d Day) End(loc *time.Location) time.Time { return d.AddDays(1).Start(loc) }

// AddDays moves n days (n may be negative).
func (d Day) AddDays(n int) Day {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Day{t.Year(), t.Month(), t.Day()}
}

// Before reports whether d is earlier than o.
func (d Day) Before(o Day) bool { return d.String() < o.String() }

// After reports whether d is later than o.
func (d Day) After(o Day) bool { return o.Before(d) }

// DaysUntil counts days from d to o (o−d), negative when o is earlier.
func (d Day) DaysUntil(o Day) int {
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// Zone loads name, defaulting to Asia/Shanghai. Binaries are built with the
// timetzdata tag so this works on images without zone files.
func Zone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("SIYU_TZ %q: %w", name, err)
	}
	return loc, nil
}
