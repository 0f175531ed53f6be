package wecom_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestSendAppMessage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{AgentID: 1000005})
	withStaff(f)
	c := f.client()

	alert := wecom.AppMessage{AgentID: 1000005, ToUser: []string{"zhangsan", "ghost"}, MsgType: wecom.AppMsgTextCard,
		TextCard: &wecom.TextCard{Title: "客户流失提醒", Description: "王女士 刚刚删除了你", URL: "https://brand.example/churn/1"}}
	res, err := c.SendAppMessage(ctx, alert)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.InvalidUser, []string{"ghost"}) || res.MsgID == "" {
		t.Errorf("result %+v, want ghost invalid and a msgid", res)
	}
	got := f.sim.AppMessages()
	if len(got) != 1 || !slices.Equal(got[0].ToUser, []string{"zhangsan"}) || got[0].TextCard.Title != "客户流失提醒" || got[0].MsgID != res.MsgID {
		t.Fatalf("sim recorded %+v", got)
	}

	t.Run("a department reaches its members", func(t *testing.T) {
		res, err := c.SendAppMessage(ctx, wecom.AppMessage{AgentID: 1000005, ToParty: []string{"2", "99"}, MsgType: wecom.AppMsgMarkdown,
			Markdown: &wecom.Text{Content: "**今日流失** 3 人"}})
		if err != nil || !slices.Equal(res.InvalidParty, []string{"99"}) {
			t.Fatalf("got %+v, %v", res, err)
		}
		last := f.sim.AppMessages()[1]
		if !slices.Equal(last.ToUser, []string{"zhangsan", "lisi"}) || last.Content != "**今日流失** 3 人" {
			t.Errorf("recorded %+v", last)
		}
	})
	t.Run("text over 2048 bytes arrives cut", func(t *testing.T) {
		if _, err := c.SendAppMessage(ctx, wecom.AppMessage{AgentID: 1000005, ToUser: []string{"lisi"}, MsgType: wecom.AppMsgText,
			Text: &wecom.Text{Content: strings.Repeat("流", 700)}}); err != nil {
			t.Fatal(err)
		}
		msgs := f.sim.AppMessages()
		if got := msgs[len(msgs)-1].Content; len(got) != 2046 || got != strings.Repeat("流", 682) {
			t.Errorf("delivered %d bytes, want 2046 (682 whole characters)", len(got))
		}
	})

	tests := []struct {
		name string
		msg  wecom.AppMessage
		code int
	}{
		{"another app's agentid is 301002", wecom.AppMessage{AgentID: 1000002, ToUser: []string{"lisi"}, MsgType: "text", Text: &wecom.Text{Content: "x"}}, wecom.CodeAppNotPermitted},
		{"no agentid is 41011", wecom.AppMessage{ToUser: []string{"lisi"}, MsgType: "text", Text: &wecom.Text{Content: "x"}}, 41011},
		{"only unknown members is 81013", wecom.AppMessage{AgentID: 1000005, ToUser: []string{"ghost"}, MsgType: "text", Text: &wecom.Text{Content: "x"}}, wecom.CodeNoValidRecipient},
		{"empty text is 44004", wecom.AppMessage{AgentID: 1000005, ToUser: []string{"lisi"}, MsgType: "text", Text: &wecom.Text{}}, 44004},
		{"a text card without description is 41033", wecom.AppMessage{AgentID: 1000005, ToUser: []string{"lisi"}, MsgType: "textcard", TextCard: &wecom.TextCard{Title: "t", URL: "https://x"}}, 41033},
		{"an unknown msgtype is 40008", wecom.AppMessage{AgentID: 1000005, ToUser: []string{"lisi"}, MsgType: "voice"}, 40008},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.sim.AppMessages())
			if _, err := c.SendAppMessage(ctx, tt.msg); !wecom.IsCode(err, tt.code) {
				t.Errorf("got %v, want errcode %d", err, tt.code)
			}
			if len(f.sim.AppMessages()) != before {
				t.Error("a refused message was recorded")
			}
		})
	}
}
