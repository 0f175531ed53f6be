package root_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/api"
)

// TestEveryRouteIsRegisteredAdminOrPublic is the route table: a route
// added without saying who may call it fails here, and each route answers
// a caller without the token as its table row says.
func TestEveryRouteIsRegisteredAdminOrPublic(t *testing.T) {
	a, _, _ := build(t, map[string]string{"SIYU_ADMIN_TOKEN": "tok"})
	want := []api.Route{
		{Pattern: "/api/", Admin: true}, // unknown API routes: 404 to the operator, 401 to anyone else
		{Pattern: "GET /api/stats/daily", Admin: true},
		{Pattern: "GET /api/stats/cohorts", Admin: true},
		{Pattern: "GET /api/stats/groups", Admin: true},
		{Pattern: "GET /api/charts/{name}", Admin: true},
		{Pattern: "POST /api/posts", Admin: true},
		{Pattern: "GET /api/posts", Admin: true},
		{Pattern: "GET /api/posts/{id}", Admin: true},
		{Pattern: "DELETE /api/posts/{id}", Admin: true},
		{Pattern: "GET /r/{token}", Admin: false},
		{Pattern: "GET /api/posts/{id}/stats", Admin: true},
		{Pattern: "GET /api/stats/moments", Admin: true},
		{Pattern: "POST /api/moments/track", Admin: true},
		{Pattern: "POST /api/conversions", Admin: true},
		{Pattern: "GET /api/channels", Admin: true},
		{Pattern: "POST /api/channels", Admin: true},
		{Pattern: "GET /api/channels/{id}", Admin: true},
		{Pattern: "PATCH /api/channels/{id}", Admin: true},
		{Pattern: "DELETE /api/channels/{id}", Admin: true},
		{Pattern: "GET /api/tags", Admin: true},
		{Pattern: "POST /api/tags", Admin: true},
		{Pattern: "PATCH /api/tags/{id}", Admin: true},
		{Pattern: "DELETE /api/tags/{id}", Admin: true},
		{Pattern: "GET /api/settings", Admin: true},
		{Pattern: "PUT /api/settings", Admin: true},
		{Pattern: "POST /api/jobs/{name}", Admin: true},
		{Pattern: "GET /login"},           // the console's sign-in form
		{Pattern: "POST /login"},          // answers a session cookie for the admin token
		{Pattern: "POST /logout"},         // clears it
		{Pattern: "GET /{$}", Page: true}, // the console: a session, else the sign-in form
		{Pattern: "GET /assets/{file}"},   // its script and stylesheet (no data)
	}
	if !reflect.DeepEqual(a.Routes, want) {
		t.Fatalf("routes:\n got %+v\nwant %+v", a.Routes, want)
	}
	for _, r := range a.Routes {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			method, path = http.MethodGet, r.Pattern
		}
		path = strings.NewReplacer("{id}", "p1", "{token}", "t1", "{name}", "poster", "{$}", "", "{file}", "app.js").Replace(path)
		t.Run(r.Pattern+" without the token", func(t *testing.T) {
			rec := httptest.NewRecorder()
			a.Handler.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
			if got := rec.Code == http.StatusUnauthorized; got != r.Admin {
				t.Errorf("%s %s = %d, admin route %v", method, path, rec.Code, r.Admin)
			}
			if r.Page && (rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login") {
				t.Errorf("%s %s = %d to %q, want 303 to the sign-in form", method, path, rec.Code, rec.Header().Get("Location"))
			}
		})
	}
}
