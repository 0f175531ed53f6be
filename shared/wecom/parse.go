package wecom

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// ParseEvent parses a decrypted callback msg into an Event. msg is XML, or
// JSON for apps configured with the JSON callback format.
//
// Both envelopes are accepted: the self-built one (ToUserName, CreateTime,
// Event) and the third-party one (AuthCorpId, TimeStamp, InfoType), which is
// mapped onto the same fields. An authentic message Siyu does not model (an
// unknown ChangeType, or a plain message such as text) parses with
// Known=false and Raw holding msg, so nothing is lost. Malformed input, or an
// event without Event/InfoType, is a *CryptoError of kind ErrKindMalformed.
//
// The XML reader is purpose-built for the flat documents WeCom sends: one
// pass, no reflection, field values are substrings of a single copy of msg.
// It still checks well-formedness (matching tags, entities, UTF-8) and caps
// nesting at maxDepth, so any input costs time linear in its size.
func ParseEvent(msg []byte) (Event, error) {
	if err := checkChars(msg); err != nil {
		return Event{}, err
	}
	i := skipSpace(msg, skipBOM(msg))
	if i == len(msg) {
		return Event{}, malformed(-40002, "empty event", nil)
	}
	var (
		ev  Event
		err error
	)
	switch msg[i] {
	case '<':
		ev, err = parseXMLEvent(string(msg))
	case '{':
		ev, err = parseJSONEvent(msg[i:])
	default:
		return Event{}, malformed(-40002, "event is neither XML nor JSON", nil)
	}
	if err != nil {
		return Event{}, err
	}
	if ev.Event == "" && (ev.MsgType == "" || ev.MsgType == "event") {
		return Event{}, malformed(-40002, "event has no Event or InfoType", nil)
	}
	ev.Known = modelled(ev.Event, ev.ChangeType)
	if ev.Known {
		ev.Raw = ""
	} else if ev.Raw == "" {
		ev.Raw = string(msg)
	}
	return ev, nil
}

// modelled reports whether Siyu understands this Event/ChangeType pair.
func modelled(event, change string) bool {
	switch event {
	case EventExternalContact:
		switch change {
		case ChangeAddExternalContact, ChangeEditExternalContact, ChangeAddHalfExternalContact,
			ChangeDelExternalContact, ChangeDelFollowUser, ChangeTransferFail:
			return true
		}
	case EventExternalChat:
		switch change {
		case ChangeChatCreate, ChangeChatUpdate, ChangeChatDismiss:
			return true
		}
	case EventExternalTag:
		switch change {
		case "create", "update", "delete", "shuffle":
			return true
		}
	}
	return false
}

// eventFields collects one event's element values before they are typed.
type eventFields struct {
	ev                   Event
	infoType, authCorpID string
	timeStamp            int64
	memItems             []string
	memText              string
	sawItem              bool
}

// set stores the text of one field element. Names are case-sensitive, like
// encoding/xml with the Event struct tags.
func (f *eventFields) set(name, v string) error {
	var err error
	ev := &f.ev
	switch name {
	case "ToUserName":
		ev.ToUserName = v
	case "FromUserName":
		ev.FromUserName = v
	case "CreateTime":
		ev.CreateTime, err = parseInt(v)
	case "MsgType":
		ev.MsgType = v
	case "Event":
		ev.Event = v
	case "ChangeType":
		ev.ChangeType = v
	case "UserID":
		ev.UserID = v
	case "ExternalUserID":
		ev.ExternalUserID = v
	case "State":
		ev.State = v
	case "WelcomeCode":
		ev.WelcomeCode = v
	case "Source":
		ev.Source = v
	case "FailReason":
		ev.FailReason = v
	case "ChatId":
		ev.ChatID = v
	case "UpdateDetail":
		ev.UpdateDetail = v
	case "JoinScene":
		ev.JoinScene, err = parseSmallInt(v)
	case "QuitScene":
		ev.QuitScene, err = parseSmallInt(v)
	case "MemChangeCnt":
		ev.MemChangeCnt, err = parseSmallInt(v)
	case "MemChangeList":
		f.memText = v
	case "LastMemVer":
		ev.LastMemVer = v
	case "CurMemVer":
		ev.CurMemVer = v
	case "Id":
		ev.TagID = v
	case "TagType":
		ev.TagType = v
	case "StrategyId":
		ev.StrategyID = v
	case "InfoType":
		f.infoType = v
	case "AuthCorpId":
		f.authCorpID = v
	case "TimeStamp":
		f.timeStamp, err = parseInt(v)
	}
	if err != nil {
		return malformed(-40002, "field "+name+" is not an integer", err)
	}
	return nil
}

// finish maps the third-party envelope and the member list onto the Event.
func (f *eventFields) finish() Event {
	ev := f.ev
	if ev.Event == "" {
		ev.Event = f.infoType
	}
	if ev.ToUserName == "" {
		ev.ToUserName = f.authCorpID
	}
	if ev.CreateTime == 0 {
		ev.CreateTime = f.timeStamp
	}
	if f.sawItem {
		ev.MemChangeList = f.memItems
	} else if f.memText != "" {
		ev.MemChangeList = splitList(f.memText)
	}
	if len(ev.MemChangeList) == 0 {
		ev.MemChangeList = nil
	}
	return ev
}

// splitList splits a bare comma-separated member list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseInt(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

func parseSmallInt(v string) (int, error) {
	n, err := parseInt(v)
	if err == nil && int64(int(n)) != n {
		return 0, strconv.ErrRange
	}
	return int(n), err
}

