package firsttouch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Fetching attachments given by URL.
const (
	fetchTimeout  = 10 * time.Second
	maxFileBytes  = 20 << 20 // WeCom's file limit; images and videos take 10 MB
	mediaLifetime = 72 * time.Hour
	// mediaMargin ends a cached media_id's use well before WeCom forgets
	// it: an id read from the cache is sent within the welcome's 20 s.
	mediaMargin = time.Hour
)

// Prepare uploads the media of w given by URL now, so the first customer's
// welcome does not spend its 20 s fetching them (call it when a channel's
// or the default welcome is saved). A cached upload is reused.
func (s *Service) Prepare(ctx context.Context, w *channels.Welcome) error {
	if w.Empty() {
		return nil
	}
	if s.WeCom == nil {
		return errNoWeCom
	}
	var errs []error
	for i, a := range w.Attachments {
		if _, err := s.attachment(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("attachments[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// attachments maps a welcome's attachments to WeCom's shapes, uploading
// media given by URL once (media/upload: send_welcome_msg takes temporary
// media, not upload_attachment's). One that cannot be prepared is left out
// and counted; the rest still go.
func (s *Service) attachments(ctx context.Context, in []channels.Attachment) ([]wecom.MsgAttachment, int) {
	var out []wecom.MsgAttachment
	skipped := 0
	for _, a := range in {
		if len(out) == wecom.MaxWelcomeAttachments {
			skipped++
			continue
		}
		m, err := s.attachment(ctx, a)
		if err != nil {
			skipped++
			s.Logger.LogAttrs(ctx, slog.LevelWarn, "welcome attachment left out", slog.String("type", a.Type), slog.String("err", err.Error()))
			continue
		}
		out = append(out, m)
	}
	return out, skipped
}

func (s *Service) attachment(ctx context.Context, a channels.Attachment) (wecom.MsgAttachment, error) {
	switch a.Type {
	case "image":
		id, err := s.mediaID(ctx, "image", a.MediaID, a.URL)
		return wecom.MsgAttachment{MsgType: "image", Image: &wecom.MsgImage{MediaID: id}}, err
	case "video", "file":
		id, err := s.mediaID(ctx, a.Type, a.MediaID, a.URL)
		ref := &wecom.MediaRef{MediaID: id}
		if a.Type == "video" {
			return wecom.MsgAttachment{MsgType: "video", Video: ref}, err
		}
		return wecom.MsgAttachment{MsgType: "file", File: ref}, err
	case "link":
		if a.Title == "" || a.URL == "" {
			return wecom.MsgAttachment{}, errors.New("a link needs title and url")
		}
		return wecom.MsgAttachment{MsgType: "link", Link: &wecom.MsgLink{Title: a.Title, PicURL: a.PicURL, Desc: a.Desc, URL: a.URL}}, nil
	case "miniprogram":
		// The cover is the attachment's media or, by URL, its pic_url.
		cover := a.URL
		if cover == "" {
			cover = a.PicURL
		}
		id, err := s.mediaID(ctx, "image", a.MediaID, cover)
		return wecom.MsgAttachment{MsgType: "miniprogram", MiniProgram: &wecom.MsgMiniProgram{Title: a.Title, PicMediaID: id, AppID: a.AppID, Page: a.Page}}, err
	}
	return wecom.MsgAttachment{}, fmt.Errorf("unknown attachment type %q", a.Type)
}

// mediaID is id when given, else the cached upload of the content at
// rawURL, uploading it when the cache has none.
func (s *Service) mediaID(ctx context.Context, kind, id, rawURL string) (string, error) {
	if id != "" {
		return id, nil
	}
	if rawURL == "" {
		return "", fmt.Errorf("a %s needs media_id or url", kind)
	}
	pk := mediaPK(kind, rawURL)
	if it, err := s.Store.Get(ctx, pk, "id"); err == nil {
		return string(it.Data), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read media cache: %w", err)
	}
	data, ctype, err := s.fetch(ctx, kind, rawURL)
	if err != nil {
		return "", err
	}
	up, err := s.WeCom.UploadMedia(ctx, wecom.Media{Type: kind, Filename: filename(rawURL, kind), ContentType: ctype, Data: data})
	if err != nil {
		return "", err
	}
	born := s.Now()
	if t := int64(up.CreatedAt); t > 0 && time.Unix(t, 0).Before(born) {
		born = time.Unix(t, 0)
	}
	exp := born.Add(mediaLifetime - mediaMargin)
	if _, err := s.Store.Put(ctx, store.Item{PK: pk, SK: "id", Data: []byte(up.MediaID), ExpiresAt: exp}, store.Always); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "media_id not cached", slog.String("err", err.Error()))
	}
	return up.MediaID, nil
}

// mediaPK keys the cache by kind and URL, hashed to keep keys short.
func mediaPK(kind, rawURL string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + rawURL))
	return "media#" + hex.EncodeToString(sum[:16])
}

// fetch reads the content at rawURL: http(s) only, bounded in size and
// time.
func (s *Service) fetch(ctx context.Context, kind, rawURL string) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("attachment url must be http(s)")
	}
	limit := int64(wecom.MaxMediaBytes)
	if kind == "file" {
		limit = maxFileBytes
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s attachment: %w", kind, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("fetch %s attachment: http status %d", kind, resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return nil, "", fmt.Errorf("fetch %s attachment: %d bytes exceed %d", kind, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s attachment: %w", kind, err)
	}
	if int64(len(data)) > limit {
		return nil, "", fmt.Errorf("fetch %s attachment: more than %d bytes", kind, limit)
	}
	return data, resp.Header.Get("Content-Type"), nil
}

func filename(rawURL, kind string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if base := path.Base(u.Path); base != "" && base != "/" && base != "." {
			return base
		}
	}
	return kind
}
