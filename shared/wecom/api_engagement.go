package wecom

import (
	"context"
)

// Page size caps of the engagement reads (reference §4.6–4.7).
const (
	MaxMomentTaskLimit         = 1000
	MaxMomentSendResultLimit   = 5000
	MaxGroupMsgTaskLimit       = 1000
	MaxGroupMsgSendResultLimit = 1000
)

// get_moment_task publish states.
const (
	MomentUnpublished = 0
	MomentPublished   = 1
)

// get_groupmsg_task and get_groupmsg_send_result states.
const (
	GroupMsgUnsent     = 0
	GroupMsgSent       = 1 // send result: delivered
	GroupMsgNotFriend  = 2 // send result: the customer is not a friend
	GroupMsgCapReached = 3 // send result: the customer already got their quota
	GroupMsgMemberSent = 2 // task: the member has sent
)

// MomentTaskRequest pages get_moment_task (enterprise Moments only).
type MomentTaskRequest struct {
	MomentID string `json:"moment_id"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// MomentPublisher is a member asked to publish and whether they did.
type MomentPublisher struct {
	UserID        string `json:"userid"`
	PublishStatus int    `json:"publish_status"`
}

// MomentTaskPage is one page of get_moment_task.
type MomentTaskPage struct {
	Tasks      []MomentPublisher `json:"task_list"`
	NextCursor string            `json:"next_cursor"`
}

// GetMomentTask lists the members of an enterprise Moment and whether each
// has published it.
func (c *Client) GetMomentTask(ctx context.Context, req MomentTaskRequest) (MomentTaskPage, error) {
	var ans MomentTaskPage
	err := c.read(ctx, "externalcontact/get_moment_task", req, &ans)
	return ans, err
}

// MomentSendResultRequest pages get_moment_send_result for one member.
type MomentSendResultRequest struct {
	MomentID string `json:"moment_id"`
	UserID   string `json:"userid"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// ExternalRef names a customer.
type ExternalRef struct {
	ExternalUserID string `json:"external_userid"`
}

// MomentSendResultPage is one page of the customers a member's Moment
// reached.
type MomentSendResultPage struct {
	Customers  []ExternalRef `json:"customer_list"`
	NextCursor string        `json:"next_cursor"`
}

// GetMomentSendResult lists the customers who can see a member's published
// Moment (up to 5000 per page).
func (c *Client) GetMomentSendResult(ctx context.Context, req MomentSendResultRequest) (MomentSendResultPage, error) {
	var ans MomentSendResultPage
	err := c.read(ctx, "externalcontact/get_moment_send_result", req, &ans)
	return ans, err
}

// MomentInteraction is a like or a comment: by a customer (ExternalUserID)
// or by a member (UserID), never both.
type MomentInteraction struct {
	ExternalUserID string `json:"external_userid,omitempty"`
	UserID         string `json:"userid,omitempty"`
	CreateTime     int64  `json:"create_time"`
}

// MomentComments is get_moment_comments' answer for one member's copy.
type MomentComments struct {
	Comments []MomentInteraction `json:"comment_list"`
	Likes    []MomentInteraction `json:"like_list"`
}

// GetMomentComments reads the likes and comments on a member's copy of a
// Moment.
func (c *Client) GetMomentComments(ctx context.Context, momentID, userID string) (MomentComments, error) {
	var ans MomentComments
	err := c.read(ctx, "externalcontact/get_moment_comments", map[string]string{"moment_id": momentID, "userid": userID}, &ans)
	return ans, err
}

// GroupMsgTaskRequest pages get_groupmsg_task.
type GroupMsgTaskRequest struct {
	MsgID  string `json:"msgid"`
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// GroupMsgTask is a member asked to send a group message.
type GroupMsgTask struct {
	UserID   string `json:"userid"`
	Status   int    `json:"status"`
	SendTime int64  `json:"send_time,omitempty"`
}

// GroupMsgTaskPage is one page of get_groupmsg_task.
type GroupMsgTaskPage struct {
	Tasks      []GroupMsgTask `json:"task_list"`
	NextCursor string         `json:"next_cursor"`
}

// GetGroupMsgTask lists the members of a group message and whether each
// has sent it.
func (c *Client) GetGroupMsgTask(ctx context.Context, req GroupMsgTaskRequest) (GroupMsgTaskPage, error) {
	var ans GroupMsgTaskPage
	err := c.read(ctx, "externalcontact/get_groupmsg_task", req, &ans)
	return ans, err
}

// GroupMsgSendResultRequest pages get_groupmsg_send_result for one member.
type GroupMsgSendResultRequest struct {
	MsgID  string `json:"msgid"`
	UserID string `json:"userid"`
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// GroupMsgSend is one recipient of a group message: Status is
// GroupMsgUnsent, GroupMsgSent, GroupMsgNotFriend or GroupMsgCapReached.
type GroupMsgSend struct {
	ExternalUserID string `json:"external_userid,omitempty"`
	ChatID         string `json:"chat_id,omitempty"`
	UserID         string `json:"userid"`
	Status         int    `json:"status"`
	SendTime       int64  `json:"send_time,omitempty"`
}

// GroupMsgSendResultPage is one page of get_groupmsg_send_result.
type GroupMsgSendResultPage struct {
	Sends      []GroupMsgSend `json:"send_list"`
	NextCursor string         `json:"next_cursor"`
}

// GetGroupMsgSendResult lists what a member's send of a group message did
// to each recipient.
func (c *Client) GetGroupMsgSendResult(ctx context.Context, req GroupMsgSendResultRequest) (GroupMsgSendResultPage, error) {
	var ans GroupMsgSendResultPage
	err := c.read(ctx, "externalcontact/get_groupmsg_send_result", req, &ans)
	return ans, err
}
