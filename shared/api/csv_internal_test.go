package api

import (
	"encoding/csv"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestWriteCSVNeutralisesTextNotNumbers(t *testing.T) {
	neg := int64(-4)
	tests := []struct {
		name string
		cell any
		want string
	}{
		{"text starting with = gets a quote", "=1+1", "'=1+1"},
		{"text starting with @ gets a quote", "@SUM(A1)", "'@SUM(A1)"},
		{"text starting with - gets a quote", "-1", "'-1"},
		{"text starting with a carriage return gets a quote", "\rx", "'\rx"},
		{"plain text stays", "douyin_live", "douyin_live"},
		{"a negative integer stays a number", int64(-3), "-3"},
		{"a negative rate stays a number", -0.25, "-0.25"},
		{"a negative count behind a pointer stays a number", &neg, "-4"},
		{"a missing number is empty", (*int64)(nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeCSV(w, "t", [][]any{{"key", tt.cell}})
			rows, err := csv.NewReader(w.Body).ReadAll()
			if err != nil || len(rows) != 1 || !slices.Equal(rows[0], []string{"key", tt.want}) {
				t.Errorf("cell %v exported as %q (%v), want %q", tt.cell, rows, err, tt.want)
			}
		})
	}
}
