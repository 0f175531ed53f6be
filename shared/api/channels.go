package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/httpx"
)

// MaxChannelBody bounds channel, tag and settings bodies: a welcome is at
// most 4000 bytes of text and nine attachments named by URL or media_id.
const MaxChannelBody = 64 << 10

// MountChannels adds the first-touch routes over svc:
//
//	GET    /api/channels          every channel, oldest first
//	POST   /api/channels          create a contact way or acquisition link (201)
//	GET    /api/channels/{id}
//	PATCH  /api/channels/{id}     name, members, departments, skip_verify, remark, tags, welcome
//	DELETE /api/channels/{id}     in WeCom, then Siyu's record
//	GET    /api/tags              the corp's tag library, by group
//	POST   /api/tags              add tags to a group (created by name when new) (201)
//	PATCH  /api/tags/{id}         rename or reorder a tag or group
//	DELETE /api/tags/{id}         ?kind=tag|group, else looked up
//	GET    /api/settings          the brand's settings (defaults when none saved), with an ETag
//	PUT    /api/settings          replace them (If-Match: the ETag read, else the version read now)
//
// Changes need WeCom credentials (503 wecom_not_configured without);
// reads of channels and settings do not.
func MountChannels(s *Server, svc *channels.Service) {
	h := channelsHandler{s: s, svc: svc}
	s.Admin("GET /api/channels", h.list)
	s.Admin("POST /api/channels", h.create)
	s.Admin("GET /api/channels/{id}", h.get)
	s.Admin("PATCH /api/channels/{id}", h.update)
	s.Admin("DELETE /api/channels/{id}", h.delete)
	s.Admin("GET /api/tags", h.tags)
	s.Admin("POST /api/tags", h.addTags)
	s.Admin("PATCH /api/tags/{id}", h.editTag)
	s.Admin("DELETE /api/tags/{id}", h.deleteTag)
	s.Admin("GET /api/settings", h.settings)
	s.Admin("PUT /api/settings", h.putSettings)
}

type channelsHandler struct {
	s   *Server
	svc *channels.Service
}

func (h channelsHandler) list(w http.ResponseWriter, r *http.Request) {
	all, err := h.svc.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"channels": all})
}

func (h channelsHandler) create(w http.ResponseWriter, r *http.Request) {
	if !h.svc.Configured() {
		h.fail(w, r, channels.ErrNotConfigured)
		return
	}
	var d channels.Draft
	if !decodeJSON(w, r, &d, MaxChannelBody) {
		return
	}
	c, err := h.svc.Create(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, c)
}

func (h channelsHandler) get(w http.ResponseWriter, r *http.Request) {
	c, err := h.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (h channelsHandler) update(w http.ResponseWriter, r *http.Request) {
	var p channels.Patch
	if !decodeJSON(w, r, &p, MaxChannelBody) {
		return
	}
	c, err := h.svc.Update(r.Context(), r.PathValue("id"), p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (h channelsHandler) delete(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Delete(r.Context(), r.PathValue("id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h channelsHandler) tags(w http.ResponseWriter, r *http.Request) {
	groups, err := h.svc.Tags(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"groups": groups})
}

func (h channelsHandler) addTags(w http.ResponseWriter, r *http.Request) {
	if !h.svc.Configured() {
		h.fail(w, r, channels.ErrNotConfigured)
		return
	}
	var a channels.NewTags
	if !decodeJSON(w, r, &a, MaxChannelBody) {
		return
	}
	g, err := h.svc.AddTags(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, g)
}

func (h channelsHandler) editTag(w http.ResponseWriter, r *http.Request) {
	if !h.svc.Configured() {
		h.fail(w, r, channels.ErrNotConfigured)
		return
	}
	var e channels.TagEdit
	if !decodeJSON(w, r, &e, MaxChannelBody) {
		return
	}
	if err := h.svc.EditTag(r.Context(), r.PathValue("id"), e); err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "name": e.Name, "order": e.Order})
}

func (h channelsHandler) deleteTag(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteTag(r.Context(), r.PathValue("id"), r.URL.Query().Get("kind")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func etag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

func (h channelsHandler) settings(w http.ResponseWriter, r *http.Request) {
	set, err := channels.LoadSettings(r.Context(), h.svc.Store)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(set.Version))
	httpx.JSON(w, http.StatusOK, set)
}

// putSettings replaces the settings if they are still at the version the
// caller read (If-Match) or, without If-Match, at the version read here:
// of two concurrent PUTs one wins and the other gets 409.
func (h channelsHandler) putSettings(w http.ResponseWriter, r *http.Request) {
	var set channels.Settings
	if !decodeJSON(w, r, &set, MaxChannelBody) {
		return
	}
	if err := channels.ValidateSettings(set); err != nil {
		h.fail(w, r, err)
		return
	}
	cur, err := channels.LoadSettings(r.Context(), h.svc.Store)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag(cur.Version) {
		h.fail(w, r, &channels.ConflictError{Code: "conflict", Msg: "the settings changed since " + m + " (now " + etag(cur.Version) + "); read them again"})
		return
	}
	saved, err := channels.SaveSettings(r.Context(), h.svc.Store, set, cur.Version, h.s.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(saved.Version))
	httpx.JSON(w, http.StatusOK, saved)
}

func (h channelsHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var conflict *channels.ConflictError
	var wce *channels.WeComError
	switch {
	case errors.As(err, &conflict):
		httpx.Error(w, http.StatusConflict, conflict.Code, conflict.Msg)
	case errors.Is(err, channels.ErrOutcomeUnknown):
		h.s.Logger.LogAttrs(r.Context(), slog.LevelWarn, "channel create without an answer", slog.String("err", err.Error()))
		httpx.Error(w, http.StatusBadGateway, "wecom_no_answer", channels.ErrOutcomeUnknown.Error())
	case errors.Is(err, channels.ErrNotConfigured):
		httpx.Error(w, http.StatusServiceUnavailable, "wecom_not_configured", err.Error())
	case errors.Is(err, channels.ErrNotFound):
		httpx.Error(w, http.StatusNotFound, "not_found", "no channel "+r.PathValue("id"))
	case errors.Is(err, channels.ErrNoTag):
		id := r.PathValue("id")
		if !strings.HasPrefix(r.URL.Path, "/api/tags/") {
			id = "given"
		}
		httpx.Error(w, http.StatusNotFound, "not_found", "no tag or tag group "+id)
	case errors.As(err, &wce):
		httpx.Error(w, http.StatusBadGateway, "wecom_error", "WeCom refused: "+wce.Error())
	default:
		WriteError(w, r, h.s.Logger, err)
	}
}
