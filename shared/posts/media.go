package posts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/siyuhq/siyu/shared/wecom"
)

// An attachment's bytes at send time (stored chunks or a fetch of its URL) and upload.

// MediaError is media WeCom will never take (bad URL, size or type): the
// post fails with it.
type MediaError struct {
	Field string
	Msg   string
}

func (e *MediaError) Error() string { return e.Field + ": " + e.Msg }

// transientMedia is a media fetch or upload that may work later.
type transientMedia struct{ err error }

func (e *transientMedia) Error() string { return e.err.Error() }
func (e *transientMedia) Unwrap() error { return e.err }

func isMediaTransient(err error) bool {
	var t *transientMedia
	return errors.As(err, &t)
}

// media returns an attachment's bytes: stored chunks, or a fetch of its URL.
func (s *Service) media(ctx context.Context, p Post, i int, kind, rawURL string) (wecom.Media, error) {
	a := p.Attachments[i]
	field := fmt.Sprintf("attachments[%d]", i)
	m := wecom.Media{Type: kind, Filename: a.Filename}
	if rawURL == "" {
		data, err := s.loadMedia(ctx, p.ID, i, a)
		if err != nil {
			return m, &transientMedia{err}
		}
		m.Data = data
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return m, &MediaError{field, "bad URL: " + err.Error()}
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			return m, &transientMedia{fmt.Errorf("%s: fetch: %w", field, err)}
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return m, &transientMedia{fmt.Errorf("%s: fetch answered %s", field, resp.Status)}
		case resp.StatusCode != http.StatusOK:
			return m, &MediaError{field, "fetching " + rawURL + " answered " + resp.Status}
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, wecom.MaxMediaBytes+1))
		if err != nil {
			return m, &transientMedia{fmt.Errorf("%s: fetch: %w", field, err)}
		}
		m.Data = data
	}
	if err := checkBytes(field, kind, m.Data); err != nil {
		var fe *FieldError
		errors.As(err, &fe)
		return m, &MediaError{fe.Field, fe.Msg}
	}
	m.ContentType = sniff(m.Data)
	if m.Filename == "" {
		ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}[m.ContentType]
		m.Filename = fmt.Sprintf("%s-%d%s", p.ID, i, ext)
	}
	return m, nil
}

// upload sends media to WeCom; an upload refused for good is a MediaError.
func (s *Service) upload(ctx context.Context, m wecom.Media, up func(context.Context, wecom.Media) (wecom.UploadedMedia, error)) (string, error) {
	ans, err := up(ctx, m)
	var apiErr *wecom.APIError
	switch {
	case err == nil:
		return ans.MediaID, nil
	case errors.As(err, &apiErr) && !apiErr.Temporary():
		return "", &MediaError{"attachments", fmt.Sprintf("WeCom refused the upload: errcode %d: %s", apiErr.Code, apiErr.Msg)}
	}
	return "", &transientMedia{err}
}
