package api_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/api"
)

func TestAdminAnswersAreGzippedForClientsThatTakeIt(t *testing.T) {
	s := api.New("tok", "", nil, nil, nil)
	big := strings.Repeat(`{"date":"2025-03-02","new_customers":7},`, 200)
	s.Admin("GET /api/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, big[:100])
		_, _ = io.WriteString(w, big[100:])
	})
	s.Admin("GET /api/small", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") })
	call := func(path, enc string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Result()
	}
	r := call("/api/big", "gzip, deflate, br")
	if r.StatusCode != http.StatusTeapot || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%d %v", r.StatusCode, r.Header)
	}
	z, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(z); string(b) != big {
		t.Error("the gzipped answer differs")
	}
	if r := call("/api/big", ""); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip to a client that did not ask")
	}
	if r := call("/api/big", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip to a client that refused it")
	}
	if r := call("/api/small", "gzip"); r.Header.Get("Content-Encoding") != "" {
		t.Error("a two-byte answer gzipped")
	} else if b, _ := io.ReadAll(r.Body); string(b) != "{}" {
		t.Errorf("small answer %q", b)
	}
}
