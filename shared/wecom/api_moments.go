package wecom

import (
	"context"
	"net/http"
	"net/url"
)

// Enterprise Moments limits (reference §4.6).
const (
	// MomentTasksPerMinute is add_moment_task's documented per-corp rate.
	MomentTasksPerMinute = 10
	MaxMomentTextBytes   = 4000
	MaxMomentTextChars   = 2000
	MaxMomentImages      = 9
	MaxLinkTitleBytes    = 64
	// MaxMomentListLimit is get_moment_list's page size cap.
	MaxMomentListLimit = 20
)

// Moment task job states of get_moment_task_result.
const (
	MomentTaskStarted  = 1
	MomentTaskRunning  = 2
	MomentTaskFinished = 3
)

// get_moment_list filter types.
const (
	MomentFilterCorp     = 0 // 企业发表
	MomentFilterPersonal = 1 // 个人发表
	MomentFilterAll      = 2
)

// Text is a text part ({"content": …}).
type Text struct {
	Content string `json:"content"`
}

// MediaRef names uploaded media.
type MediaRef struct {
	MediaID string `json:"media_id"`
}

// MomentLink is a Moment's link attachment; MediaID is its cover image.
type MomentLink struct {
	Title   string `json:"title,omitempty"`
	URL     string `json:"url"`
	MediaID string `json:"media_id"`
}

// MomentAttachment is one attachment of add_moment_task: MsgType is
// "image", "video" or "link" and the matching field is set.
type MomentAttachment struct {
	MsgType string      `json:"msgtype"`
	Image   *MediaRef   `json:"image,omitempty"`
	Video   *MediaRef   `json:"video,omitempty"`
	Link    *MomentLink `json:"link,omitempty"`
}

// MomentSenders are the members who publish a Moment.
type MomentSenders struct {
	UserList       []string `json:"user_list,omitempty"`
	DepartmentList []int    `json:"department_list,omitempty"`
}

// MomentTags narrows a Moment to customers carrying enterprise tags.
type MomentTags struct {
	TagList []string `json:"tag_list,omitempty"`
}

// MomentVisibleRange is who publishes and who sees. Nil parts mean all
// members in the app's visibility / all their customers.
type MomentVisibleRange struct {
	SenderList          *MomentSenders `json:"sender_list,omitempty"`
	ExternalContactList *MomentTags    `json:"external_contact_list,omitempty"`
}

// MomentTask is add_moment_task's body.
type MomentTask struct {
	Text         *Text               `json:"text,omitempty"`
	Attachments  []MomentAttachment  `json:"attachments,omitempty"`
	VisibleRange *MomentVisibleRange `json:"visible_range,omitempty"`
}

// AddMomentTask creates an enterprise Moment asynchronously and returns the
// job id. It is never retried on a transport error (the task may exist) and
// answers 45009 at once: the caller paces it (MomentTasksPerMinute).
func (c *Client) AddMomentTask(ctx context.Context, t MomentTask) (string, error) {
	var ans struct {
		JobID string `json:"jobid"`
	}
	err := c.call(ctx, request{op: "externalcontact/add_moment_task", method: http.MethodPost, body: t, out: &ans, paced: true})
	return ans.JobID, err
}

// MomentTaskOutcome is the result part of a finished moment task.
type MomentTaskOutcome struct {
	ErrCode                    int           `json:"errcode"`
	ErrMsg                     string        `json:"errmsg"`
	MomentID                   string        `json:"moment_id"`
	InvalidSenderList          MomentSenders `json:"invalid_sender_list"`
	InvalidExternalContactList MomentTags    `json:"invalid_external_contact_list"`
}

// MomentTaskResult is get_moment_task_result's answer. Result is valid only
// when Status is MomentTaskFinished.
type MomentTaskResult struct {
	Status int               `json:"status"`
	Type   string            `json:"type"`
	Result MomentTaskOutcome `json:"result"`
}

// GetMomentTaskResult reads the state of an add_moment_task job.
func (c *Client) GetMomentTaskResult(ctx context.Context, jobID string) (MomentTaskResult, error) {
	var ans MomentTaskResult
	err := c.do(ctx, http.MethodGet, "externalcontact/get_moment_task_result", url.Values{"jobid": {jobID}}, nil, &ans)
	return ans, err
}

// CancelMomentTask stops an enterprise Moment members have not published
// yet; what is already on customers' feeds stays.
func (c *Client) CancelMomentTask(ctx context.Context, momentID string) error {
	return c.do(ctx, http.MethodPost, "externalcontact/cancel_moment_task", nil, map[string]string{"moment_id": momentID}, nil)
}

// MomentListRequest filters get_moment_list (window ≤ 30 days).
type MomentListRequest struct {
	StartTime  int64  `json:"start_time"`
	EndTime    int64  `json:"end_time"`
	Creator    string `json:"creator,omitempty"`
	FilterType int    `json:"filter_type"`
	Cursor     string `json:"cursor,omitempty"`
	Limit      int    `json:"limit,omitempty"`
}

// MomentLinkInfo is a listed Moment's link.
type MomentLinkInfo struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Moment is one row of get_moment_list.
type Moment struct {
	MomentID    string          `json:"moment_id"`
	Creator     string          `json:"creator,omitempty"`
	CreateTime  int64           `json:"create_time"`
	CreateType  int             `json:"create_type"`
	VisibleType int             `json:"visible_type"`
	Text        Text            `json:"text"`
	Image       []MediaRef      `json:"image,omitempty"`
	Video       *MediaRef       `json:"video,omitempty"`
	Link        *MomentLinkInfo `json:"link,omitempty"`
}

// MomentListPage is one page; NextCursor is empty on the last.
type MomentListPage struct {
	Moments    []Moment `json:"moment_list"`
	NextCursor string   `json:"next_cursor"`
}

// GetMomentList lists Moments created in a window.
func (c *Client) GetMomentList(ctx context.Context, req MomentListRequest) (MomentListPage, error) {
	var ans MomentListPage
	err := c.read(ctx, "externalcontact/get_moment_list", req, &ans)
	return ans, err
}
