package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// Group robot limits: markdown content bytes, and messages per minute per
// robot (the caller paces; WeCom rejects the excess).
const (
	MaxRobotMarkdownBytes = 4096
	RobotPerMinute        = 20
)

// SendRobotMarkdown posts a markdown message through a group robot's
// webhook URL (…/cgi-bin/webhook/send?key=KEY). The key is a secret: it
// never appears in errors or logs.
func (c *Client) SendRobotMarkdown(ctx context.Context, webhookURL, content string) error {
	const op = "webhook/send"
	switch {
	case content == "":
		return fmt.Errorf("wecom %s: empty markdown", op)
	case len(content) > MaxRobotMarkdownBytes:
		return fmt.Errorf("wecom %s: markdown is %d bytes, at most %d", op, len(content), MaxRobotMarkdownBytes)
	case !utf8.ValidString(content):
		return fmt.Errorf("wecom %s: markdown is not UTF-8", op)
	}
	u, err := url.Parse(webhookURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("wecom %s: webhook URL %q is not an http(s) URL", op, RedactURL(webhookURL))
	}
	if u.Query().Get("key") == "" {
		return errors.New("wecom webhook/send: webhook URL has no key")
	}
	type markdown struct {
		Content string `json:"content"`
	}
	body := struct {
		MsgType  string   `json:"msgtype"`
		Markdown markdown `json:"markdown"`
	}{"markdown", markdown{content}}
	// Not idempotent: a lost answer must not post the report twice.
	return c.call(ctx, request{op: op, method: http.MethodPost, body: body, rawURL: webhookURL, paced: true})
}
