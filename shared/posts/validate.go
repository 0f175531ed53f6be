package posts

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Draft is what POST /api/posts takes.
type Draft struct {
	Kind            Kind         `json:"kind"`
	SendAt          string       `json:"send_at"`
	Text            string       `json:"text"`
	Attachments     []Attachment `json:"attachments"`
	VisibleRange    VisibleRange `json:"visible_range"`
	ChatType        string       `json:"chat_type"`
	Sender          string       `json:"sender"`
	ExternalUserIDs []string     `json:"external_userids"`
	ChatIDs         []string     `json:"chat_ids"`
	// IfFull is what to do when the cap is reached: "" refuses (409),
	// "next_free_slot" moves the post to the same time on the next day
	// with room.
	IfFull string `json:"if_full"`
	// PublicURL is the base of the post's tracked links (empty: the link
	// tracker's own). The API sets it; it is never read from the JSON.
	PublicURL string `json:"-"`
}

// IfFull values.
const (
	IfFullRefuse       = ""
	IfFullNextFreeSlot = "next_free_slot"
)

// MaxPastSendAt is how far in the past send_at may be; such a post goes
// out on the next tick.
const MaxPastSendAt = 24 * time.Hour

// validate checks d against WeCom's limits and returns the post it
// describes (without id and status).
func (d Draft) validate(now time.Time) (Post, error) {
	p := Post{Kind: d.Kind, Text: d.Text, VisibleRange: d.VisibleRange, ChatType: d.ChatType,
		Sender: d.Sender, ExternalUserIDs: d.ExternalUserIDs, ChatIDs: d.ChatIDs}
	switch d.Kind {
	case Moment, GroupMessage:
	case "":
		return p, fieldf("kind", "is required: moment or group_message")
	default:
		return p, fieldf("kind", "%q is not moment or group_message", d.Kind)
	}
	if d.SendAt == "" {
		return p, fieldf("send_at", "is required (RFC 3339, any offset)")
	}
	at, err := time.Parse(time.RFC3339, d.SendAt)
	if err != nil {
		return p, fieldf("send_at", "%q is not RFC 3339 (e.g. 2026-11-25T08:00:00+08:00)", d.SendAt)
	}
	if now.Sub(at) > MaxPastSendAt {
		return p, fieldf("send_at", "%s is more than 24 hours in the past", d.SendAt)
	}
	p.SendAt = at.UTC()
	switch d.IfFull {
	case IfFullRefuse, IfFullNextFreeSlot:
	default:
		return p, fieldf("if_full", "%q is not next_free_slot", d.IfFull)
	}
	if strings.TrimSpace(d.Text) == "" && len(d.Attachments) == 0 {
		return p, fieldf("text", "a post needs text or attachments")
	}
	if !utf8.ValidString(d.Text) {
		return p, fieldf("text", "is not valid UTF-8")
	}
	if d.Kind == Moment {
		if n := utf8.RuneCountInString(d.Text); n > wecom.MaxMomentTextChars || len(d.Text) > wecom.MaxMomentTextBytes {
			return p, fieldf("text", "is %d characters / %d bytes; a Moment takes at most %d characters and %d bytes",
				n, len(d.Text), wecom.MaxMomentTextChars, wecom.MaxMomentTextBytes)
		}
	} else if len(d.Text) > wecom.MaxGroupMsgTextBytes {
		return p, fieldf("text", "is %d bytes; a group message takes at most %d", len(d.Text), wecom.MaxGroupMsgTextBytes)
	}
	if err := validateAttachments(d.Kind, d.Attachments); err != nil {
		return p, err
	}
	p.Attachments = d.Attachments
	if d.Kind == Moment {
		if d.ChatType != "" || d.Sender != "" || len(d.ExternalUserIDs) > 0 || len(d.ChatIDs) > 0 {
			return p, fieldf("chat_type", "chat_type, sender, external_userids and chat_ids are for group messages; a Moment uses visible_range")
		}
		return p, nil
	}
	switch p.ChatType {
	case "":
		p.ChatType = wecom.ChatTypeSingle
	case wecom.ChatTypeSingle, wecom.ChatTypeGroup:
	default:
		return p, fieldf("chat_type", "%q is not single or group", d.ChatType)
	}
	if len(d.VisibleRange.Departments) > 0 {
		return p, fieldf("visible_range.departments", "a group message is sent by one member; name it in sender or visible_range.members")
	}
	switch ms := d.VisibleRange.Members; {
	case len(ms) > 1:
		return p, fieldf("visible_range.members", "a group message has one sender; create one post per member")
	case len(ms) == 1 && p.Sender == "":
		p.Sender = ms[0]
	case len(ms) == 1 && p.Sender != ms[0]:
		return p, fieldf("sender", "%q differs from visible_range.members", p.Sender)
	}
	p.VisibleRange.Members = nil
	if p.Sender != "" {
		p.VisibleRange.Members = []string{p.Sender}
	}
	if p.ChatType == wecom.ChatTypeGroup && p.Sender == "" {
		return p, fieldf("sender", "is required for chat_type group")
	}
	if p.ChatType == wecom.ChatTypeGroup && len(p.ExternalUserIDs) > 0 {
		return p, fieldf("external_userids", "is for chat_type single")
	}
	if p.ChatType == wecom.ChatTypeSingle && len(p.ChatIDs) > 0 {
		return p, fieldf("chat_ids", "is for chat_type group")
	}
	return p, nil
}

