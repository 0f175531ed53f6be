package callback_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testclock"
)

// BenchmarkHandleOnSQLite measures the full POST path — verify, decrypt,
// parse, key, conditional write to a real SQLite file — and reports p50 and
// p99 per request besides the mean.
func BenchmarkHandleOnSQLite(b *testing.B) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	t := &testing.T{}
	f := newFixture(t, now)
	b.Cleanup(func() { f.st.Close() })
	type req struct {
		target string
		body   []byte
	}
	reqs := make([]req, b.N)
	for i := range reqs {
		// Distinct events (customers), so every request is a real write.
		msg := fmt.Sprintf(addEvent, now.Unix()-int64(i%3600))
		msg = string(bytes.Replace([]byte(msg), []byte("woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"), []byte("wm"+strconv.Itoa(i)), 1))
		sig, ts, body := f.seal(t, msg, "n"+strconv.Itoa(i))
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"n" + strconv.Itoa(i)}}
		reqs[i] = req{"/wecom/callback?" + q.Encode(), body}
	}
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodPost, reqs[i].target, bytes.NewReader(reqs[i].body))
		w := httptest.NewRecorder()
		start := time.Now()
		f.h.ServeHTTP(w, r)
		lat[i] = time.Since(start)
		if w.Code != 200 {
			b.Fatalf("status %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
