package root_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestALinkInAScheduledPostBecomesATrackedLinkThatRedirectsToTheOriginal(t *testing.T) {
	env := map[string]string{"SIYU_ADMIN_TOKEN": "tok", "SIYU_PUBLIC_URL": "https://brand.example/s"}
	a, _, _ := build(t, env)
	h := a.Handler
	body := `{"kind":"group_message","send_at":"` + time.Now().Add(time.Hour).Format(time.RFC3339) +
		`","text":"双十二预告","sender":"zhangsan","attachments":[{"type":"link","url":"https://shop.example/p/42?from=moments","title":"新品"}]}`
	r := httptest.NewRequest(http.MethodPost, "/api/posts", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var post struct {
		Attachments []struct {
			URL         string `json:"url"`
			OriginalURL string `json:"original_url"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &post); err != nil || len(post.Attachments) != 1 {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	att := post.Attachments[0]
	if !strings.HasPrefix(att.URL, "https://brand.example/s/r/") || att.OriginalURL != "https://shop.example/p/42?from=moments" {
		t.Fatalf("attachment %+v, want a tracked URL standing in for the original", att)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(att.URL, "https://brand.example/s"), nil))
	if w.Code != http.StatusFound || w.Header().Get("Location") != att.OriginalURL {
		t.Fatalf("redirect: %d to %q", w.Code, w.Header().Get("Location"))
	}
}

func TestWithoutAPublicURLTrackedLinksTakeTheBaseFromTheRequest(t *testing.T) {
	a, _, _ := build(t, map[string]string{"SIYU_ADMIN_TOKEN": "tok"})
	body := `{"kind":"group_message","send_at":"` + time.Now().Add(time.Hour).Format(time.RFC3339) +
		`","text":"双十二预告","sender":"zhangsan","attachments":[{"type":"link","url":"https://shop.example/p/42","title":"新品"}]}`
	tests := []struct {
		name, host, proto, want string
	}{
		{"a request through the function URL makes https links on its host", "abc.lambda-url.ap-east-1.on.aws", "https", "https://abc.lambda-url.ap-east-1.on.aws/r/"},
		{"a plain local request makes http links on its host", "127.0.0.1:8080", "", "http://127.0.0.1:8080/r/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/posts", strings.NewReader(body))
			r.Host = tt.host
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			r.Header.Set("Authorization", "Bearer tok")
			w := httptest.NewRecorder()
			a.Handler.ServeHTTP(w, r)
			var post struct {
				Attachments []struct {
					URL         string `json:"url"`
					OriginalURL string `json:"original_url"`
				} `json:"attachments"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &post); err != nil || w.Code != http.StatusCreated || len(post.Attachments) != 1 {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			if att := post.Attachments[0]; !strings.HasPrefix(att.URL, tt.want) || att.OriginalURL != "https://shop.example/p/42" {
				t.Fatalf("attachment %+v, want a tracked URL under %s", att, tt.want)
			}
		})
	}
}
