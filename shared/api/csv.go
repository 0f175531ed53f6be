package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// writeCSV answers rows as a CSV attachment named siyu-<name>.csv. It is the
// one way the API writes CSV. A cell is text when it is a string: text that
// a spreadsheet would read as a formula (starting with = + - @, a tab or a
// carriage return — a channel state or a member's name can be anything) is
// prefixed with ' so it stays text. Numbers (int, int64, float64, *int64)
// and bools are formatted here and never touched, so -1 stays a number;
// nil and a nil *int64 are empty cells.
func writeCSV(w http.ResponseWriter, name string, rows [][]any) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="siyu-`+name+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	line := make([]string, 0, 16)
	for _, row := range rows {
		line = line[:0]
		for _, c := range row {
			line = append(line, csvCell(c))
		}
		if err := cw.Write(line); err != nil {
			return
		}
	}
	cw.Flush()
}

func csvCell(c any) string {
	switch v := c.(type) {
	case nil:
		return ""
	case string:
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			return "'" + v
		}
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case *int64:
		if v == nil {
			return ""
		}
		return strconv.FormatInt(*v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case *float64:
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return csvCell(fmt.Sprint(c)) // anything else is text
}
