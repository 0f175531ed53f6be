package channels

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// FieldError is input the caller must fix, naming the field
// ("welcome.attachments[2].url"). It answers 400.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// BadRequest is the message of the 400 answer.
func (e *FieldError) BadRequest() string { return e.Error() }

func bad(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Limits of what Siyu stores beside WeCom's.
const (
	MaxNameChars     = 64  // a channel's name
	MaxRemarkChars   = 30  // WeCom's bound on a contact way's remark
	MaxTags          = 100 // tags a channel applies
	MaxAdmins        = 100 // 删人提醒 admins
	MaxThreshold     = 1000
	MaxWindowMinutes = 1440
	maxIDChars       = 64 // a userid or tag id
)

// ValidateWelcome checks a welcome against WeCom's limits; field prefixes
// the names in its errors ("welcome", "default_welcome"). A nil welcome is
// valid (none).
func ValidateWelcome(field string, w *Welcome) error {
	if w == nil {
		return nil
	}
	if n := len(w.Text); n > MaxWelcomeText {
		return bad(field+".text", "%d bytes, at most %d", n, MaxWelcomeText)
	}
	if !utf8.ValidString(w.Text) {
		return bad(field+".text", "is not UTF-8")
	}
	if n := len(w.Attachments); n > MaxAttachments {
		return bad(field+".attachments", "%d attachments, at most %d", n, MaxAttachments)
	}
	for i, a := range w.Attachments {
		if err := validateAttachment(fmt.Sprintf("%s.attachments[%d]", field, i), a); err != nil {
			return err
		}
	}
	return nil
}

func validateAttachment(field string, a Attachment) error {
	checkURL := func(name, u string) error {
		if u == "" {
			return nil
		}
		return httpURL(field+"."+name, u)
	}
	for _, f := range [][2]string{{"url", a.URL}, {"pic_url", a.PicURL}} {
		if err := checkURL(f[0], f[1]); err != nil {
			return err
		}
	}
	switch a.Type {
	case "image", "video", "file":
		if a.URL == "" && a.MediaID == "" {
			return bad(field+".url", "a %s needs url or media_id", a.Type)
		}
	case "link":
		if a.URL == "" {
			return bad(field+".url", "a link needs its url")
		}
		if strings.TrimSpace(a.Title) == "" {
			return bad(field+".title", "a link needs a title")
		}
	case "miniprogram":
		switch {
		case strings.TrimSpace(a.Title) == "":
			return bad(field+".title", "a miniprogram needs a title")
		case a.AppID == "":
			return bad(field+".appid", "a miniprogram needs its appid")
		case a.Page == "":
			return bad(field+".page", "a miniprogram needs its page")
		case a.URL == "" && a.MediaID == "":
			return bad(field+".url", "a miniprogram needs a cover: url or media_id")
		}
	case "":
		return bad(field+".type", "is required: image, link, miniprogram, video or file")
	default:
		return bad(field+".type", "%q is not image, link, miniprogram, video or file", a.Type)
	}
	return nil
}

// httpURL accepts an absolute http(s) URL with a host.
func httpURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad(field, "%q is not an http(s) URL", s)
	}
	if u.User != nil {
		return bad(field, "a URL with credentials is refused")
	}
	return nil
}

// stateOK: a state is what an add event carries back and what a QR code or
// link URL embeds, so it keeps to URL-safe characters.
func stateOK(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// Report languages the settings accept.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// ValidateSettings checks the whole settings object a PUT replaces.
func ValidateSettings(s Settings) error {
	if err := ValidateWelcome("default_welcome", s.DefaultWelcome); err != nil {
		return err
	}
	d := s.DeletionAlert
	if d.Threshold < 1 || d.Threshold > MaxThreshold {
		return bad("deletion_alert.threshold", "%d is not within 1..%d", d.Threshold, MaxThreshold)
	}
	if d.WindowMinutes < 1 || d.WindowMinutes > MaxWindowMinutes {
		return bad("deletion_alert.window_minutes", "%d is not within 1..%d", d.WindowMinutes, MaxWindowMinutes)
	}
	if len(d.Admins) > MaxAdmins {
		return bad("deletion_alert.admins", "%d admins, at most %d", len(d.Admins), MaxAdmins)
	}
	for i, a := range d.Admins {
		if err := idOK(fmt.Sprintf("deletion_alert.admins[%d]", i), a); err != nil {
			return err
		}
	}
	switch s.ReportLang {
	case "", LangZH, LangEN:
	default:
		return bad("report_lang", "%q is not \"\", %q or %q", s.ReportLang, LangZH, LangEN)
	}
	return nil
}

// idOK checks a WeCom id (userid, tag id): non-empty, short, no spaces.
func idOK(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return bad(field, "is empty")
	}
	if utf8.RuneCountInString(id) > maxIDChars || strings.ContainsAny(id, " \t\r\n") {
		return bad(field, "%q is not a WeCom id", id)
	}
	return nil
}
