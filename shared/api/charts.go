package api

import (
	"net/http"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/chart"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/httpx"
)

// chart answers GET /api/charts/{name}?from&to as SVG, drawn from the same
// rows as the stats routes (the console shows it inline):
//
//	churn    the daily churn rate
//	net      net growth per day (new − lost − removed), as bars
//	cohorts  early churn of each day's new customers after 1, 7 and 30 days
//
// A day not rolled up is marked, not drawn as zero; a cohort's N-day rate
// is drawn only once N days have passed.
func (h statsHandler) chart(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	switch name {
	case "churn", "net", "cohorts":
	default:
		httpx.Error(w, http.StatusNotFound, "not_found", "no chart "+name+": churn, net or cohorts")
		return
	}
	sp, ok := h.span(w, r)
	if !ok {
		return
	}
	var c chart.Chart
	idx := map[string]int{}
	for d := sp.from; !d.After(sp.to); d = d.AddDays(1) {
		idx[d.String()] = len(c.Days)
		c.Days = append(c.Days, d.String())
		c.Incomplete = append(c.Incomplete, !sp.complete[d.String()])
	}
	n := len(c.Days)
	series := func(key, kind string) chart.Series {
		return chart.Series{Key: key, Kind: kind, Values: make([]*float64, n)}
	}
	switch name {
	case "churn", "net":
		days, err := churn.DailyRange(r.Context(), h.st, sp.from, sp.to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
		}
		s := series("churn_rate", chart.Line)
		c.Label, c.Percent = "churn rate", true
		if name == "net" {
			s = series("net", chart.Bar)
			c.Label, c.Percent = "net growth", false
		}
		for _, d := range days {
			i, ok := idx[d.Date]
			if !ok || c.Incomplete[i] {
				continue
			}
			v := d.ChurnRate
			if name == "net" {
				v = float64(d.NewCustomers - d.LostCustomers - d.RemovedCustomers)
			}
			s.Values[i] = chart.F(v)
		}
		c.Series = []chart.Series{s}
	case "cohorts":
		rows, err := churn.CohortRange(r.Context(), h.st, sp.from, sp.to)
		if err != nil {
			WriteError(w, r, h.s.Logger, err)
			return
		}
		today := calendar.Of(h.s.Now(), h.s.Loc)
		s1, s7, s30 := series("rate_1d", chart.Line), series("rate_7d", chart.Line), series("rate_30d", chart.Line)
		c.Label, c.Percent = "early churn by cohort", true
		for _, co := range rows {
			i, ok := idx[co.Date]
			if !ok || c.Incomplete[i] {
				continue
			}
			d, err := calendar.Parse(co.Date)
			if err != nil {
				continue
			}
			for _, x := range []struct {
				s    chart.Series
				days int
				v    float64
			}{{s1, 1, co.Rate1d}, {s7, 7, co.Rate7d}, {s30, 30, co.Rate30d}} {
				if d.AddDays(x.days).Before(today) {
					x.s.Values[i] = chart.F(x.v)
				}
			}
		}
		c.Series = []chart.Series{s1, s7, s30}
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(c.SVG())
}
