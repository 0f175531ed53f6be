// Package dashboard serves the brand's dashboard at GET /: one static page
// (zh-CN first, English available) that reads the admin API with the bearer
// token the operator pastes once (kept in the browser's localStorage, sent
// only to this origin).
package dashboard

import (
	_ "embed"
	"net/http"
	"strconv"
)

//go:embed index.html
var page []byte

// Handler serves the page.
func Handler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// Everything is inline and same-origin; nothing else may load, and no
	// other page may frame this one (clickjacking).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Frame-Options", "DENY")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(page)
}
