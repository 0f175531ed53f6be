package wecomsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// SimGroupMsg is a group message task the simulator created.
type SimGroupMsg struct {
	MsgID      string
	CreateTime time.Time
	Template   wecom.MsgTemplate
	FailList   []string
	Canceled   bool
}

// GroupMsgs returns the group messages created so far, oldest first.
func (s *Sim) GroupMsgs() []SimGroupMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SimGroupMsg
	for _, m := range s.posting().msgs {
		out = append(out, *m)
	}
	return out
}

func (s *Sim) apiAddMsgTemplate(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MsgTemplate
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if req.ChatType == "" {
		req.ChatType = wecom.ChatTypeSingle
	}
	text := ""
	if req.Text != nil {
		text = req.Text.Content
	}
	switch {
	case req.ChatType != wecom.ChatTypeSingle && req.ChatType != wecom.ChatTypeGroup:
		return nil, fail(wecom.CodeInvalidParameter, "invalid chat_type")
	case req.ChatType == wecom.ChatTypeGroup && req.Sender == "":
		return nil, fail(wecom.CodeInvalidParameter, "sender is required for chat_type group")
	case text == "" && len(req.Attachments) == 0:
		return nil, fail(41048, "no content to send")
	case len(text) > wecom.MaxGroupMsgTextBytes:
		return nil, fail(wecom.CodeInvalidParameter, "invalid text size")
	case len(req.Attachments) > wecom.MaxGroupMsgAttachments:
		return nil, fail(41064, "attachments count exceed limit")
	}
	if req.Sender != "" {
		if _, ok := s.st.members[req.Sender]; !ok {
			return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", req.Sender)
		}
	}
	for _, a := range req.Attachments {
		switch {
		case a.MsgType == "image" && a.Image != nil:
			if a.Image.PicURL == "" {
				if e := s.checkMedia(a.Image.MediaID); e != nil {
					return nil, e
				}
			}
		case a.MsgType == "video" && a.Video != nil:
			if e := s.checkMedia(a.Video.MediaID); e != nil {
				return nil, e
			}
		case a.MsgType == "link" && a.Link != nil && a.Link.Title != "" && a.Link.URL != "":
		default:
			return nil, fail(41065, "invalid attachments msgtype")
		}
	}
	if tf := req.TagFilter; tf != nil {
		for _, g := range tf.GroupList {
			for _, t := range g.TagList {
				if !s.tagKnown(t) {
					return nil, fail(40068, "invalid tagid %s", t)
				}
			}
		}
	}
	var failList []string
	for _, id := range req.ExternalUserID {
		if len(s.st.relsFor(id)) == 0 {
			failList = append(failList, id)
		}
	}
	p := s.posting()
	m := &SimGroupMsg{MsgID: p.nextID("simmsg"), CreateTime: s.now(), Template: req, FailList: failList}
	p.msgs = append(p.msgs, m)
	if failList == nil {
		failList = []string{}
	}
	return map[string]any{"msgid": m.MsgID, "fail_list": failList}, nil
}

func (s *Sim) apiGetGroupMsgListV2(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.GroupMsgListRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if req.ChatType == "" {
		req.ChatType = wecom.ChatTypeSingle
	}
	switch {
	case req.EndTime < req.StartTime || req.EndTime-req.StartTime > 31*86400:
		return nil, fail(wecom.CodeInvalidParameter, "invalid time range, at most one month")
	case req.Limit < 0 || req.Limit > wecom.MaxGroupMsgListLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxGroupMsgListLimit)
	case req.Limit == 0:
		req.Limit = 50
	}
	type row struct {
		MsgID       string                `json:"msgid"`
		CreateTime  string                `json:"create_time"`
		CreateType  int                   `json:"create_type"`
		Text        wecom.Text            `json:"text"`
		Attachments []wecom.MsgAttachment `json:"attachments,omitempty"`
	}
	var rows []row
	if req.FilterType != wecom.GroupMsgFilterPersonal {
		for _, m := range s.posting().msgs {
			t := m.CreateTime.Unix()
			ct := m.Template.ChatType
			if ct == "" {
				ct = wecom.ChatTypeSingle
			}
			if t < req.StartTime || t > req.EndTime || ct != req.ChatType || (req.Creator != "" && req.Creator != m.Template.Sender) {
				continue
			}
			r := row{MsgID: m.MsgID, CreateTime: formatUnix(t), Attachments: slices.Clone(m.Template.Attachments)}
			if m.Template.Text != nil {
				r.Text = *m.Template.Text
			}
			rows = append(rows, r)
		}
	}
	return listPage(rows, req.Cursor, req.Limit, "group_msg_list")
}

func (s *Sim) apiCancelGroupMsgSend(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		MsgID string `json:"msgid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	for _, m := range s.posting().msgs {
		if m.MsgID == req.MsgID {
			m.Canceled = true
			return map[string]any{}, nil
		}
	}
	return nil, fail(wecom.CodeInvalidParameter, "invalid msgid")
}
