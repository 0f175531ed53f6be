package wecom

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// send_welcome_msg limits (reference §4.3): a welcome_code is good once,
// within WelcomeCodeTTL of its add event.
const (
	WelcomeCodeTTL        = 20 * time.Second
	MaxWelcomeTextBytes   = 4000
	MaxWelcomeAttachments = 9
	MaxWelcomeLinkTitle   = 128 // bytes
	MaxWelcomeLinkDesc    = 512 // bytes
	MaxMiniProgramTitle   = 64  // bytes
)

// Welcome message error codes (reference §5).
const (
	CodeMissingWelcomeCode = 41049
	// CodeInvalidWelcomeCode is an unknown code or one used after its 20 s.
	CodeInvalidWelcomeCode = 41050
	// CodeWelcomeNotAllowed is a code already used (by this or another
	// app), or a customer already chatting with the member.
	CodeWelcomeNotAllowed  = 41051
	CodeTooManyAttachments = 41064
	CodeBadAttachmentType  = 41065
)

// WelcomeMsg is send_welcome_msg's body. Text arrives as it is: the caller
// substitutes the customer's name. Text and each attachment reach the
// customer as separate messages.
type WelcomeMsg struct {
	WelcomeCode string          `json:"welcome_code"`
	Text        *Text           `json:"text,omitempty"`
	Attachments []MsgAttachment `json:"attachments,omitempty"`
}

// SendWelcomeMsg greets a customer who just arrived. Never retried on a
// transport error: the code is single-use, and a welcome that went out
// must not go twice. 41050/41051 mean the moment has passed.
func (c *Client) SendWelcomeMsg(ctx context.Context, m WelcomeMsg) error {
	if m.WelcomeCode == "" {
		return errors.New("wecom externalcontact/send_welcome_msg: welcome_code is required")
	}
	return c.call(ctx, request{op: "externalcontact/send_welcome_msg", method: http.MethodPost, body: m})
}
