// Package dashboard is the operator console: the sign-in form and one page
// (zh-CN first, English a tap away) whose script reads and changes the
// brand's data through the admin API with the session cookie the API
// issues. Everything the browser loads ships in this binary: the page, one
// script, one stylesheet; charts are SVG drawn by the API (shared/chart).
// Nothing comes from another origin, and the Content-Security-Policy says
// so.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
)

//go:embed assets/* templates/*
var files embed.FS

// csp allows this origin's script, style, API and images (and https images:
// a channel's QR code is WeCom's URL); nothing inline, no framing, forms
// post only here.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: https:; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// asset is one embedded file, with its gzip form and a version for URLs.
type asset struct {
	body, gz []byte
	ctype    string
	version  string
}

// Console serves the console's pages and assets.
type Console struct {
	loc    *time.Location
	now    func() time.Time
	assets map[string]*asset
	login  *template.Template
	app    *template.Template
}

var _ api.Console = (*Console)(nil)

// New returns the console for a brand in loc; now is the API's clock (nil:
// time.Now), which decides the page's "today".
func New(loc *time.Location, now func() time.Time) *Console {
	if now == nil {
		now = time.Now
	}
	c := &Console{loc: loc, now: now, assets: map[string]*asset{}}
	entries, _ := files.ReadDir("assets")
	for _, e := range entries {
		b, _ := files.ReadFile("assets/" + e.Name())
		sum := sha256.Sum256(b)
		a := &asset{body: b, gz: gz(b), version: hex.EncodeToString(sum[:6])}
		switch path.Ext(e.Name()) {
		case ".js":
			a.ctype = "text/javascript; charset=utf-8"
		case ".css":
			a.ctype = "text/css; charset=utf-8"
		case ".svg":
			a.ctype = "image/svg+xml"
		default:
			a.ctype = "application/octet-stream"
		}
		c.assets[e.Name()] = a
	}
	funcs := template.FuncMap{"asset": func(name string) string { return "/assets/" + name + "?v=" + c.assets[name].version }}
	c.login = template.Must(template.New("login.html").Funcs(funcs).ParseFS(files, "templates/login.html"))
	c.app = template.Must(template.New("app.html").Funcs(funcs).ParseFS(files, "templates/app.html"))
	return c
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// Mount adds the console's routes to s: the sign-in and the page (through
// api.MountConsole, which owns who may see them) and the assets.
func (c *Console) Mount(s *api.Server) {
	api.MountConsole(s, c)
	s.Public("GET /assets/{file}", c.Asset)
}

// Asset serves an embedded script, stylesheet or icon (no data: public).
func (c *Console) Asset(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=86400")
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	c.write(w, r, http.StatusOK, a.ctype, a.body, a.gz)
}

// write answers status and body, gzipped when the client takes it.
func (c *Console) write(w http.ResponseWriter, r *http.Request, status int, ctype string, body, gzBody []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Add("Vary", "Accept-Encoding")
	if gzBody != nil && api.AcceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = gzBody
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// render executes t and answers it with status, compressed if possible.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	var zb []byte
	if api.AcceptsGzip(r) {
		zb = gz(b.Bytes())
	}
	c.write(w, r, status, "text/html; charset=utf-8", b.Bytes(), zb)
}

// loginProblems are the sign-in form's messages, Chinese first.
var loginProblems = map[string][2]string{
	api.LoginWrongToken: {"管理令牌不正确，请重新输入。", "Wrong admin token; please try again."},
	api.LoginThrottled:  {"尝试次数过多，请 10 分钟后再试。", "Too many attempts; try again in 10 minutes."},
	api.LoginClosed:     {"未设置 SIYU_ADMIN_TOKEN，控制台已关闭。", "SIYU_ADMIN_TOKEN is not set: the console is closed."},
	api.LoginExpired:    {"登录已过期，请重新登录。", "Your session has expired; please sign in again."},
}

// Login writes the sign-in form.
func (c *Console) Login(w http.ResponseWriter, r *http.Request, status int, problem string) {
	p := loginProblems[problem]
	c.render(w, r, status, c.login, map[string]any{"Problem": p[0], "ProblemEN": p[1]})
}

// limits are the API's validation limits the forms check before sending,
// so that the console and the API cannot disagree on them.
var limits = func() string {
	b, _ := json.Marshal(map[string]int{
		"welcome_bytes": channels.MaxWelcomeText, "threshold": channels.MaxThreshold,
		"window_minutes": channels.MaxWindowMinutes, "admins": channels.MaxAdmins,
	})
	return string(b)
}()

// App writes the console page for a signed-in operator.
func (c *Console) App(w http.ResponseWriter, r *http.Request, csrf string) {
	now := c.now()
	c.render(w, r, http.StatusOK, c.app, map[string]any{
		"CSRF": csrf, "TZ": c.loc.String(), "Today": calendar.Of(now, c.loc).String(), "CSRFField": api.CSRFField,
		"Limits": limits,
	})
}
