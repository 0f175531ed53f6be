package api_test

import (
	"encoding/csv"
	"net/http"
	"slices"
	"testing"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestCSVExportsKeepFormulasAsText(t *testing.T) {
	loc, _ := calendar.Zone("Asia/Shanghai")
	add := func(member, customer, state string) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact,
			UserID: member, ExternalUserID: customer, State: state, Known: true, CreateTime: testclock.Date(2025, 3, 1, 11, 0, 0, 0, loc).Unix()}
	}
	s := statsServerWith(t,
		add("@SUM(A1:A9)", "c3", `=HYPERLINK("http://evil.example","x")`),
		add("carol", "c4", "+cmd|' /C calc'!A0"),
		add("dave", "c5", "-2+3"),
		add("erin", "c6", "\tpadded"))
	rowsOf := func(t *testing.T, path string) [][]string {
		w := get(s, path, "Accept", "text/csv")
		rows, err := csv.NewReader(w.Body).ReadAll()
		if err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s: %d %v", path, w.Code, err)
		}
		return rows
	}
	tests := []struct {
		name, path string
		want       []string
	}{
		{"a channel state starting with = is exported as text", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=channel"),
			[]string{testclock.Shift("2025-03-01"), `'=HYPERLINK("http://evil.example","x")`, "", "1", "0", "0", "1", "0", "0", "0", "true"}},
		{"a channel state starting with + is exported as text", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=channel"),
			[]string{testclock.Shift("2025-03-01"), "'+cmd|' /C calc'!A0", "", "1", "0", "0", "1", "0", "0", "0", "true"}},
		{"a channel state starting with - is exported as text", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=channel"),
			[]string{testclock.Shift("2025-03-01"), "'-2+3", "", "1", "0", "0", "1", "0", "0", "0", "true"}},
		{"a channel state starting with a tab is exported as text", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=channel"),
			[]string{testclock.Shift("2025-03-01"), "'\tpadded", "", "1", "0", "0", "1", "0", "0", "0", "true"}},
		{"a member starting with @ is exported as text", testclock.Shift("/api/stats/daily?from=2025-03-01&to=2025-03-01&by=member"),
			[]string{testclock.Shift("2025-03-01"), "'@SUM(A1:A9)", "1", "0", "0", "1", "0", "0", "0", "", "", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := rowsOf(t, tt.path)
			if !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, tt.want) }) {
				t.Errorf("no row %q in %q", tt.want, rows)
			}
		})
	}
}
