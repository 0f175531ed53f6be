package wecomsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestCustomersArriveThroughChannels(t *testing.T) {
	ctx := context.Background()
	at := day0.Add(10 * time.Hour)
	sim := newSim(t, wecomsim.Options{})
	sim.PutMember(wecomsim.Member{UserID: "wangwu", Departments: []int{3}})
	rc := newReceiver(t, sim)
	tok := token(t, sim)
	post := func(path, body string) map[string]any {
		t.Helper()
		code, ans := call(t, "POST", sim.URL+path+"?access_token="+tok, body)
		if code != 0 {
			t.Fatalf("%s: %v", path, ans)
		}
		return ans
	}
	way := post(wecomsim.PathAddContactWay, `{"type":2,"scene":2,"state":"store_sh_01","user":["zhangsan"],"party":[3]}`)
	configID := way["config_id"].(string)
	link := post(wecomsim.PathCreateLink, `{"link_name":"抖音投放","range":{"user_list":["lisi"]}}`)["link"].(map[string]any)
	linkID := link["link_id"].(string)

	t.Run("a way created without skip_verify skips verification, WeCom's default", func(t *testing.T) {
		got := post(wecomsim.PathGetContactWay, `{"config_id":"`+configID+`"}`)["contact_way"].(map[string]any)
		if got["skip_verify"] != true {
			t.Errorf("skip_verify %v, want true", got["skip_verify"])
		}
	})

	arrivals := []struct {
		name   string
		arrive func() (wecom.Event, error)
		member string
		state  string
	}{
		{"the first scan of a multi way goes to its first member",
			func() (wecom.Event, error) { return sim.ArriveThroughContactWay(ctx, configID, "wmA", at) }, "zhangsan", "store_sh_01"},
		{"the next scan goes to the department's member",
			func() (wecom.Event, error) { return sim.ArriveThroughContactWay(ctx, configID, "wmB", at) }, "wangwu", "store_sh_01"},
		{"a link opened with customer_channel carries it as State",
			func() (wecom.Event, error) { return sim.ArriveThroughLink(ctx, linkID, "douyin_0610", "wmC", at) }, "lisi", "douyin_0610"},
		{"a link opened without a channel has no State",
			func() (wecom.Event, error) { return sim.ArriveThroughLink(ctx, linkID, "", "wmD", at) }, "lisi", ""},
		{"a channel over 64 bytes is cut like WeCom does",
			func() (wecom.Event, error) {
				return sim.ArriveThroughLink(ctx, linkID, strings.Repeat("c", 70), "wmE", at)
			}, "lisi", strings.Repeat("c", 64)},
	}
	for i, tt := range arrivals {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := tt.arrive()
			if err != nil {
				t.Fatal(err)
			}
			got := rc.received()[i]
			if got.ChangeType != wecom.ChangeAddExternalContact || got.UserID != tt.member || got.State != tt.state || got.WelcomeCode == "" || got.WelcomeCode != sent.WelcomeCode {
				t.Errorf("delivered %+v", got)
			}
			if r, _ := sim.Relationship(tt.member, sent.ExternalUserID); r.State != tt.state {
				t.Errorf("relationship state %q, want %q", r.State, tt.state)
			}
		})
	}
	t.Run("a deleted way adds nobody", func(t *testing.T) {
		post(wecomsim.PathDelContactWay, `{"config_id":"`+configID+`"}`)
		if _, err := sim.ArriveThroughContactWay(ctx, configID, "wmF", at); err == nil {
			t.Error("arrived through a deleted way")
		}
	})
}
