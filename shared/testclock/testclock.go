// Package testclock is the one clock a test drives everything with — the
// domain, the store's expiry (store.WithClock) and the WeCom simulator — and
// the place a test's fixed dates come from. The cost model's simulated month
// runs on the same Clock.
//
// A test that runs its domain on a fixed date while something beneath it
// reads the wall clock passes until the calendar passes that date. To prove
// no test does, the fixed dates can be moved: with SIYU_TEST_DATES=past every
// date made by Date, Day or Shift lies more than a year before today, with
// SIYU_TEST_DATES=future more than a year after it (make test-dates runs both).
// The move is a whole number of years that is a multiple of four, so month
// lengths and leap days stay as the test wrote them.
package testclock

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
)

// Clock is a settable time source, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time; pass the method value as a Now func.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// The tests' fixed dates lie within these years; the moves keep them all
// past or all future.
const (
	firstYear = 2024
	lastYear  = 2026
)

var (
	yearsOnce sync.Once
	years     int
)

// Years is how far SIYU_TEST_DATES moves the fixed dates: 0 when unset; for
// "past" the fixed dates end at least a year before today, for "future" they
// start at least a year after it. Anything else panics, so a typo cannot
// quietly run the unmoved suite.
func Years() int {
	yearsOnce.Do(func() { years = yearsFor(os.Getenv("SIYU_TEST_DATES"), time.Now()) })
	return years
}

func yearsFor(mode string, today time.Time) int {
	// A year before today is before the start of this year minus one, and
	// a year after is past the end of the next.
	switch mode {
	case "":
		return 0
	case "past":
		n := 0
		for lastYear+n >= today.Year()-1 {
			n -= 4
		}
		return n
	case "future":
		n := 0
		for firstYear+n <= today.Year()+1 {
			n += 4
		}
		return n
	}
	panic(fmt.Sprintf("testclock: SIYU_TEST_DATES=%q: want past, future or nothing", mode))
}

// Date is time.Date for a test's fixed dates, moved by Years.
func Date(year int, month time.Month, day, hour, min, sec, nsec int, loc *time.Location) time.Time {
	return time.Date(year+Years(), month, day, hour, min, sec, nsec, loc)
}

// Day is a fixed calendar day, moved by Years.
func Day(year int, month time.Month, day int) calendar.Day {
	return calendar.Day{Year: year + Years(), Month: month, Day: day}
}

var datePattern = regexp.MustCompile(`\b(20\d\d)-(\d\d)`)

// Shift moves every date written YYYY-MM… in s (a JSON body, an expected
// CSV, a date parameter) by Years, so literal dates move with Date and Day.
func Shift(s string) string {
	n := Years()
	if n == 0 {
		return s
	}
	return datePattern.ReplaceAllStringFunc(s, func(m string) string {
		y, _ := strconv.Atoi(m[:4])
		return strconv.Itoa(y+n) + m[4:]
	})
}
