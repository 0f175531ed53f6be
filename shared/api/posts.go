package api

import (
	"errors"
	"net/http"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
)

// MaxPostBody bounds POST /api/posts: media may come as base64 in the JSON
// (10 MB of media is about 13.4 MB of base64). Function URLs cap requests
// at 6 MB, so large media are better given by URL.
const MaxPostBody = 14 << 20

// DefaultPostDays is the listing range without from/to: a week back and
// thirty days ahead.
const (
	DefaultPostDaysBack  = 7
	DefaultPostDaysAhead = 30
)

// postsRange is the posts listing's from/to rule: a calendar, so future
// days are fine and either bound may come alone; at most 400 days.
var postsRange = jobs.Range{MaxDays: 400, Future: true, Alone: true, Default: func(today calendar.Day) (calendar.Day, calendar.Day) {
	return today.AddDays(-DefaultPostDaysBack), today.AddDays(DefaultPostDaysAhead)
}}

// MountPosts adds the scheduled posts routes:
//
//	POST   /api/posts          schedule a Moment or group message (201)
//	GET    /api/posts          ?status=&from=YYYY-MM-DD&to=YYYY-MM-DD, with daily cap usage
//	GET    /api/posts/{id}
//	DELETE /api/posts/{id}     cancel (in WeCom too once created)
func MountPosts(s *Server, svc *posts.Service) {
	h := postsHandler{s: s, svc: svc}
	s.Admin("POST /api/posts", h.create)
	s.Admin("GET /api/posts", h.list)
	s.Admin("GET /api/posts/{id}", h.get)
	s.Admin("DELETE /api/posts/{id}", h.cancel)
}

type postsHandler struct {
	s   *Server
	svc *posts.Service
}

func (h postsHandler) create(w http.ResponseWriter, r *http.Request) {
	var d posts.Draft
	if !decodeJSON(w, r, &d, MaxPostBody) {
		return
	}
	d.PublicURL = h.s.PublicBase(r)
	p, err := h.svc.Create(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, p.In(h.s.Loc))
}

func (h postsHandler) get(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p.In(h.s.Loc))
}

func (h postsHandler) cancel(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.Cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p.In(h.s.Loc))
}

func (h postsHandler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := posts.ListQuery{Status: posts.Status(q.Get("status"))}
	switch lq.Status {
	case "", posts.Scheduled, posts.Sending, posts.Sent, posts.Failed, posts.Canceled:
	default:
		httpx.Error(w, http.StatusBadRequest, "bad_request", "status: "+string(lq.Status)+" is not scheduled, sending, sent, failed or canceled")
		return
	}
	var ok bool
	if lq.From, lq.To, ok = h.s.dayRange(w, r, postsRange); !ok {
		return
	}
	l, err := h.svc.List(r.Context(), lq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for i := range l.Posts {
		l.Posts[i] = l.Posts[i].In(h.s.Loc)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"timezone": h.s.Loc.String(), "from": lq.From.String(), "to": lq.To.String(),
		"posts": l.Posts, "cap": l.Cap})
}

// capBody is the 409 answer to a post over the cap.
type capBody struct {
	Error struct {
		httpx.ErrorDetail
		Day       string   `json:"day"`
		Limit     int      `json:"limit"`
		Colliding []string `json:"colliding"`
	} `json:"error"`
}

func (h postsHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *posts.FieldError
	var ce *posts.CapError
	var conflict *posts.ConflictError
	switch {
	case errors.As(err, &fe):
		httpx.Error(w, http.StatusBadRequest, "invalid_post", fe.Error())
	case errors.As(err, &ce):
		var b capBody
		b.Error.Code = "cap_reached"
		b.Error.Message = ce.Error() + `; pick another time or send "if_full":"next_free_slot"`
		b.Error.Day, b.Error.Limit, b.Error.Colliding = ce.Day, ce.Limit, ce.Colliding
		httpx.JSON(w, http.StatusConflict, b)
	case errors.As(err, &conflict):
		httpx.Error(w, http.StatusConflict, "conflict", conflict.Msg)
	case errors.Is(err, posts.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, "not_found", "no post "+r.PathValue("id"))
	default:
		WriteError(w, r, h.s.Logger, err)
	}
}