func validateAttachments(kind Kind, atts []Attachment) error {
	count := map[string]int{}
	for i, a := range atts {
		f := fmt.Sprintf("attachments[%d]", i)
		count[a.Type]++
		switch a.Type {
		case Image, Video:
			if err := validateMedia(f, a); err != nil {
				return err
			}
		case Link:
			if err := checkURL(f+".url", a.URL); err != nil {
				return err
			}
			if len(a.Data) > 0 {
				return fieldf(f+".data", "a link takes a cover_url, not data")
			}
			if len(a.Title) > wecom.MaxLinkTitleBytes {
				return fieldf(f+".title", "is %d bytes; at most %d", len(a.Title), wecom.MaxLinkTitleBytes)
			}
			if a.CoverURL != "" {
				if err := checkURL(f+".cover_url", a.CoverURL); err != nil {
					return err
				}
			} else if kind == Moment {
				return fieldf(f+".cover_url", "a Moment link needs a cover image URL")
			}
			if kind == GroupMessage && a.Title == "" {
				return fieldf(f+".title", "a group message link needs a title")
			}
		case "":
			return fieldf(f+".type", "is required: image, video or link")
		default:
			return fieldf(f+".type", "%q is not image, video or link", a.Type)
		}
	}
	if kind == GroupMessage {
		if len(atts) > wecom.MaxGroupMsgAttachments {
			return fieldf("attachments", "has %d items; a group message takes at most %d", len(atts), wecom.MaxGroupMsgAttachments)
		}
		return nil
	}
	switch {
	case len(count) > 1:
		return fieldf("attachments", "a Moment takes up to 9 images, or 1 video, or 1 link, not a mix")
	case count[Image] > wecom.MaxMomentImages:
		return fieldf("attachments", "has %d images; at most %d", count[Image], wecom.MaxMomentImages)
	case count[Video] > 1:
		return fieldf("attachments", "a Moment takes one video")
	case count[Link] > 1:
		return fieldf("attachments", "a Moment takes one link")
	}
	return nil
}

func validateMedia(f string, a Attachment) error {
	switch {
	case a.URL != "" && len(a.Data) > 0:
		return fieldf(f, "give url or data, not both")
	case a.URL != "":
		return checkURL(f+".url", a.URL)
	case len(a.Data) == 0:
		return fieldf(f+".url", "an %s needs a url or base64 data", a.Type)
	}
	return checkBytes(f+".data", a.Type, a.Data)
}

// checkBytes enforces WeCom's media limits: JPG/PNG images and MP4 videos,
// more than 5 bytes, at most 10 MB.
func checkBytes(field, kind string, data []byte) error {
	if len(data) > wecom.MaxMediaBytes {
		return fieldf(field, "is %d bytes; media may be at most 10 MB", len(data))
	}
	if len(data) < wecom.MinMediaBytes {
		return fieldf(field, "is %d bytes; media must be larger than 5 bytes", len(data))
	}
	ct := sniff(data)
	switch {
	case kind == Image && ct != "image/jpeg" && ct != "image/png":
		return fieldf(field, "is %s; images must be JPG or PNG", ct)
	case kind == Video && ct != "video/mp4":
		return fieldf(field, "is %s; videos must be MP4", ct)
	}
	return nil
}

// sniff names the content type of media bytes.
func sniff(data []byte) string {
	ct := http.DetectContentType(data)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return ct
}

func checkURL(field, raw string) error {
	if raw == "" {
		return fieldf(field, "is required")
	}
	if err := CheckURL(raw); err != nil {
		return fieldf(field, "%v", err)
	}
	return nil
}

// CheckURL accepts only absolute http and https URLs with a host, without
// user info, spaces or backslashes. It is the one rule for every URL a post
// carries: a media URL is fetched with it, and a link becomes the target of
// a tracked redirect (the tracker checks with this same rule), so a URL it
// refuses is refused when the post is created, before anything is stored.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q is not an http or https URL", raw)
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("%q must be absolute, with a host and no user info", raw)
	case strings.ContainsAny(raw, "\r\n\t \\"):
		return fmt.Errorf("%q has spaces or backslashes", raw)
	}
	return nil
}
