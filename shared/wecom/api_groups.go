package wecom

import (
	"context"
	"errors"
	"fmt"
)

// Customer group member types and join scenes as groupchat/get reports
// them. The callback's JoinScene uses another enum (0 invited, 3 QR code).
const (
	GroupMemberStaff    = 1
	GroupMemberCustomer = 2

	GroupJoinInvite = 1 // 由群成员邀请入群（直接邀请入群）
	GroupJoinLink   = 2 // 由群成员邀请入群（通过邀请链接入群）
	GroupJoinQRCode = 3 // 通过扫描群二维码入群
)

// Group list status filters.
const (
	GroupStatusNormal        = 0 // 所有列表(即不过滤)
	GroupStatusOwnerLeft     = 1 // 离职待继承
	GroupStatusInheriting    = 2 // 离职继承中
	GroupStatusInheritedDone = 3 // 离职继承完成
)

// Page limits of groupchat/list.
const (
	MaxGroupListLimit = 1000
	MaxOwnerFilter    = 100
)

// GroupChatListRequest filters and pages groupchat/list.
type GroupChatListRequest struct {
	StatusFilter int `json:"status_filter,omitempty"`
	// OwnerUserIDs keeps groups owned by these members (≤100). A corp with
	// more than 1000 visible members must filter (81017).
	OwnerUserIDs []string `json:"-"`
	Cursor       string   `json:"cursor,omitempty"`
	// Limit is the page size, 1..1000.
	Limit int `json:"limit"`
}

// GroupChatRef is one row of groupchat/list.
type GroupChatRef struct {
	ChatID string `json:"chat_id"`
	Status int    `json:"status"`
}

// GroupChatListPage is one page; NextCursor is empty on the last one.
type GroupChatListPage struct {
	Chats      []GroupChatRef `json:"group_chat_list"`
	NextCursor string         `json:"next_cursor"`
}

// GroupInvitor is the member who invited a group member.
type GroupInvitor struct {
	UserID string `json:"userid"`
}

// GroupMember is one member of a customer group.
type GroupMember struct {
	UserID string `json:"userid"`
	// Type is GroupMemberStaff or GroupMemberCustomer.
	Type      int    `json:"type"`
	UnionID   string `json:"unionid,omitempty"`
	JoinTime  int64  `json:"join_time"`
	JoinScene int    `json:"join_scene"`
	// Invitor is set for members who were invited.
	Invitor       *GroupInvitor `json:"invitor,omitempty"`
	GroupNickname string        `json:"group_nickname,omitempty"`
	Name          string        `json:"name,omitempty"`
}

// GroupAdmin is a group administrator.
type GroupAdmin struct {
	UserID string `json:"userid"`
}

// GroupChat is a customer group as groupchat/get describes it.
type GroupChat struct {
	ChatID     string        `json:"chat_id"`
	Name       string        `json:"name"`
	Owner      string        `json:"owner"`
	CreateTime int64         `json:"create_time"`
	Notice     string        `json:"notice,omitempty"`
	Members    []GroupMember `json:"member_list"`
	Admins     []GroupAdmin  `json:"admin_list,omitempty"`
	// MemberVersion changes whenever members join or quit; it matches the
	// callback's CurMemVer.
	MemberVersion string `json:"member_version"`
}

// GroupChatList reads one page of customer groups.
func (c *Client) GroupChatList(ctx context.Context, req GroupChatListRequest) (GroupChatListPage, error) {
	const op = "externalcontact/groupchat/list"
	if req.Limit < 1 || req.Limit > MaxGroupListLimit {
		return GroupChatListPage{}, fmt.Errorf("wecom %s: limit %d outside 1..%d", op, req.Limit, MaxGroupListLimit)
	}
	if len(req.OwnerUserIDs) > MaxOwnerFilter {
		return GroupChatListPage{}, fmt.Errorf("wecom %s: %d owners, at most %d", op, len(req.OwnerUserIDs), MaxOwnerFilter)
	}
	type ownerFilter struct {
		UserIDList []string `json:"userid_list"`
	}
	body := struct {
		GroupChatListRequest
		OwnerFilter *ownerFilter `json:"owner_filter,omitempty"`
	}{GroupChatListRequest: req}
	if len(req.OwnerUserIDs) > 0 {
		body.OwnerFilter = &ownerFilter{UserIDList: req.OwnerUserIDs}
	}
	var page GroupChatListPage
	if err := c.read(ctx, op, body, &page); err != nil {
		return GroupChatListPage{}, err
	}
	return page, nil
}

// GroupChatGet reads one customer group with its members and version.
func (c *Client) GroupChatGet(ctx context.Context, chatID string) (GroupChat, error) {
	if chatID == "" {
		return GroupChat{}, errors.New("wecom externalcontact/groupchat/get: chat_id is required")
	}
	body := struct {
		ChatID   string `json:"chat_id"`
		NeedName int    `json:"need_name"`
	}{chatID, 1}
	var ans struct {
		GroupChat GroupChat `json:"group_chat"`
	}
	if err := c.read(ctx, "externalcontact/groupchat/get", body, &ans); err != nil {
		return GroupChat{}, err
	}
	return ans.GroupChat, nil
}
