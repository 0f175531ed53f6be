// Package chart draws the console's charts as SVG on the server: day axes
// with dates, gridlines with values, lines and bars, and days without
// complete numbers marked as such (a hatched band, never a zero). Text in
// the SVG is dates and numbers only, so one drawing serves every language;
// each day carries its values in data attributes for the page to show on
// tap.
package chart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Kinds of series.
const (
	Line = "line"
	Bar  = "bar"
)

// Series is one named row of values, one per day; nil is a day without a
// number (not rolled up, or not measurable yet).
type Series struct {
	Key    string // the data attribute's name (e.g. "churn_rate") and CSS class
	Kind   string // Line or Bar
	Values []*float64
}

// Chart is a day chart.
type Chart struct {
	Label string   // aria-label
	Days  []string // YYYY-MM-DD, one per x position
	// Incomplete marks the days not rolled up yet.
	Incomplete []bool
	Series     []Series
	// Percent formats the axis as percentages of fractions.
	Percent bool
}

// Geometry of the drawing (viewBox units; the page scales it to its width).
const (
	width   = 640
	height  = 260
	padL    = 48.0
	padR    = 10.0
	padT    = 12.0
	padB    = 30.0
	plotW   = width - padL - padR
	plotH   = height - padT - padB
	maxTick = 5
)

// F is a value's pointer, for building series.
func F(v float64) *float64 { return &v }

// SVG draws c.
func (c Chart) SVG() []byte {
	n := len(c.Days)
	lo, hi := 0.0, 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v != nil {
				lo, hi = math.Min(lo, *v), math.Max(hi, *v)
			}
		}
	}
	ticks := niceTicks(lo, hi, c.Percent)
	lo, hi = ticks[0], ticks[len(ticks)-1]
	y := func(v float64) float64 { return padT + plotH - (v-lo)/(hi-lo)*plotH }
	step := plotW / math.Max(1, float64(n))
	x := func(i int) float64 { return padL + step*(float64(i)+0.5) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" class="chart" role="img" aria-label="%s">`,
		width, height, html.EscapeString(c.Label))
	b.WriteString(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2f3f5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#c9cdd4" stroke-width="2"/></pattern></defs>`)
	// Days not rolled up: a hatched band over their column.
	for i := 0; i < n; i++ {
		if i < len(c.Incomplete) && c.Incomplete[i] {
			fmt.Fprintf(&b, `<rect class="inc" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#hatch)"/>`, x(i)-step/2, padT, step, plotH)
		}
	}
	// Gridlines and their values.
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e5e6eb"/>`, padL, width-padR, y(t), y(t))
		fmt.Fprintf(&b, `<text class="ytick" x="%.1f" y="%.1f" text-anchor="end" font-size="11" fill="#4e5969">%s</text>`, padL-6, y(t)+4, label(t, c.Percent))
	}
	if lo < 0 {
		fmt.Fprintf(&b, `<line class="zero" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#86909c"/>`, padL, width-padR, y(0), y(0))
	}
	// Date labels: about six, always the first and the last.
	every := max(1, int(math.Ceil(float64(n)/6)))
	for i := 0; i < n; i++ {
		last := i == n-1
		if !last && (i%every != 0 || (i != 0 && n-1-i < (every+1)/2)) {
			continue // keep clear of the last day's label
		}
		fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#4e5969">%s</text>`, x(i), height-10, shortDate(c.Days[i]))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#86909c"/>`, padL, width-padR, padT+plotH, padT+plotH)
	// Bars, then lines over them.
	bars := 0
	for _, s := range c.Series {
		if s.Kind == Bar {
			bars++
		}
	}
	bi := 0
	for si, s := range c.Series {
		if s.Kind != Bar {
			continue
		}
		bw := step * 0.7 / float64(bars)
		for i, v := range s.Values {
			if v == nil || i >= n {
				continue
			}
			top, bot := y(math.Max(*v, 0)), y(math.Min(*v, 0))
			cls := "s" + strconv.Itoa(si)
			if *v < 0 {
				cls += " neg"
			}
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, cls,
				x(i)-step*0.35+bw*float64(bi), top, bw, math.Max(bot-top, 0.5))
		}
		bi++
	}
	for si, s := range c.Series {
		if s.Kind != Line {
			continue
		}
		var d strings.Builder
		pen := false
		for i, v := range s.Values {
			if v == nil || i >= n {
				pen = false // a gap, not a zero
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", cmd, x(i), y(*v))
			pen = true
		}
		fmt.Fprintf(&b, `<path class="line s%d" d="%s" fill="none" stroke-width="2"/>`, si, d.String())
		for i, v := range s.Values {
			if v != nil && i < n {
				fmt.Fprintf(&b, `<circle class="pt s%d" cx="%.1f" cy="%.1f" r="2.5"/>`, si, x(i), y(*v))
			}
		}
	}
	// One transparent hit column per day: tap (or hover) shows its values.
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<rect class="hit" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="transparent" data-i="%d" data-date="%s"`,
			x(i)-step/2, padT, step, plotH, i, html.EscapeString(c.Days[i]))
		if i < len(c.Incomplete) && c.Incomplete[i] {
			b.WriteString(` data-incomplete="1"`)
		}
		for _, s := range c.Series {
			if i < len(s.Values) && s.Values[i] != nil {
				fmt.Fprintf(&b, ` data-%s="%s"`, html.EscapeString(s.Key), strconv.FormatFloat(*s.Values[i], 'f', -1, 64))
			}
		}
		fmt.Fprintf(&b, `><title>%s</title></rect>`, html.EscapeString(c.Days[i]))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

// niceTicks are round gridline values covering lo..hi, from at most 0.
func niceTicks(lo, hi float64, percent bool) []float64 {
	if hi <= lo {
		hi = lo + 1
		if percent {
			hi = lo + 0.01
		}
	}
	raw := (hi - lo) / (maxTick - 1)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	if !percent && step < 1 {
		step = 1
	}
	start := math.Floor(lo/step+1e-9) * step
	var t []float64
	for i := 0; ; i++ {
		v := start + float64(i)*step
		t = append(t, v)
		if len(t) >= 2 && v >= hi-step*1e-9 {
			return t // the last gridline is at or above the highest value
		}
	}
}

func label(v float64, percent bool) string {
	if percent {
		p := math.Round(v*1e6) / 1e4 // a percentage without float noise
		if p == math.Trunc(p) {
			return strconv.FormatFloat(p, 'f', 0, 64) + "%"
		}
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// shortDate is MM-DD of YYYY-MM-DD.
func shortDate(d string) string {
	if len(d) == 10 {
		return d[5:]
	}
	return d
}
