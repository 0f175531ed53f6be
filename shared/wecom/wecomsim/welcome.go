package wecomsim

import (
	"encoding/json"
	"net/http"

	"github.com/siyuhq/siyu/shared/wecom"
)

// PathSendWelcomeMsg is send_welcome_msg.
const PathSendWelcomeMsg = "/cgi-bin/externalcontact/send_welcome_msg"

func init() {
	routes[PathSendWelcomeMsg] = route{http.MethodPost, (*Sim).apiSendWelcomeMsg}
}

// apiSendWelcomeMsg delivers a welcome once per code, within
// wecom.WelcomeCodeTTL of the add event on the simulator's clock: a code
// unknown or too old is 41050, one already used 41051. A request refused
// for its content leaves the code unused.
func (s *Sim) apiSendWelcomeMsg(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.WelcomeMsg
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if req.WelcomeCode == "" {
		return nil, fail(wecom.CodeMissingWelcomeCode, "missing welcome_code")
	}
	wc, ok := s.touch().codes[req.WelcomeCode]
	switch {
	case !ok:
		return nil, fail(wecom.CodeInvalidWelcomeCode, "invalid welcome_code")
	case wc.used:
		return nil, fail(wecom.CodeWelcomeNotAllowed, "welcome_code already used")
	case s.now().Sub(wc.issued) > wecom.WelcomeCodeTTL:
		return nil, fail(wecom.CodeInvalidWelcomeCode, "invalid welcome_code: use it within 20 seconds of the add")
	}
	text := ""
	if req.Text != nil {
		text = req.Text.Content
	}
	// Codes for empty or oversized text are not documented: 40058 assumed.
	switch {
	case text == "" && len(req.Attachments) == 0:
		return nil, fail(wecom.CodeInvalidParameter, "text and attachments are both empty")
	case len(text) > wecom.MaxWelcomeTextBytes:
		return nil, fail(wecom.CodeInvalidParameter, "text.content exceed max length %d bytes", wecom.MaxWelcomeTextBytes)
	case len(req.Attachments) > wecom.MaxWelcomeAttachments:
		return nil, fail(wecom.CodeTooManyAttachments, "attachments count exceed limit")
	}
	for _, a := range req.Attachments {
		if e := s.checkWelcomeAttachment(a); e != nil {
			return nil, e
		}
	}
	wc.used = true
	t := s.touch()
	t.welcomes = append(t.welcomes, Welcome{Code: req.WelcomeCode, Member: wc.member, Customer: wc.customer,
		Text: text, Attachments: req.Attachments, At: s.now()})
	return map[string]any{}, nil
}

func (s *Sim) checkWelcomeAttachment(a wecom.MsgAttachment) *apiError {
	switch {
	case a.MsgType == "image" && a.Image != nil:
		if a.Image.PicURL != "" {
			return nil
		}
		return s.checkMedia(a.Image.MediaID)
	case a.MsgType == "link" && a.Link != nil:
		if a.Link.Title == "" || a.Link.URL == "" || len(a.Link.Title) > wecom.MaxWelcomeLinkTitle || len(a.Link.Desc) > wecom.MaxWelcomeLinkDesc {
			return fail(wecom.CodeInvalidParameter, "invalid link: title 1..%d bytes, desc ≤ %d bytes, url required", wecom.MaxWelcomeLinkTitle, wecom.MaxWelcomeLinkDesc)
		}
		return nil
	case a.MsgType == "miniprogram" && a.MiniProgram != nil:
		mp := a.MiniProgram
		if mp.Title == "" || len(mp.Title) > wecom.MaxMiniProgramTitle || mp.AppID == "" || mp.Page == "" {
			return fail(wecom.CodeInvalidParameter, "invalid miniprogram: title 1..%d bytes, appid and page required", wecom.MaxMiniProgramTitle)
		}
		return s.checkMedia(mp.PicMediaID)
	case a.MsgType == "video" && a.Video != nil:
		return s.checkMedia(a.Video.MediaID)
	case a.MsgType == "file" && a.File != nil:
		return s.checkMedia(a.File.MediaID)
	}
	return fail(wecom.CodeBadAttachmentType, "invalid attachments msgtype")
}
