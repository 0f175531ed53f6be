package wecom

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// 获客助手 acquisition link limits. The channel rides on the link's URL as
// customer_channel and comes back as the add event's State and
// follow_user.state; WeCom cuts it at 64 bytes.
const (
	MaxAcquisitionLinkNameChars = 30
	MaxAcquisitionRangeUsers    = 500
	MaxAcquisitionListLimit     = 100
	MaxCustomerChannelBytes     = 64
	// CodeAcquisitionLinkLimit is 获客链接数量超过上限.
	CodeAcquisitionLinkLimit = 41095
)

// AcquisitionRange is who a link hands customers to; not both empty.
type AcquisitionRange struct {
	UserList       []string `json:"user_list,omitempty"`
	DepartmentList []int    `json:"department_list,omitempty"`
}

// AcquisitionLink is a link as create_link and get answer it.
type AcquisitionLink struct {
	LinkID     string `json:"link_id"`
	LinkName   string `json:"link_name"`
	URL        string `json:"url"`
	CreateTime int64  `json:"create_time"`
	SkipVerify bool   `json:"skip_verify"`
}

// AcquisitionLinkSpec creates a link. SkipVerify is always sent (WeCom's
// default when absent is true).
type AcquisitionLinkSpec struct {
	LinkName   string           `json:"link_name"`
	Range      AcquisitionRange `json:"range"`
	SkipVerify bool             `json:"skip_verify"`
}

// CreateAcquisitionLink creates a link. Never retried on a transport error
// (links count against a quota, 41095).
func (c *Client) CreateAcquisitionLink(ctx context.Context, spec AcquisitionLinkSpec) (AcquisitionLink, error) {
	var ans struct {
		Link AcquisitionLink `json:"link"`
	}
	err := c.call(ctx, request{op: "externalcontact/customer_acquisition/create_link", method: http.MethodPost, body: spec, out: &ans})
	return ans.Link, err
}

// AcquisitionLinkUpdate edits a link; empty fields keep their value, a set
// Range replaces the whole range.
type AcquisitionLinkUpdate struct {
	LinkID     string            `json:"link_id"`
	LinkName   string            `json:"link_name,omitempty"`
	Range      *AcquisitionRange `json:"range,omitempty"`
	SkipVerify *bool             `json:"skip_verify,omitempty"`
}

// UpdateAcquisitionLink edits a link; its URL stays the same.
func (c *Client) UpdateAcquisitionLink(ctx context.Context, u AcquisitionLinkUpdate) error {
	if u.LinkID == "" {
		return errors.New("wecom externalcontact/customer_acquisition/update_link: link_id is required")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/customer_acquisition/update_link", nil, u, nil)
}

// DeleteAcquisitionLink deletes a link; its URL stops adding customers.
func (c *Client) DeleteAcquisitionLink(ctx context.Context, linkID string) error {
	if linkID == "" {
		return errors.New("wecom externalcontact/customer_acquisition/delete_link: link_id is required")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/customer_acquisition/delete_link", nil, map[string]string{"link_id": linkID}, nil)
}

// AcquisitionLinkPage is one page of link ids; NextCursor is empty on the
// last.
type AcquisitionLinkPage struct {
	LinkIDs    []string `json:"link_id_list"`
	NextCursor string   `json:"next_cursor"`
}

// ListAcquisitionLinks lists one page of the live links this app created;
// limit 0 lets WeCom choose, at most MaxAcquisitionListLimit.
func (c *Client) ListAcquisitionLinks(ctx context.Context, cursor string, limit int) (AcquisitionLinkPage, error) {
	req := struct {
		Limit  int    `json:"limit,omitempty"`
		Cursor string `json:"cursor,omitempty"`
	}{limit, cursor}
	var ans AcquisitionLinkPage
	if err := c.read(ctx, "externalcontact/customer_acquisition/list_link", req, &ans); err != nil {
		return AcquisitionLinkPage{}, err
	}
	if ans.LinkIDs == nil {
		ans.LinkIDs = []string{}
	}
	return ans, nil
}

// AcquisitionLinkDetail is get's answer: the link and its range.
type AcquisitionLinkDetail struct {
	Link  AcquisitionLink  `json:"link"`
	Range AcquisitionRange `json:"range"`
}

// GetAcquisitionLink reads a link this app created.
func (c *Client) GetAcquisitionLink(ctx context.Context, linkID string) (AcquisitionLinkDetail, error) {
	if linkID == "" {
		return AcquisitionLinkDetail{}, errors.New("wecom externalcontact/customer_acquisition/get: link_id is required")
	}
	var ans AcquisitionLinkDetail
	err := c.read(ctx, "externalcontact/customer_acquisition/get", map[string]string{"link_id": linkID}, &ans)
	return ans, err
}

// AcquisitionURL is linkURL carrying channel as customer_channel: the one
// link serves many channels, told apart by the State they come back with.
// A channel over MaxCustomerChannelBytes is an error rather than WeCom's
// silent cut.
func AcquisitionURL(linkURL, channel string) (string, error) {
	if len(channel) > MaxCustomerChannelBytes {
		return "", errors.New("wecom acquisition link: customer_channel over 64 bytes would be cut")
	}
	u, err := url.Parse(linkURL)
	if err != nil || u.Host == "" {
		return "", errors.New("wecom acquisition link: not a URL")
	}
	q := u.Query()
	q.Set("customer_channel", channel)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
