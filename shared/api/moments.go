package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
)

// DefaultMomentsDays is GET /api/stats/moments' range without from/to.
const DefaultMomentsDays = 7

// momentsRange is the Moments stats' from/to rule: either bound alone, at
// most moments.MaxRangeDays days, the last week by default.
var momentsRange = jobs.Range{MaxDays: moments.MaxRangeDays, Future: true, Alone: true, Default: func(today calendar.Day) (calendar.Day, calendar.Day) {
	return today.AddDays(-(DefaultMomentsDays - 1)), today
}}

// visitorMaxAge keeps the click cookie a year.
const visitorMaxAge = 365 * 24 * 3600

// MountMoments adds the Moments conversion routes and the "moments" job:
//
//	GET  /r/{token}               tracked link: records the click, 302 to the stored URL (public)
//	GET  /api/posts/{id}/stats    a post's funnel
//	GET  /api/stats/moments       ?from&to: by day sent, by member, by post (CSV with Accept: text/csv)
//	POST /api/moments/track       {"moment_id"[, "userid"]}: follow a member's own Moment
//	POST /api/conversions         {"token"|"post_id", "value", "order_id"}: idempotent on order_id
func MountMoments(s *Server, svc *moments.Service) {
	h := momentsHandler{s: s, svc: svc}
	s.Public("GET /r/{token}", h.redirect)
	s.Admin("GET /api/posts/{id}/stats", h.postStats)
	s.Admin("GET /api/stats/moments", h.rangeStats)
	s.Admin("POST /api/moments/track", h.track)
	s.Admin("POST /api/conversions", h.conversion)
}

type momentsHandler struct {
	s   *Server
	svc *moments.Service
}

const notFoundPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>链接不存在 · Link not found</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto;padding:0 1em;color:#333">
<h1>链接不存在或已失效</h1>
<p>您打开的链接无效，请返回朋友圈或联系发送给您的顾问。</p>
<hr>
<h2 lang="en">Link not found</h2>
<p lang="en">This link does not exist or has expired. Please go back or ask the person who shared it.</p>
</body></html>
`

// redirect answers a tracked link: the target is only ever the URL stored
// with the token (no query parameter is read), and the click costs one
// store write.
func (h momentsHandler) redirect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	l, err := h.svc.Resolve(r.Context(), r.PathValue("token"))
	if err != nil {
		if !errors.Is(err, moments.ErrNotFound) {
			h.s.Logger.Error("tracked link", "err", err.Error())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(notFoundPage))
		return
	}
	if r.Method == http.MethodHead {
		// Link checkers probe with HEAD: answer, but it is not a click.
		http.Redirect(w, r, l.URL, http.StatusFound)
		return
	}
	vid := ""
	if c, err := r.Cookie(moments.VisitorCookie); err == nil && moments.ValidVisitor(c.Value) {
		vid = c.Value
	} else {
		vid = moments.NewVisitor()
		base := h.svc.PublicURL
		if base == "" {
			base = h.s.PublicBase(r)
		}
		http.SetCookie(w, &http.Cookie{Name: moments.VisitorCookie, Value: vid, Path: "/r/", MaxAge: visitorMaxAge,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: strings.HasPrefix(base, "https://")})
	}
	if err := h.svc.RecordClick(r.Context(), l, vid, h.s.Now()); err != nil {
		// The visitor still gets where they were going; the click is lost.
		h.s.Logger.Error("tracked link: click not recorded", "post", l.PostID, "err", err.Error())
	}
	http.Redirect(w, r, l.URL, http.StatusFound)
}

func (h momentsHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, moments.ErrNotFound) {
		httpx.Error(w, http.StatusNotFound, "not_found", "no post "+r.PathValue("id"))
		return
	}
	WriteError(w, r, h.s.Logger, err)
}

func (h momentsHandler) postStats(w http.ResponseWriter, r *http.Request) {
	f, err := h.svc.PostStats(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, f)
}

func (h momentsHandler) rangeStats(w http.ResponseWriter, r *http.Request) {
	from, to, ok := h.s.dayRange(w, r, momentsRange)
	if !ok {
		return
	}
	rg, err := h.svc.RangeStats(r.Context(), from, to)
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	if !wantsCSV(r) {
		httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "from": rg.From, "to": rg.To,
			"days": rg.Days, "members": rg.Members, "posts": rg.Posts})
		return
	}
	rows := [][]any{{"section", "key", "members_targeted", "members_published", "customers_reached", "customers_engaged",
		"clicks", "unique_clickers", "conversions", "conversion_value", "publish_rate", "engagement_rate", "click_rate", "conversion_rate"}}
	line := func(section, key string, f moments.Funnel) []any {
		return []any{section, key, f.MembersTargeted, f.MembersPublished, f.CustomersReached,
			f.CustomersEngaged, f.Clicks, f.UniqueClickers, f.Conversions,
			f.ConversionValue, f.PublishRate, f.EngagementRate, f.ClickRate, f.ConversionRate}
	}
	for _, d := range rg.Days {
		rows = append(rows, line("day", d.SentDay, d))
	}
	for _, p := range rg.Posts {
		rows = append(rows, line("post", p.PostID, p))
	}
	for _, m := range rg.Members {
		pub := 0
		if m.Published {
			pub = 1
		}
		rows = append(rows, []any{"member", m.UserID, nil, pub, m.Reached, m.Engaged, nil, nil, nil, nil, nil, nil, nil, nil})
	}
	writeCSV(w, "moments-"+rg.From+"-"+rg.To, rows)
}

func (h momentsHandler) track(w http.ResponseWriter, r *http.Request) {
	var req moments.Tracked
	if !DecodeJSON(w, r, &req) {
		return
	}
	id, err := h.svc.Track(r.Context(), moments.Tracked{MomentID: req.MomentID, UserID: req.UserID})
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"post_id": id, "moment_id": req.MomentID})
}

func (h momentsHandler) conversion(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token   string  `json:"token"`
		PostID  string  `json:"post_id"`
		Value   float64 `json:"value"`
		OrderID string  `json:"order_id"`
	}
	if !DecodeJSON(w, r, &req) {
		return
	}
	c := moments.Conversion{Token: req.Token, PostID: req.PostID, Value: req.Value, OrderID: req.OrderID, At: h.s.Now().UTC().Truncate(time.Second)}
	recorded, err := h.svc.RecordConversion(r.Context(), c)
	if errors.Is(err, moments.ErrNotFound) {
		httpx.Error(w, http.StatusNotFound, "not_found", "no tracked link or post by that token or post_id")
		return
	}
	if err != nil {
		WriteError(w, r, h.s.Logger, err)
		return
	}
	status := http.StatusCreated
	if !recorded {
		status = http.StatusOK
	}
	httpx.JSON(w, status, map[string]any{"recorded": recorded, "duplicate": !recorded, "order_id": c.OrderID})
}
