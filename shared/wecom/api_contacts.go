package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ExternalContact is a customer as externalcontact/get and
// batch/get_by_user describe it.
type ExternalContact struct {
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
	Avatar         string `json:"avatar,omitempty"`
	// Type is 1 for a WeChat user, 2 for a WeCom user.
	Type         int    `json:"type"`
	Gender       int    `json:"gender"`
	UnionID      string `json:"unionid,omitempty"`
	Position     string `json:"position,omitempty"`
	CorpName     string `json:"corp_name,omitempty"`
	CorpFullName string `json:"corp_full_name,omitempty"`
}

// FollowTag is a tag a member put on a customer.
type FollowTag struct {
	GroupName string `json:"group_name,omitempty"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id,omitempty"`
	// Type is 1 corp tag, 2 the member's own tag (no id), 3 rule-group tag.
	Type int `json:"type"`
}

// FollowUser is one member following a customer (one relationship), as
// externalcontact/get returns it.
type FollowUser struct {
	UserID         string      `json:"userid"`
	Remark         string      `json:"remark,omitempty"`
	Description    string      `json:"description,omitempty"`
	CreateTime     int64       `json:"createtime"`
	Tags           []FollowTag `json:"tags,omitempty"`
	RemarkCorpName string      `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string    `json:"remark_mobiles,omitempty"`
	OperUserID     string      `json:"oper_userid,omitempty"`
	AddWay         int         `json:"add_way"`
	// State is the channel: the contact way's state that brought the customer.
	State string `json:"state,omitempty"`
}

// FollowInfo is the relationship part of batch/get_by_user: as FollowUser
// but with tag ids only.
type FollowInfo struct {
	UserID         string   `json:"userid"`
	Remark         string   `json:"remark,omitempty"`
	Description    string   `json:"description,omitempty"`
	CreateTime     int64    `json:"createtime"`
	TagIDs         []string `json:"tag_id,omitempty"`
	RemarkCorpName string   `json:"remark_corp_name,omitempty"`
	RemarkMobiles  []string `json:"remark_mobiles,omitempty"`
	OperUserID     string   `json:"oper_userid,omitempty"`
	AddWay         int      `json:"add_way"`
	State          string   `json:"state,omitempty"`
}

// FollowedContact is one row of batch/get_by_user: a customer and the
// relationship with the member asked about.
type FollowedContact struct {
	ExternalContact ExternalContact `json:"external_contact"`
	FollowInfo      FollowInfo      `json:"follow_info"`
}

// ExternalContactDetail is a customer with every member following them.
type ExternalContactDetail struct {
	ExternalContact ExternalContact `json:"external_contact"`
	FollowUsers     []FollowUser    `json:"follow_user"`
}

// Batch limits of batch/get_by_user.
const (
	MaxBatchUsers     = 100
	MaxBatchLimit     = 100
	DefaultBatchLimit = 50
)

// GetFollowUserList lists the members with customer contact enabled in the
// app's visible range.
func (c *Client) GetFollowUserList(ctx context.Context) ([]string, error) {
	var ans struct {
		FollowUser []string `json:"follow_user"`
	}
	if err := c.do(ctx, http.MethodGet, "externalcontact/get_follow_user_list", nil, nil, &ans); err != nil {
		return nil, err
	}
	return ans.FollowUser, nil
}

// ListExternalContacts lists the external_userids of a member's customers.
// A member without customers (84061) has an empty list.
func (c *Client) ListExternalContacts(ctx context.Context, userID string) ([]string, error) {
	if userID == "" {
		return nil, errors.New("wecom externalcontact/list: userid is required")
	}
	var ans struct {
		ExternalUserID []string `json:"external_userid"`
	}
	err := c.do(ctx, http.MethodGet, "externalcontact/list", url.Values{"userid": {userID}}, nil, &ans)
	if IsCode(err, CodeNoRelationship) {
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	if ans.ExternalUserID == nil {
		ans.ExternalUserID = []string{}
	}
	return ans.ExternalUserID, nil
}

// BatchGetByUserRequest asks for the customers of up to 100 members.
type BatchGetByUserRequest struct {
	UserIDs []string `json:"userid_list"`
	Cursor  string   `json:"cursor"`
	// Limit is the page size, 1..100; 0 means WeCom's default of 50.
	Limit int `json:"limit,omitempty"`
}

// BatchGetByUserPage is one page; NextCursor is empty on the last one.
type BatchGetByUserPage struct {
	Contacts   []FollowedContact `json:"external_contact_list"`
	NextCursor string            `json:"next_cursor"`
}

// BatchGetByUser reads one page of the customers of req.UserIDs with their
// relationship to each member (channel state, add time, tag ids).
func (c *Client) BatchGetByUser(ctx context.Context, req BatchGetByUserRequest) (BatchGetByUserPage, error) {
	var page BatchGetByUserPage
	if err := c.batchPage(ctx, req, &page); err != nil {
		return BatchGetByUserPage{}, err
	}
	return page, nil
}

// batchPage reads one page of batch/get_by_user into page.
func (c *Client) batchPage(ctx context.Context, req BatchGetByUserRequest, page any) error {
	const op = "externalcontact/batch/get_by_user"
	switch {
	case len(req.UserIDs) == 0:
		return fmt.Errorf("wecom %s: at least one userid is required", op)
	case len(req.UserIDs) > MaxBatchUsers:
		return fmt.Errorf("wecom %s: %d userids, at most %d per call", op, len(req.UserIDs), MaxBatchUsers)
	case req.Limit < 0 || req.Limit > MaxBatchLimit:
		return fmt.Errorf("wecom %s: limit %d outside 1..%d", op, req.Limit, MaxBatchLimit)
	}
	return c.read(ctx, op, req, page)
}

// BatchGetAllByUser follows the cursor of BatchGetByUser to the end,
// batching userIDs by 100.
func (c *Client) BatchGetAllByUser(ctx context.Context, userIDs []string) ([]FollowedContact, error) {
	var all []FollowedContact
	err := eachBatchPage(ctx, c, userIDs, func(page *BatchGetByUserPage) (string, error) {
		all = append(all, page.Contacts...)
		return page.NextCursor, nil
	})
	return all, err
}

// FollowedPair is what a listing of relationships needs of a row of
// batch/get_by_user: the pair, when it was added and through which channel.
type FollowedPair struct {
	UserID, ExternalUserID, State string
	CreateTime                    int64
}

// pairsPage decodes only FollowedPair's fields of a page: listing a
// brand's every relationship each night, the names, avatars, remarks and
// tags it would otherwise decode are most of the bytes.
// The client reads it in one pass of its own (decodeFast, pairs.go).
type pairsPage struct {
	Contacts   []pairEntry `json:"external_contact_list"`
	NextCursor string      `json:"next_cursor"`
}

// BatchEachByUser lists the relationships of userIDs a page at a time: fn
// sees each page once, in order, and nothing is kept between pages, so
// listing a corp's every relationship holds one page in memory.
func (c *Client) BatchEachByUser(ctx context.Context, userIDs []string, fn func([]FollowedPair) error) error {
	var pairs []FollowedPair
	return eachBatchPage(ctx, c, userIDs, func(page *pairsPage) (string, error) {
		pairs = pairs[:0]
		for _, r := range page.Contacts {
			pairs = append(pairs, FollowedPair{UserID: r.FollowInfo.UserID, ExternalUserID: r.ExternalContact.ExternalUserID,
				State: r.FollowInfo.State, CreateTime: r.FollowInfo.CreateTime})
		}
		return page.NextCursor, fn(pairs)
	})
}

// eachBatchPage follows batch/get_by_user's cursor to the end for each
// hundred of userIDs, decoding every page into a fresh P; fn returns the
// page's next cursor.
func eachBatchPage[P any](ctx context.Context, c *Client, userIDs []string, fn func(*P) (string, error)) error {
	for start := 0; start < len(userIDs); start += MaxBatchUsers {
		batch := userIDs[start:min(start+MaxBatchUsers, len(userIDs))]
		cursor := ""
		for {
			var page P
			if err := c.batchPage(ctx, BatchGetByUserRequest{UserIDs: batch, Cursor: cursor, Limit: MaxBatchLimit}, &page); err != nil {
				return err
			}
			next, err := fn(&page)
			if err != nil {
				return err
			}
			if next == "" || next == cursor {
				break
			}
			cursor = next
		}
	}
	return nil
}

// GetExternalContact reads a customer and every member following them,
// following the cursor when they have more than a page of members.
func (c *Client) GetExternalContact(ctx context.Context, externalUserID string) (ExternalContactDetail, error) {
	if externalUserID == "" {
		return ExternalContactDetail{}, errors.New("wecom externalcontact/get: external_userid is required")
	}
	var out ExternalContactDetail
	cursor := ""
	for {
		q := url.Values{"external_userid": {externalUserID}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var ans struct {
			ExternalContactDetail
			NextCursor string `json:"next_cursor"`
		}
		if err := c.do(ctx, http.MethodGet, "externalcontact/get", q, nil, &ans); err != nil {
			return ExternalContactDetail{}, err
		}
		out.ExternalContact = ans.ExternalContact
		out.FollowUsers = append(out.FollowUsers, ans.FollowUsers...)
		if ans.NextCursor == "" || ans.NextCursor == cursor {
			return out, nil
		}
		cursor = ans.NextCursor
	}
}
