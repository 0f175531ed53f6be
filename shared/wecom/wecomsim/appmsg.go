package wecomsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// PathMessageSend is the application message API.
const PathMessageSend = "/cgi-bin/message/send"

func init() {
	routes[PathMessageSend] = route{http.MethodPost, (*Sim).apiMessageSend}
}

// Application message codes from the global error code page.
const (
	codeMissingAgentID   = 41011
	codeInvalidMsgType   = 40008
	codeMissingTitle     = 41016
	codeMissingDesc      = 41033
	codeEmptyContent     = 44004
	codeNoRecipientGiven = 40035
)

// apiMessageSend delivers to the members it knows and names the others in
// invaliduser/invalidparty, as WeCom does; when nobody is left it answers
// 81013. Text longer than 2048 bytes is cut, not refused.
func (s *Sim) apiMessageSend(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		ToUser   string          `json:"touser"`
		ToParty  string          `json:"toparty"`
		MsgType  string          `json:"msgtype"`
		AgentID  int             `json:"agentid"`
		Text     *wecom.Text     `json:"text"`
		TextCard *wecom.TextCard `json:"textcard"`
		Markdown *wecom.Text     `json:"markdown"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	switch {
	case req.AgentID == 0:
		return nil, fail(codeMissingAgentID, "missing agentid")
	case req.AgentID != s.opts.AgentID:
		return nil, fail(wecom.CodeAppNotPermitted, "no privilege to access/modify contact/party/agent")
	case req.ToUser == "" && req.ToParty == "":
		return nil, fail(codeNoRecipientGiven, "touser and toparty are both empty")
	}
	msg := AppMessage{AgentID: req.AgentID, MsgType: req.MsgType}
	switch req.MsgType {
	case wecom.AppMsgText, wecom.AppMsgMarkdown:
		c := req.Text
		if req.MsgType == wecom.AppMsgMarkdown {
			c = req.Markdown
		}
		if c == nil || c.Content == "" {
			return nil, fail(codeEmptyContent, "empty content")
		}
		msg.Content = cutBytes(c.Content, wecom.MaxAppTextBytes)
	case wecom.AppMsgTextCard:
		tc := req.TextCard
		switch {
		case tc == nil || tc.Title == "":
			return nil, fail(codeMissingTitle, "missing title")
		case tc.Description == "":
			return nil, fail(codeMissingDesc, "missing description")
		case tc.URL == "":
			return nil, fail(wecom.CodeInvalidParameter, "missing url")
		}
		card := *tc
		card.Title = cutBytes(card.Title, wecom.MaxTextCardTitle)
		card.Description = cutBytes(card.Description, wecom.MaxTextCardDesc)
		msg.TextCard = &card
	default:
		return nil, fail(codeInvalidMsgType, "invalid message type %q", req.MsgType)
	}
	var invalidUser, invalidParty []string
	if req.ToUser == "@all" {
		msg.ToUser = slices.Clone(s.st.memberOrder)
	} else {
		for _, u := range splitBar(req.ToUser) {
			if _, ok := s.st.members[u]; ok {
				if !slices.Contains(msg.ToUser, u) {
					msg.ToUser = append(msg.ToUser, u)
				}
			} else {
				invalidUser = append(invalidUser, u)
			}
		}
		for _, p := range splitBar(req.ToParty) {
			d, err := strconv.Atoi(p)
			users, e := s.expandUsers(nil, []int{d})
			if err != nil || e != nil {
				invalidParty = append(invalidParty, p)
				continue
			}
			for _, u := range users {
				if !slices.Contains(msg.ToUser, u) {
					msg.ToUser = append(msg.ToUser, u)
				}
			}
		}
	}
	if len(msg.ToUser) == 0 {
		return nil, fail(wecom.CodeNoValidRecipient, "all touser, toparty and totag invalid")
	}
	t := s.touch()
	msg.MsgID = t.nextID("simappmsg")
	msg.At = s.now()
	t.appMsgs = append(t.appMsgs, msg)
	return map[string]any{"invaliduser": strings.Join(invalidUser, "|"), "invalidparty": strings.Join(invalidParty, "|"),
		"invalidtag": "", "msgid": msg.MsgID}, nil
}

func splitBar(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// cutBytes cuts s to at most n bytes on a character boundary, as WeCom
// truncates over-long text.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
