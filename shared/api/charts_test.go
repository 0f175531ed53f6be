package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/testclock"
)

func TestChartsMarkTheDaysNotRolledUpInsteadOfDrawingZeros(t *testing.T) {
	s := baselineServer(t) // complete: 03-05 and 03-06; before the baseline and today: not
	from, to := testclock.Shift("2025-03-03"), testclock.Shift("2025-03-07")
	for _, name := range []string{"churn", "net", "cohorts"} {
		t.Run(name, func(t *testing.T) {
			rec := get(s, "/api/charts/"+name+"?from="+from+"&to="+to)
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			svg := rec.Body.String()
			if n := strings.Count(svg, `class="inc"`); n != 3 {
				t.Errorf("%d days marked not rolled up, want 3 (03-03, 03-04, 03-07)", n)
			}
			if !strings.Contains(svg, `data-date="`+to+`" data-incomplete="1">`) {
				t.Error("today is not marked")
			}
		})
	}
	t.Run("a complete day carries its value for the tap", func(t *testing.T) {
		svg := get(s, "/api/charts/net?from="+from+"&to="+to).Body.String()
		if !strings.Contains(svg, `data-date="`+testclock.Shift("2025-03-06")+`" data-net="`) {
			t.Errorf("no value on 03-06: %s", svg)
		}
	})
	t.Run("an unknown chart is 404", func(t *testing.T) {
		if rec := get(s, "/api/charts/pie"); rec.Code != http.StatusNotFound {
			t.Errorf("%d", rec.Code)
		}
	})
	t.Run("a bad range is 400", func(t *testing.T) {
		if rec := get(s, "/api/charts/churn?from=2025-13-01&to="+to); rec.Code != http.StatusBadRequest {
			t.Errorf("%d", rec.Code)
		}
	})
}
