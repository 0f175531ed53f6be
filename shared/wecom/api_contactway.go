package wecom

import (
	"context"
	"errors"
	"net/http"
)

// 「联系我」 contact way kinds, scenes and limits (reference §4.4).
const (
	ContactWaySingle = 1 // 单人: exactly one user
	ContactWayMulti  = 2 // 多人: users and/or departments

	ContactWaySceneMiniProgram = 1
	ContactWaySceneQRCode      = 2 // the only scene that answers a qr_code

	// MaxContactWayStateChars bounds state, the channel the add event and
	// follow_user.state carry back; remark has the same bound.
	MaxContactWayStateChars  = 30
	MaxContactWayRemarkChars = 30
	// MaxContactWayUsers counts users after departments are expanded.
	MaxContactWayUsers = 100
	// list_contact_way page size: 100 by default, at most 1000.
	DefaultContactWayListLimit = 100
	MaxContactWayListLimit     = 1000
)

// Contact way error codes (global error code page, see reference §5).
const (
	CodeContactWayTooManyUsers = 41041 // 「联系我」使用人数超过限制
	CodeMissingConfigID        = 41043
	CodeInvalidConfigID        = 41044 // unknown or deleted config_id
)

// ContactWay is a 「联系我」 QR code or mini-program button: the channel a
// customer arrives through. SkipVerify is always sent: WeCom's default when
// it is absent is true, Go's zero value is false.
type ContactWay struct {
	ConfigID   string   `json:"config_id,omitempty"`
	Type       int      `json:"type"`
	Scene      int      `json:"scene"`
	Style      int      `json:"style,omitempty"`
	Remark     string   `json:"remark,omitempty"`
	SkipVerify bool     `json:"skip_verify"`
	State      string   `json:"state,omitempty"`
	User       []string `json:"user,omitempty"`
	Party      []int    `json:"party,omitempty"`
	// QRCode is answered by add/get for scene 2; never sent.
	QRCode string `json:"qr_code,omitempty"`
}

// ContactWayCreated is add_contact_way's answer. Keep ConfigID: a contact
// way made through the API is not shown in the admin console and cannot be
// edited or deleted without it.
type ContactWayCreated struct {
	ConfigID string `json:"config_id"`
	QRCode   string `json:"qr_code"`
}

// AddContactWay creates a contact way. Never retried on a transport error:
// a lost answer would leave an orphan way behind a retry's new one.
func (c *Client) AddContactWay(ctx context.Context, w ContactWay) (ContactWayCreated, error) {
	w.ConfigID, w.QRCode = "", ""
	var ans ContactWayCreated
	err := c.call(ctx, request{op: "externalcontact/add_contact_way", method: http.MethodPost, body: w, out: &ans})
	return ans, err
}

// GetContactWay reads a contact way by config_id.
func (c *Client) GetContactWay(ctx context.Context, configID string) (ContactWay, error) {
	if configID == "" {
		return ContactWay{}, errors.New("wecom externalcontact/get_contact_way: config_id is required")
	}
	var ans struct {
		ContactWay ContactWay `json:"contact_way"`
	}
	err := c.read(ctx, "externalcontact/get_contact_way", map[string]string{"config_id": configID}, &ans)
	return ans.ContactWay, err
}

// ContactWayListRequest filters list_contact_way by creation time (Unix
// seconds; WeCom defaults to the last 90 days up to now).
type ContactWayListRequest struct {
	StartTime int64  `json:"start_time,omitempty"`
	EndTime   int64  `json:"end_time,omitempty"`
	Cursor    string `json:"cursor,omitempty"`
	Limit     int    `json:"limit,omitempty"`
}

// ContactWayPage is one page of config_ids; NextCursor is empty on the last.
type ContactWayPage struct {
	ConfigIDs  []string
	NextCursor string
}

// ListContactWays lists one page of the contact ways made through the API.
func (c *Client) ListContactWays(ctx context.Context, req ContactWayListRequest) (ContactWayPage, error) {
	var ans struct {
		ContactWay []struct {
			ConfigID string `json:"config_id"`
		} `json:"contact_way"`
		NextCursor string `json:"next_cursor"`
	}
	if err := c.read(ctx, "externalcontact/list_contact_way", req, &ans); err != nil {
		return ContactWayPage{}, err
	}
	page := ContactWayPage{ConfigIDs: make([]string, 0, len(ans.ContactWay)), NextCursor: ans.NextCursor}
	for _, w := range ans.ContactWay {
		page.ConfigIDs = append(page.ConfigIDs, w.ConfigID)
	}
	return page, nil
}

// ContactWayUpdate changes a contact way: a field left empty (nil) keeps
// its value, one set replaces it (User and Party replace the whole list).
type ContactWayUpdate struct {
	ConfigID   string   `json:"config_id"`
	Style      int      `json:"style,omitempty"`
	Remark     string   `json:"remark,omitempty"`
	SkipVerify *bool    `json:"skip_verify,omitempty"`
	State      string   `json:"state,omitempty"`
	User       []string `json:"user,omitempty"`
	Party      []int    `json:"party,omitempty"`
}

// UpdateContactWay changes a contact way; its QR code stays the same.
func (c *Client) UpdateContactWay(ctx context.Context, u ContactWayUpdate) error {
	if u.ConfigID == "" {
		return errors.New("wecom externalcontact/update_contact_way: config_id is required")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/update_contact_way", nil, u, nil)
}

// DelContactWay deletes a contact way; its QR code stops adding customers.
func (c *Client) DelContactWay(ctx context.Context, configID string) error {
	if configID == "" {
		return errors.New("wecom externalcontact/del_contact_way: config_id is required")
	}
	return c.do(ctx, http.MethodPost, "externalcontact/del_contact_way", nil, map[string]string{"config_id": configID}, nil)
}
