package wecom

// Event kinds (the Event element, or InfoType in the third-party envelope).
const (
	EventExternalContact = "change_external_contact"
	EventExternalChat    = "change_external_chat"
	EventExternalTag     = "change_external_tag"
)

// change_external_contact change types.
const (
	ChangeAddExternalContact     = "add_external_contact"
	ChangeEditExternalContact    = "edit_external_contact"
	ChangeAddHalfExternalContact = "add_half_external_contact"
	ChangeDelExternalContact     = "del_external_contact"
	ChangeDelFollowUser          = "del_follow_user"
	ChangeTransferFail           = "transfer_fail"
)

// change_external_chat change types and update details.
const (
	ChangeChatCreate  = "create"
	ChangeChatUpdate  = "update"
	ChangeChatDismiss = "dismiss"

	DetailAddMember    = "add_member"
	DetailDelMember    = "del_member"
	DetailChangeOwner  = "change_owner"
	DetailChangeName   = "change_name"
	DetailChangeNotice = "change_notice"
)

// SourceDeleteByTransfer marks a del_external_contact caused by a transfer of
// the customer to another member (在职继承): not a loss.
const SourceDeleteByTransfer = "DELETE_BY_TRANSFER"

// Event is a decrypted callback event. One struct covers every kind: the
// fields a kind does not carry stay empty. JSON tags are the event log's
// stored form.
type Event struct {
	ToUserName   string `xml:"ToUserName" json:"corp"`
	FromUserName string `xml:"FromUserName" json:"-"`
	CreateTime   int64  `xml:"CreateTime" json:"create_time"`
	MsgType      string `xml:"MsgType" json:"msg_type,omitempty"`
	Event        string `xml:"Event" json:"event"`
	ChangeType   string `xml:"ChangeType" json:"change_type,omitempty"`

	// change_external_contact
	UserID         string `xml:"UserID" json:"user_id,omitempty"`
	ExternalUserID string `xml:"ExternalUserID" json:"external_user_id,omitempty"`
	State          string `xml:"State" json:"state,omitempty"`
	WelcomeCode    string `xml:"WelcomeCode" json:"-"` // single-use and short-lived; not kept
	Source         string `xml:"Source" json:"source,omitempty"`
	FailReason     string `xml:"FailReason" json:"fail_reason,omitempty"`

	// change_external_chat
	ChatID        string   `xml:"ChatId" json:"chat_id,omitempty"`
	UpdateDetail  string   `xml:"UpdateDetail" json:"update_detail,omitempty"`
	JoinScene     int      `xml:"JoinScene" json:"join_scene,omitempty"`
	QuitScene     int      `xml:"QuitScene" json:"quit_scene,omitempty"`
	MemChangeCnt  int      `xml:"MemChangeCnt" json:"mem_change_cnt,omitempty"`
	MemChangeList []string `xml:"-" json:"mem_change_list,omitempty"`
	LastMemVer    string   `xml:"LastMemVer" json:"last_mem_ver,omitempty"`
	CurMemVer     string   `xml:"CurMemVer" json:"cur_mem_ver,omitempty"`

	// change_external_tag
	TagID      string `xml:"Id" json:"tag_id,omitempty"`
	TagType    string `xml:"TagType" json:"tag_type,omitempty"`
	StrategyID string `xml:"StrategyId" json:"strategy_id,omitempty"`

	// Known is false for an authentic event whose Event/ChangeType Siyu does
	// not model; Raw then holds the decrypted XML so nothing is lost.
	Known bool   `xml:"-" json:"-"`
	Raw   string `xml:"-" json:"raw,omitempty"`
}
