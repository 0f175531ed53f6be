package root_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWithoutWeComCredentialsChannelChangesSaySoAndReadsWork is the api
// function as deployed before WECOM_CORP_ID and WECOM_SECRET are set.
func TestWithoutWeComCredentialsChannelChangesSaySoAndReadsWork(t *testing.T) {
	a, _, _ := build(t, map[string]string{"SIYU_ADMIN_TOKEN": "tok"})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, r)
		return w
	}
	if w := do(http.MethodPost, "/api/channels", `{"name":"门店二维码","kind":"contact_way","members":["alice"]}`); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"wecom_not_configured"`) {
		t.Errorf("create = %d %s", w.Code, w.Body)
	}
	for _, path := range []string{"/api/channels", "/api/settings"} {
		if w := do(http.MethodGet, path, ""); w.Code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
}
