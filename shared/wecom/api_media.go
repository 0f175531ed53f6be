package wecom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
)

// Media limits (reference §4.6): images JPG/PNG and videos MP4 up to
// 10 MB, anything above 5 bytes. A media_id lives 3 days.
const (
	MaxMediaBytes = 10 << 20
	MinMediaBytes = 6
	// AttachmentMoments is upload_attachment's attachment_type for Moments.
	AttachmentMoments = 1
)

// UploadedMedia is an upload's answer.
type UploadedMedia struct {
	Type      string  `json:"type"`
	MediaID   string  `json:"media_id"`
	CreatedAt FlexInt `json:"created_at"`
}

// Media is a file to upload.
type Media struct {
	// Type is "image", "video" or "file".
	Type        string
	Filename    string
	ContentType string
	Data        []byte
}

// UploadAttachment uploads media for Moments (media/upload_attachment,
// attachment_type 1).
func (c *Client) UploadAttachment(ctx context.Context, m Media) (UploadedMedia, error) {
	q := url.Values{"media_type": {m.Type}, "attachment_type": {strconv.Itoa(AttachmentMoments)}}
	return c.upload(ctx, "media/upload_attachment", q, m)
}

// UploadMedia uploads temporary media (media/upload), the kind
// add_msg_template's image and video attachments take.
func (c *Client) UploadMedia(ctx context.Context, m Media) (UploadedMedia, error) {
	return c.upload(ctx, "media/upload", url.Values{"type": {m.Type}}, m)
}

// upload posts a multipart "media" field. The JSON helper does not fit a
// multipart body, so this follows call's token handling: 40014/42001
// refresh the token once and retry once; other errors surface.
func (c *Client) upload(ctx context.Context, op string, query url.Values, m Media) (UploadedMedia, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="media"; filename=%q; filelength=%d`, m.Filename, len(m.Data)))
	ct := m.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	part, err := mw.CreatePart(h)
	if err != nil {
		return UploadedMedia{}, fmt.Errorf("wecom %s: build form: %w", op, err)
	}
	_, _ = part.Write(m.Data)
	if err := mw.Close(); err != nil {
		return UploadedMedia{}, fmt.Errorf("wecom %s: build form: %w", op, err)
	}
	for try := 0; ; try++ {
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return UploadedMedia{}, fmt.Errorf("wecom %s: %w", op, err)
		}
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("access_token", tok)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/cgi-bin/"+op+"?"+q.Encode(), bytes.NewReader(buf.Bytes()))
		if err != nil {
			return UploadedMedia{}, fmt.Errorf("wecom %s: build request: %w", op, redactErr(err))
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := c.http.Do(req)
		if err != nil {
			return UploadedMedia{}, fmt.Errorf("wecom %s: %w", op, redactErr(err))
		}
		var ans struct {
			envelope
			UploadedMedia
		}
		derr := json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		switch {
		case resp.StatusCode != http.StatusOK:
			return UploadedMedia{}, fmt.Errorf("wecom %s: http status %d", op, resp.StatusCode)
		case derr != nil:
			return UploadedMedia{}, fmt.Errorf("wecom %s: decode answer: %w", op, derr)
		case ans.ErrCode == 0:
			return ans.UploadedMedia, nil
		case try == 0 && (ans.ErrCode == CodeInvalidToken || ans.ErrCode == CodeTokenExpired):
			if err := c.tokens.invalidate(ctx, tok); err != nil {
				return UploadedMedia{}, fmt.Errorf("wecom %s: %w", op, err)
			}
			continue
		}
		return UploadedMedia{}, &APIError{Op: op, Code: ans.ErrCode, Msg: ans.ErrMsg}
	}
}
