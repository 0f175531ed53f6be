package root_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNoAnswerMayBeFramedOrSniffed(t *testing.T) {
	a, _, _ := build(t, map[string]string{"SIYU_ADMIN_TOKEN": "tok"})
	h := a.Handler
	tests := []struct {
		name, path, token string
	}{
		{"the dashboard", "/", ""},
		{"an API answer", "/api/posts", "tok"},
		{"an API refusal", "/api/posts", ""},
		{"an unknown tracked link", "/r/nosuchtoken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+" forbids framing and sniffing", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			hd := rec.Result().Header
			if got := hd.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want DENY", got)
			}
			if got := hd.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := hd.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", got)
			}
		})
	}
}
