package wecomsim

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// MediaTTL is how long a media_id lives.
const MediaTTL = 72 * time.Hour

type mediaEntry struct {
	kind    string
	size    int
	expires time.Time
}

// Uploads counts the media uploaded so far.
func (s *Sim) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posting().media)
}

// checkMedia answers 40007 for an unknown or expired media_id; callers
// hold s.mu.
func (s *Sim) checkMedia(id string) *apiError {
	m, ok := s.posting().media[id]
	if !ok || !s.now().Before(m.expires) {
		return fail(40007, "invalid media_id")
	}
	return nil
}

func (s *Sim) apiUploadAttachment(r *http.Request, body []byte) (map[string]any, *apiError) {
	q := r.URL.Query()
	if at := q.Get("attachment_type"); at != "1" && at != "2" {
		return nil, fail(wecom.CodeInvalidParameter, "invalid attachment_type")
	}
	kind := q.Get("media_type")
	if kind != "image" && kind != "video" {
		return nil, fail(40004, "invalid media type: Moments take image or video")
	}
	return s.storeMedia(r, body, kind)
}

func (s *Sim) apiUploadMedia(r *http.Request, body []byte) (map[string]any, *apiError) {
	kind := r.URL.Query().Get("type")
	switch kind {
	case "image", "video", "file", "voice":
	default:
		return nil, fail(40004, "invalid media type")
	}
	return s.storeMedia(r, body, kind)
}

// storeMedia reads the multipart "media" field and issues a media_id.
func (s *Sim) storeMedia(r *http.Request, body []byte, kind string) (map[string]any, *apiError) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil, fail(44001, "empty media data")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var data []byte
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		if part.FormName() == "media" {
			data, _ = io.ReadAll(part)
			break
		}
	}
	limit := wecom.MaxMediaBytes
	if kind == "file" {
		limit = 20 << 20
	}
	switch {
	case len(data) < wecom.MinMediaBytes:
		return nil, fail(44001, "empty media data")
	case len(data) > limit:
		return nil, fail(40006, "invalid media size")
	}
	p := s.posting()
	id := p.nextID("simmedia_" + kind + "_")
	now := s.now()
	p.media[id] = mediaEntry{kind: kind, size: len(data), expires: now.Add(MediaTTL)}
	return map[string]any{"type": kind, "media_id": id, "created_at": strconv.FormatInt(now.Unix(), 10)}, nil
}

func formatUnix(t int64) string { return strconv.FormatInt(t, 10) }