// parseXMLEvent reads <root><Field>value</Field>...</root>. Text of the
// root's children is a field value; <Item> children of MemChangeList are
// the member list; anything nested deeper is skipped.
func parseXMLEvent(s string) (Event, error) {
	var (
		f     eventFields
		sc    = scanner[string]{s: s}
		field string
		val   textAcc[string]
		item  textAcc[string]
		inMem bool
	)
	for {
		tok, err := sc.next()
		if err != nil {
			return Event{}, err
		}
		switch tok.kind {
		case tokEOF:
			return f.finish(), nil
		case tokStart:
			switch {
			case tok.depth == 2:
				field = tok.data
				val.reset()
			case tok.depth == 3 && field == "MemChangeList" && tok.data == "Item":
				inMem = true
				item.reset()
			}
		case tokText, tokCDATA:
			switch {
			case tok.depth == 2:
				val.add(tok.data, tok.kind == tokCDATA)
			case tok.depth == 3 && inMem:
				item.add(tok.data, tok.kind == tokCDATA)
			}
		case tokEnd:
			switch {
			case tok.depth == 2:
				v, err := val.value()
				if err != nil {
					return Event{}, err
				}
				if err := f.set(field, v); err != nil {
					return Event{}, err
				}
			case tok.depth == 3 && inMem:
				inMem = false
				f.sawItem = true
				v, err := item.value()
				if err != nil {
					return Event{}, err
				}
				if v = strings.TrimSpace(v); v != "" {
					f.memItems = append(f.memItems, v)
				}
			}
		}
	}
}

// jsonEvent is the JSON callback format: the XML element names as keys.
type jsonEvent struct {
	ToUserName     jsonString `json:"ToUserName"`
	FromUserName   jsonString `json:"FromUserName"`
	CreateTime     jsonInt    `json:"CreateTime"`
	MsgType        jsonString `json:"MsgType"`
	Event          jsonString `json:"Event"`
	ChangeType     jsonString `json:"ChangeType"`
	UserID         jsonString `json:"UserID"`
	ExternalUserID jsonString `json:"ExternalUserID"`
	State          jsonString `json:"State"`
	WelcomeCode    jsonString `json:"WelcomeCode"`
	Source         jsonString `json:"Source"`
	FailReason     jsonString `json:"FailReason"`
	ChatID         jsonString `json:"ChatId"`
	UpdateDetail   jsonString `json:"UpdateDetail"`
	JoinScene      jsonInt    `json:"JoinScene"`
	QuitScene      jsonInt    `json:"QuitScene"`
	MemChangeCnt   jsonInt    `json:"MemChangeCnt"`
	MemChangeList  jsonList   `json:"MemChangeList"`
	LastMemVer     jsonString `json:"LastMemVer"`
	CurMemVer      jsonString `json:"CurMemVer"`
	TagID          jsonString `json:"Id"`
	TagType        jsonString `json:"TagType"`
	StrategyID     jsonString `json:"StrategyId"`
	InfoType       jsonString `json:"InfoType"`
	AuthCorpID     jsonString `json:"AuthCorpId"`
	TimeStamp      jsonInt    `json:"TimeStamp"`
}

func parseJSONEvent(msg []byte) (Event, error) {
	var j jsonEvent
	if err := json.Unmarshal(msg, &j); err != nil {
		return Event{}, malformed(-40002, "event JSON", err)
	}
	f := eventFields{
		ev: Event{
			ToUserName:     string(j.ToUserName),
			FromUserName:   string(j.FromUserName),
			CreateTime:     int64(j.CreateTime),
			MsgType:        string(j.MsgType),
			Event:          string(j.Event),
			ChangeType:     string(j.ChangeType),
			UserID:         string(j.UserID),
			ExternalUserID: string(j.ExternalUserID),
			State:          string(j.State),
			WelcomeCode:    string(j.WelcomeCode),
			Source:         string(j.Source),
			FailReason:     string(j.FailReason),
			ChatID:         string(j.ChatID),
			UpdateDetail:   string(j.UpdateDetail),
			JoinScene:      int(j.JoinScene),
			QuitScene:      int(j.QuitScene),
			MemChangeCnt:   int(j.MemChangeCnt),
			LastMemVer:     string(j.LastMemVer),
			CurMemVer:      string(j.CurMemVer),
			TagID:          string(j.TagID),
			TagType:        string(j.TagType),
			StrategyID:     string(j.StrategyID),
		},
		infoType:   string(j.InfoType),
		authCorpID: string(j.AuthCorpID),
		timeStamp:  int64(j.TimeStamp),
		memItems:   j.MemChangeList,
		sawItem:    true,
	}
	return f.finish(), nil
}

// jsonString accepts a JSON string, or a number kept as its literal text
// (WeCom is loose about ids such as AgentID or StrategyId).
type jsonString string

func (s *jsonString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jsonString(v)
		return nil
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*s = jsonString(b)
		return nil
	}
	return &json.UnsupportedValueError{Str: "want a string or a number"}
}

// jsonInt accepts an integer JSON number or a string holding one.
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := parseInt(s)
	if err != nil {
		return err
	}
	if int64(int(v)) != v {
		return strconv.ErrRange
	}
	*n = jsonInt(v)
	return nil
}

// jsonList accepts ["a","b"] or "a,b".
type jsonList []string

func (l *jsonList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = splitList(s)
		return nil
	}
	var items []jsonString
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if v := strings.TrimSpace(string(it)); v != "" {
			out = append(out, v)
		}
	}
	*l = out
	return nil
}
