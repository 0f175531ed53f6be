package wecom

import (
	"context"
	"net/http"
	"strings"
)

// Application message (message/send) types, limits and codes.
const (
	AppMsgText     = "text"
	AppMsgTextCard = "textcard"
	AppMsgMarkdown = "markdown"

	MaxAppTextBytes     = 2048 // text and markdown content; WeCom cuts longer text
	MaxTextCardTitle    = 128  // bytes
	MaxTextCardDesc     = 512  // bytes
	MaxAppMsgRecipients = 1000

	CodeInvalidAgentID = 40056
	// CodeNoValidRecipient is 81013: every user, department and tag given
	// is unknown or outside the app's visible range.
	CodeNoValidRecipient = 81013
	// CodeAppNotPermitted is 301002: the token's app is not agentid.
	CodeAppNotPermitted = 301002
)

// TextCard is a text card: a title, a description and a link.
type TextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

// AppMessage is a message an application sends to members (a churn alert
// to the member who lost a customer). MsgType picks Text, TextCard or
// Markdown (Markdown holds its source in Content).
type AppMessage struct {
	AgentID  int
	ToUser   []string
	ToParty  []string
	MsgType  string
	Text     *Text
	TextCard *TextCard
	Markdown *Text
}

// AppMessageResult names the recipients WeCom could not reach; the others
// got the message.
type AppMessageResult struct {
	InvalidUser  []string
	InvalidParty []string
	MsgID        string
}

// SendAppMessage sends an application message. Never retried on a
// transport error: members would get it twice.
func (c *Client) SendAppMessage(ctx context.Context, m AppMessage) (AppMessageResult, error) {
	body := struct {
		ToUser   string    `json:"touser,omitempty"`
		ToParty  string    `json:"toparty,omitempty"`
		MsgType  string    `json:"msgtype"`
		AgentID  int       `json:"agentid"`
		Text     *Text     `json:"text,omitempty"`
		TextCard *TextCard `json:"textcard,omitempty"`
		Markdown *Text     `json:"markdown,omitempty"`
	}{strings.Join(m.ToUser, "|"), strings.Join(m.ToParty, "|"), m.MsgType, m.AgentID, m.Text, m.TextCard, m.Markdown}
	var ans struct {
		InvalidUser  string `json:"invaliduser"`
		InvalidParty string `json:"invalidparty"`
		MsgID        string `json:"msgid"`
	}
	if err := c.call(ctx, request{op: "message/send", method: http.MethodPost, body: body, out: &ans}); err != nil {
		return AppMessageResult{}, err
	}
	return AppMessageResult{InvalidUser: splitBar(ans.InvalidUser), InvalidParty: splitBar(ans.InvalidParty), MsgID: ans.MsgID}, nil
}

// splitBar splits WeCom's "a|b" lists; "" is none.
func splitBar(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
