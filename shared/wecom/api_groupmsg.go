package wecom

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
)

// Group message (企业群发) chat types and limits (reference §4.7).
const (
	ChatTypeSingle         = "single"
	ChatTypeGroup          = "group"
	MaxGroupMsgTextBytes   = 4000
	MaxGroupMsgAttachments = 9
	MaxGroupMsgListLimit   = 100
	GroupMsgFilterCorp     = 0
	GroupMsgFilterPersonal = 1
	GroupMsgFilterAll      = 2
)

// MsgImage is a group message image: an uploaded media_id or a pic_url.
type MsgImage struct {
	MediaID string `json:"media_id,omitempty"`
	PicURL  string `json:"pic_url,omitempty"`
}

// MsgLink is a group message link card.
type MsgLink struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// MsgMiniProgram is a mini-program card; PicMediaID is its cover image.
type MsgMiniProgram struct {
	Title      string `json:"title"`
	PicMediaID string `json:"pic_media_id"`
	AppID      string `json:"appid"`
	Page       string `json:"page"`
}

// MsgAttachment is one attachment of add_msg_template and
// send_welcome_msg: MsgType is "image", "link", "miniprogram", "video" or
// "file" and the matching field is set.
type MsgAttachment struct {
	MsgType     string          `json:"msgtype"`
	Image       *MsgImage       `json:"image,omitempty"`
	Link        *MsgLink        `json:"link,omitempty"`
	MiniProgram *MsgMiniProgram `json:"miniprogram,omitempty"`
	Video       *MediaRef       `json:"video,omitempty"`
	File        *MediaRef       `json:"file,omitempty"`
}

// TagGroup is one AND-group of tag_filter.
type TagGroup struct {
	TagList []string `json:"tag_list"`
}

// TagFilter selects customers by enterprise tags.
type TagFilter struct {
	GroupList []TagGroup `json:"group_list"`
}

// MsgTemplate is add_msg_template's body.
type MsgTemplate struct {
	ChatType       string          `json:"chat_type,omitempty"`
	ExternalUserID []string        `json:"external_userid,omitempty"`
	ChatIDList     []string        `json:"chat_id_list,omitempty"`
	TagFilter      *TagFilter      `json:"tag_filter,omitempty"`
	Sender         string          `json:"sender,omitempty"`
	AllowSelect    bool            `json:"allow_select,omitempty"`
	Text           *Text           `json:"text,omitempty"`
	Attachments    []MsgAttachment `json:"attachments,omitempty"`
}

// MsgTemplateResult is add_msg_template's answer: FailList holds the
// customers it could not reach.
type MsgTemplateResult struct {
	MsgID    string   `json:"msgid"`
	FailList []string `json:"fail_list"`
}

// AddMsgTemplate creates a group message task (members confirm before it
// goes out). Never retried on a transport error: the task may exist.
func (c *Client) AddMsgTemplate(ctx context.Context, t MsgTemplate) (MsgTemplateResult, error) {
	var ans MsgTemplateResult
	err := c.call(ctx, request{op: "externalcontact/add_msg_template", method: http.MethodPost, body: t, out: &ans, paced: true})
	return ans, err
}

// GroupMsgListRequest filters get_groupmsg_list_v2 (window ≤ 1 month).
type GroupMsgListRequest struct {
	ChatType   string `json:"chat_type,omitempty"`
	StartTime  int64  `json:"start_time"`
	EndTime    int64  `json:"end_time"`
	Creator    string `json:"creator,omitempty"`
	FilterType int    `json:"filter_type"`
	Limit      int    `json:"limit,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
}

// GroupMsg is one row of get_groupmsg_list_v2.
type GroupMsg struct {
	MsgID       string          `json:"msgid"`
	Creator     string          `json:"creator,omitempty"`
	CreateTime  FlexInt         `json:"create_time"`
	CreateType  int             `json:"create_type"`
	Text        Text            `json:"text"`
	Attachments []MsgAttachment `json:"attachments,omitempty"`
}

// GroupMsgListPage is one page; NextCursor is empty on the last.
type GroupMsgListPage struct {
	Msgs       []GroupMsg `json:"group_msg_list"`
	NextCursor string     `json:"next_cursor"`
}

// GetGroupMsgListV2 lists group messages created in a window.
func (c *Client) GetGroupMsgListV2(ctx context.Context, req GroupMsgListRequest) (GroupMsgListPage, error) {
	var ans GroupMsgListPage
	err := c.read(ctx, "externalcontact/get_groupmsg_list_v2", req, &ans)
	return ans, err
}

// CancelGroupMsgSend stops an enterprise group message members have not
// sent yet.
func (c *Client) CancelGroupMsgSend(ctx context.Context, msgID string) error {
	return c.do(ctx, http.MethodPost, "externalcontact/cancel_groupmsg_send", nil, map[string]string{"msgid": msgID}, nil)
}

// FlexInt decodes a number WeCom sends either bare or quoted
// (get_groupmsg_list_v2's create_time is documented as a string).
type FlexInt int64

// UnmarshalJSON accepts 123 and "123".
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*n = FlexInt(v)
	return nil
}
