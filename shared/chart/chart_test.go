package chart_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/chart"
)

func TestTheAxisCoversEveryValueWithRoundGridlines(t *testing.T) {
	c := chart.Chart{Days: []string{"2026-11-01", "2026-11-02", "2026-11-03"}, Percent: true,
		Series: []chart.Series{{Key: "churn_rate", Kind: chart.Line, Values: []*float64{chart.F(0.004), chart.F(0.0138), chart.F(0.006)}}}}
	svg := string(c.SVG())
	for _, want := range []string{">0%<", ">0.5%<", ">1%<", ">1.5%<", ">11-01<", ">11-03<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks the label %s", want)
		}
	}
	if strings.Contains(svg, ">2%<") {
		t.Error("a gridline beyond the one above the highest value")
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("not well-formed SVG: %v", err)
	}
}

func TestADayNotRolledUpIsMarkedAndLeftAGapNotAZero(t *testing.T) {
	c := chart.Chart{Days: []string{"2026-11-01", "2026-11-02", "2026-11-03"}, Incomplete: []bool{false, true, false},
		Series: []chart.Series{{Key: "net", Kind: chart.Line, Values: []*float64{chart.F(3), nil, chart.F(5)}}}}
	svg := string(c.SVG())
	if n := strings.Count(svg, `class="inc"`); n != 1 {
		t.Errorf("%d days marked not rolled up, want 1", n)
	}
	if !strings.Contains(svg, `data-date="2026-11-02" data-incomplete="1"><title>`) {
		t.Error("the incomplete day's tap target does not say so, or carries a value")
	}
	// Two separate strokes: M…, then M… again after the gap.
	path := svg[strings.Index(svg, `class="line s0" d="`):]
	if d := path[:strings.Index(path, `" fill`)]; strings.Count(d, "M") != 2 || strings.Contains(d, "L") {
		t.Errorf("the line %q is drawn through the missing day", d)
	}
}

func TestNegativeBarsHangBelowAZeroLine(t *testing.T) {
	c := chart.Chart{Days: []string{"2026-11-01", "2026-11-02"},
		Series: []chart.Series{{Key: "net", Kind: chart.Bar, Values: []*float64{chart.F(4), chart.F(-2)}}}}
	svg := string(c.SVG())
	if !strings.Contains(svg, `class="zero"`) || !strings.Contains(svg, `class="bar s0 neg"`) || !strings.Contains(svg, `data-net="-2"`) {
		t.Errorf("no zero line or negative bar: %s", svg)
	}
}
