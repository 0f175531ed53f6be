package wecom

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/events/*.json golden files")

// rawIsMsg marks an expected Event whose Raw must be the fixture itself.
const rawIsMsg = "<the fixture>"

// eventFixtures: one decrypted message per event type. Each NAME.xml (or
// NAME.msg.json) parses to want, and json.Marshal of the result (the event
// log's stored form) equals NAME.json.
var eventFixtures = []struct {
	name, file string
	want       Event
}{
	{"a member adds a customer through a channel", "add_external_contact.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeAddExternalContact,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA",
		State: "teststate", WelcomeCode: "WELCOMECODE", Known: true,
	}},
	{"a member edits a customer's remark", "edit_external_contact.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeEditExternalContact,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", Known: true,
	}},
	{"a customer adds a member without verification", "add_half_external_contact.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeAddHalfExternalContact,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA",
		State: "teststate", WelcomeCode: "WELCOMECODE", Known: true,
	}},
	{"a transfer removes a customer from the old member", "del_external_contact_by_transfer.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeDelExternalContact,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA",
		Source: SourceDeleteByTransfer, Known: true,
	}},
	{"a customer deletes the member", "del_follow_user.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeDelFollowUser,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", Known: true,
	}},
	{"a customer refuses a transfer", "transfer_fail.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeTransferFail, FailReason: "customer_refused",
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", Known: true,
	}},
	{"a customer group is created", "chat_create.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalChat, ChangeType: ChangeChatCreate, ChatID: "CHAT_ID", Known: true,
	}},
	{"members join a group (Item list)", "chat_update_add_member.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalChat, ChangeType: ChangeChatUpdate, ChatID: "CHAT_ID",
		UpdateDetail: DetailAddMember, JoinScene: 1, MemChangeCnt: 10,
		MemChangeList: []string{"Jack", "Rose"},
		LastMemVer:    "9c3f97c2ada667dfb5f6d03308d963e1", CurMemVer: "71217227bbd112ecfe3a49c482195cb4", Known: true,
	}},
	{"members are removed from a group (comma list)", "chat_update_del_member.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalChat, ChangeType: ChangeChatUpdate, ChatID: "CHAT_ID",
		UpdateDetail: DetailDelMember, QuitScene: 1, MemChangeCnt: 2,
		MemChangeList: []string{"wmAAAA1", "zhangsan"},
		LastMemVer:    "71217227bbd112ecfe3a49c482195cb4", CurMemVer: "0a8f1e3b5c7d9f2a4b6c8d0e1f3a5b7c", Known: true,
	}},
	{"a group is dismissed", "chat_dismiss.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalChat, ChangeType: ChangeChatDismiss, ChatID: "CHAT_ID", Known: true,
	}},
	{"a tag is created", "tag_create.xml", Event{
		ToUserName: "CORPID", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalTag, ChangeType: "create", TagID: "TAG_ID", TagType: "tag", StrategyID: "1", Known: true,
	}},
	{"tags are reordered", "tag_shuffle.xml", Event{
		ToUserName: "CORPID", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalTag, ChangeType: "shuffle", TagID: "TAG_ID", StrategyID: "STRATEGY_ID", Known: true,
	}},
	{"a third-party app hears of an added customer", "third_party_add_external_contact.xml", Event{
		ToUserName: "wxf8b4f85f3a794e77", CreateTime: 1403610513,
		Event: EventExternalContact, ChangeType: ChangeAddExternalContact,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACH71w",
		State: "teststate", WelcomeCode: "WELCOMECODE", Known: true,
	}},
	{"an unmodelled change type is kept raw", "unknown_msg_audit_approved.xml", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: "msg_audit_approved",
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA",
		WelcomeCode: "WELCOMECODE", Raw: rawIsMsg,
	}},
	{"a text message is kept raw", "unknown_text_message.xml", Event{
		ToUserName: "wx5823bf96d3bd56c7", FromUserName: "mycreate", CreateTime: 1409659813, MsgType: "text",
		Raw: rawIsMsg,
	}},
	{"a JSON-format text message is kept raw", "json_text_message.msg.json", Event{
		ToUserName: "wx5823bf96d3bd56c7", FromUserName: "mycreate", CreateTime: 1409659813, MsgType: "text",
		Raw: rawIsMsg,
	}},
	{"a JSON-format customer deletion", "json_del_follow_user.msg.json", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalContact, ChangeType: ChangeDelFollowUser,
		UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA", Known: true,
	}},
	{"a JSON-format group quit with numbers as strings", "json_chat_update_del_member.msg.json", Event{
		ToUserName: "toUser", FromUserName: "sys", CreateTime: 1403610513, MsgType: "event",
		Event: EventExternalChat, ChangeType: ChangeChatUpdate, ChatID: "CHAT_ID",
		UpdateDetail: DetailDelMember, QuitScene: 1, MemChangeCnt: 2,
		MemChangeList: []string{"wmAAAA1", "zhangsan"},
		LastMemVer:    "71217227bbd112ecfe3a49c482195cb4", CurMemVer: "0a8f1e3b5c7d9f2a4b6c8d0e1f3a5b7c", Known: true,
	}},
}

func readFixture(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenPath(file string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(file, ".xml"), ".msg.json")
	return filepath.Join("testdata", "events", base+".json")
}

func TestParseEventReadsEveryFixture(t *testing.T) {
	for _, tt := range eventFixtures {
		t.Run(tt.name, func(t *testing.T) {
			msg := readFixture(t, tt.file)
			got, err := ParseEvent(msg)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.Raw == rawIsMsg {
				want.Raw = string(msg)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}

			stored, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, '\n')
			golden := goldenPath(tt.file)
			if *update {
				if err := os.WriteFile(golden, stored, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantStored, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(stored, wantStored) {
				t.Fatalf("stored form changed:\n%s\nwant\n%s", stored, wantStored)
			}
		})
	}
}

func TestFixturesSurviveTheFullCallbackPath(t *testing.T) {
	c := newVectorCrypter(t, vecCorp)
	for _, tt := range eventFixtures {
		t.Run(tt.name, func(t *testing.T) {
			msg := readFixture(t, tt.file)
			body, sig, err := c.Seal(msg, "1700000000", "42")
			if err != nil {
				t.Fatal(err)
			}
			opened, err := c.Open(sig, "1700000000", "42", body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseEvent(opened)
			if err != nil {
				t.Fatal(err)
			}
			if got.Event != tt.want.Event || got.ChangeType != tt.want.ChangeType || got.Known != tt.want.Known {
				t.Fatalf("got %s/%s known=%v", got.Event, got.ChangeType, got.Known)
			}
		})
	}
}

// TestParseEventAgreesWithEncodingXML cross-checks the hand-written reader
// against encoding/xml on every XML fixture (for the fields both can read).
func TestParseEventAgreesWithEncodingXML(t *testing.T) {
	for _, tt := range eventFixtures {
		if !strings.HasSuffix(tt.file, ".xml") || strings.HasPrefix(tt.file, "third_party") {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			msg := readFixture(t, tt.file)
			got, err := ParseEvent(msg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := stdlibEvent(msg)
			if err != nil {
				t.Fatal(err)
			}
			got.MemChangeList, got.Known, got.Raw = nil, false, ""
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("flat reader %+v\nencoding/xml %+v", got, want)
			}
		})
	}
}

func TestParseEventValueForms(t *testing.T) {
	head := "<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>"
	tests := []struct {
		name, body, state string
	}{
		{"plain text", "<State>abc</State>", "abc"},
		{"entities in plain text", "<State>a&amp;b&lt;c&gt;&quot;&apos;</State>", `a&b<c>"'`},
		{"character references", "<State>&#27979;&#x8BD5;</State>", "测试"},
		{"CDATA keeps markup literally", "<State><![CDATA[<a>&amp;]]></State>", "<a>&amp;"},
		{"text and CDATA are joined", "<State>a<![CDATA[b]]>c&amp;</State>", "abc&"},
		{"an empty element", "<State/>", ""},
		{"nested elements are skipped", "<State>a<b>zzz</b>c</State>", "ac"},
		{"a comment inside a value", "<State>a<!-- x -->b</State>", "ab"},
		{"whitespace is kept in strings", "<State> a </State>", " a "},
		{"the last duplicate wins", "<State>a</State><State>b</State>", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(head + tt.body + "</xml>"))
			if err != nil {
				t.Fatal(err)
			}
			if ev.State != tt.state || !ev.Known || ev.CreateTime != 1 || ev.ToUserName != "c" {
				t.Fatalf("State = %q, event %+v", ev.State, ev)
			}
		})
	}
	t.Run("integers may be padded with whitespace", func(t *testing.T) {
		ev, err := ParseEvent([]byte("<xml><Event>change_external_chat</Event><ChangeType>update</ChangeType><CreateTime>\n 17 \n</CreateTime><QuitScene> 1</QuitScene></xml>"))
		if err != nil || ev.CreateTime != 17 || ev.QuitScene != 1 {
			t.Fatalf("%+v %v", ev, err)
		}
	})
	t.Run("a member list mixes Items and ignores blanks", func(t *testing.T) {
		ev, err := ParseEvent([]byte("<xml><Event>change_external_chat</Event><MemChangeList><Item> a </Item><Item></Item><Item><![CDATA[b]]></Item></MemChangeList></xml>"))
		if err != nil || !reflect.DeepEqual(ev.MemChangeList, []string{"a", "b"}) {
			t.Fatalf("%q %v", ev.MemChangeList, err)
		}
	})
	t.Run("a JSON member list may be a comma string", func(t *testing.T) {
		ev, err := ParseEvent([]byte(`{"Event":"change_external_chat","ChangeType":"update","MemChangeList":"a, b,,"}`))
		if err != nil || !reflect.DeepEqual(ev.MemChangeList, []string{"a", "b"}) {
			t.Fatalf("%q %v", ev.MemChangeList, err)
		}
	})
	t.Run("a UTF-8 BOM before XML or JSON is skipped", func(t *testing.T) {
		for _, msg := range []string{
			"\ufeff<xml><Event>change_external_chat</Event><ChangeType>dismiss</ChangeType></xml>",
			"\ufeff{\"Event\":\"change_external_chat\",\"ChangeType\":\"dismiss\"}",
		} {
			ev, err := ParseEvent([]byte(msg))
			if err != nil || !ev.Known || ev.ChangeType != ChangeChatDismiss {
				t.Fatalf("%q: %+v %v", msg, ev, err)
			}
		}
	})
	t.Run("a known event never carries Raw", func(t *testing.T) {
		ev, err := ParseEvent([]byte(head + "</xml>"))
		if err != nil || ev.Raw != "" || !ev.Known {
			t.Fatalf("%+v %v", ev, err)
		}
	})
}

func TestParseEventRejectsMalformedMessages(t *testing.T) {
	tests := []struct{ name, msg string }{
		{"empty input", ""},
		{"only whitespace", " \n"},
		{"neither XML nor JSON", "Event=change_external_contact"},
		{"no Event in an event message", "<xml><MsgType>event</MsgType><ChangeType>add_external_contact</ChangeType></xml>"},
		{"no Event, InfoType or MsgType", "<xml><ToUserName>c</ToUserName></xml>"},
		{"an unclosed root", "<xml><Event>change_external_chat</Event>"},
		{"a mismatched end tag", "<xml><Event>change_external_chat</Evnt></xml>"},
		{"an unterminated CDATA", "<xml><Event><![CDATA[change_external_chat</Event></xml>"},
		{"an unknown entity", "<xml><Event>change&nbsp;</Event></xml>"},
		{"a bare ampersand", "<xml><Event>a & b</Event></xml>"},
		{"a NUL character reference", "<xml><Event>&#0;</Event></xml>"},
		{"a surrogate character reference", "<xml><Event>&#xD800;</Event></xml>"},
		{"a DOCTYPE", `<!DOCTYPE xml [<!ENTITY e "change_external_chat">]><xml><Event>&e;</Event></xml>`},
		{"two roots", "<xml><Event>x</Event></xml><xml/>"},
		{"text after the root", "<xml><Event>x</Event></xml>tail"},
		{"a non-numeric CreateTime", "<xml><Event>x</Event><CreateTime>soon</CreateTime></xml>"},
		{"an out-of-range CreateTime", "<xml><Event>x</Event><CreateTime>99999999999999999999</CreateTime></xml>"},
		{"a control character", "<xml><Event>x\x01</Event></xml>"},
		{"invalid UTF-8", "<xml><Event>x\xff</Event></xml>"},
		{"nesting deeper than 32", "<xml>" + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + "<Event>x</Event></xml>"},
		{"a broken attribute", `<xml a=1><Event>x</Event></xml>`},
		{"a bad entity in an attribute", `<xml a="&x;"><Event>x</Event></xml>`},
		{"a bare ampersand between fields", "<xml>&<Event>x</Event></xml>"},
		{"a bad entity in a skipped element", "<xml><Event>x</Event><Other><a>&bogus;</a></Other></xml>"},
		{"]]> in plain text", "<xml><Event>x]]></Event></xml>"},
		{"a JSON array", `["change_external_contact"]`},
		{"JSON with trailing data", `{"Event":"x"} {}`},
		{"JSON with an object as a string", `{"Event":{"a":1}}`},
		{"JSON with a fractional CreateTime", `{"Event":"x","CreateTime":1.5}`},
		{"JSON without Event", `{"MsgType":"event"}`},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.msg))
			var ce *CryptoError
			if !errors.As(err, &ce) || ce.Kind != ErrKindMalformed || ce.Code != -40002 {
				t.Fatalf("ParseEvent = %+v, %v", ev, err)
			}
		})
	}
}

func TestParseEventIsLinearOnHostileNesting(t *testing.T) {
	// 1 MiB of unclosed and of balanced-but-deep tags: both must fail fast
	// on the depth cap rather than build a deep stack.
	for name, msg := range map[string]string{
		"unclosed tags": strings.Repeat("<a>", 1<<18),
		"comment opens": "<xml>" + strings.Repeat("<!--", 1<<18),
		"cdata opens":   "<xml><a>" + strings.Repeat("<![CDATA[", 1<<16),
		"ampersands":    "<xml><Event>" + strings.Repeat("&amp", 1<<18),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseEvent([]byte(msg)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// stdlibEvent is the reference reading of msg with encoding/xml.
func stdlibEvent(msg []byte) (Event, error) {
	var ev Event
	err := xml.Unmarshal(msg, &ev)
	return ev, err
}
