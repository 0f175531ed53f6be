package wecom

import (
	"context"
	"errors"
	"net/http"
)

// Enterprise customer tag limits and codes (reference §4.5, §5).
const (
	MaxTagNameChars = 30
	// CodeInvalidTagID is 不合法的标签/标签组ID: unknown or deleted.
	CodeInvalidTagID = 40068
	// CodeDuplicateTagName is 不合法的标签名字 (the name exists).
	CodeDuplicateTagName = 40071
	// CodeInvalidTagName is 不合法的标签名字长度 (empty or too long).
	CodeInvalidTagName = 40072
)

// CorpTag is an enterprise tag. A larger Order sorts first. Deleted is
// only answered when tags were asked for by id.
type CorpTag struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CreateTime int64  `json:"create_time"`
	Order      int64  `json:"order"`
	Deleted    bool   `json:"deleted,omitempty"`
}

// CorpTagGroup is a tag group with its tags.
type CorpTagGroup struct {
	GroupID    string    `json:"group_id"`
	GroupName  string    `json:"group_name"`
	CreateTime int64     `json:"create_time"`
	Order      int64     `json:"order"`
	Deleted    bool      `json:"deleted,omitempty"`
	Tags       []CorpTag `json:"tag"`
}

// GetCorpTagList reads the tag library: everything when both lists are
// empty, else the groups named by groupIDs (whole) and the tags named by
// tagIDs (with their group).
func (c *Client) GetCorpTagList(ctx context.Context, tagIDs, groupIDs []string) ([]CorpTagGroup, error) {
	req := struct {
		TagID   []string `json:"tag_id,omitempty"`
		GroupID []string `json:"group_id,omitempty"`
	}{tagIDs, groupIDs}
	var ans struct {
		TagGroup []CorpTagGroup `json:"tag_group"`
	}
	if err := c.read(ctx, "externalcontact/get_corp_tag_list", req, &ans); err != nil {
		return nil, err
	}
	if ans.TagGroup == nil {
		ans.TagGroup = []CorpTagGroup{}
	}
	return ans.TagGroup, nil
}

// NewCorpTag is a tag to create.
type NewCorpTag struct {
	Name  string `json:"name"`
	Order int64  `json:"order,omitempty"`
}

// CorpTagAdd adds tags to the group GroupID, or else to the group named
// GroupName, which is created when no group has that name (Order is then
// the new group's). WeCom creates no empty group.
type CorpTagAdd struct {
	GroupID   string       `json:"group_id,omitempty"`
	GroupName string       `json:"group_name,omitempty"`
	Order     int64        `json:"order,omitempty"`
	Tags      []NewCorpTag `json:"tag"`
}

// AddCorpTag creates tags and answers their group with the new tags (and
// their ids). Never retried on a transport error: a retry would create
// the tags twice or answer 40071.
func (c *Client) AddCorpTag(ctx context.Context, a CorpTagAdd) (CorpTagGroup, error) {
	var ans struct {
		TagGroup CorpTagGroup `json:"tag_group"`
	}
	err := c.call(ctx, request{op: "externalcontact/add_corp_tag", method: http.MethodPost, body: a, out: &ans})
	return ans.TagGroup, err
}

// CorpTagEdit renames or reorders a tag or a group (ID is either); an
// empty Name or a zero Order keeps the value.
type CorpTagEdit struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Order int64  `json:"order,omitempty"`
}

// EditCorpTag changes a tag or a group.
func (c *Client) EditCorpTag(ctx context.Context, e CorpTagEdit) error {
	if e.ID == "" {
		return errors.New("wecom externalcontact/edit_corp_tag: id is required")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/edit_corp_tag", nil, e, nil)
}

// DelCorpTag deletes tags and whole groups; a group left without tags goes
// too. Customers lose the deleted tags.
func (c *Client) DelCorpTag(ctx context.Context, tagIDs, groupIDs []string) error {
	if len(tagIDs) == 0 && len(groupIDs) == 0 {
		return errors.New("wecom externalcontact/del_corp_tag: tag_id and group_id are both empty")
	}
	req := struct {
		TagID   []string `json:"tag_id,omitempty"`
		GroupID []string `json:"group_id,omitempty"`
	}{tagIDs, groupIDs}
	return c.do(ctx, http.MethodPost, "externalcontact/del_corp_tag", nil, req, nil)
}

// MarkTagRequest adds and removes enterprise tags on one relationship (the
// member's view of the customer). Not both lists empty.
type MarkTagRequest struct {
	UserID         string   `json:"userid"`
	ExternalUserID string   `json:"external_userid"`
	AddTag         []string `json:"add_tag,omitempty"`
	RemoveTag      []string `json:"remove_tag,omitempty"`
}

// MarkTag tags a customer for a member. Marking through the API makes no
// edit_external_contact callback (reference §2).
func (c *Client) MarkTag(ctx context.Context, m MarkTagRequest) error {
	if len(m.AddTag) == 0 && len(m.RemoveTag) == 0 {
		return errors.New("wecom externalcontact/mark_tag: add_tag and remove_tag are both empty")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/mark_tag", nil, m, nil)
}
