package wecom_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// withStaff gives the sim members; store staff are in department 2.
func withStaff(f *fixture) {
	f.sim.PutMember(wecomsim.Member{UserID: "zhangsan", Name: "张三", Departments: []int{2}})
	f.sim.PutMember(wecomsim.Member{UserID: "lisi", Name: "李四", Departments: []int{2}})
	f.sim.PutMember(wecomsim.Member{UserID: "wangwu", Name: "王五", Departments: []int{3}})
}

func TestAddContactWayValidatesLikeWeCom(t *testing.T) {
	tests := []struct {
		name string
		way  wecom.ContactWay
		code int
	}{
		{"a single QR code for one member is created", wecom.ContactWay{Type: 1, Scene: 2, State: "store_sh_01", User: []string{"zhangsan"}}, 0},
		{"a multi way over a department is created", wecom.ContactWay{Type: 2, Scene: 2, State: "poster", Party: []int{2}}, 0},
		{"a state of 30 characters is accepted", wecom.ContactWay{Type: 1, Scene: 2, State: strings.Repeat("渠", 30), User: []string{"zhangsan"}}, 0},
		{"a state of 31 characters is refused", wecom.ContactWay{Type: 1, Scene: 2, State: strings.Repeat("渠", 31), User: []string{"zhangsan"}}, wecom.CodeInvalidParameter},
		{"a remark of 31 characters is refused", wecom.ContactWay{Type: 1, Scene: 2, Remark: strings.Repeat("r", 31), User: []string{"zhangsan"}}, wecom.CodeInvalidParameter},
		{"a missing type is 41037", wecom.ContactWay{Scene: 2, User: []string{"zhangsan"}}, 41037},
		{"type 3 is 41039", wecom.ContactWay{Type: 3, Scene: 2, User: []string{"zhangsan"}}, 41039},
		{"a missing scene is 41038", wecom.ContactWay{Type: 1, User: []string{"zhangsan"}}, 41038},
		{"scene 3 is 41040", wecom.ContactWay{Type: 1, Scene: 3, User: []string{"zhangsan"}}, 41040},
		{"a single way with two members is refused", wecom.ContactWay{Type: 1, Scene: 2, User: []string{"zhangsan", "lisi"}}, wecom.CodeInvalidParameter},
		{"a multi way with nobody is refused", wecom.ContactWay{Type: 2, Scene: 2}, wecom.CodeInvalidParameter},
		{"an unknown member is 40003", wecom.ContactWay{Type: 2, Scene: 2, User: []string{"zhangsan", "ghost"}}, wecom.CodeInvalidUserID},
		{"an unknown department is 40066", wecom.ContactWay{Type: 2, Scene: 2, Party: []int{99}}, 40066},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, wecomsim.Options{})
			withStaff(f)
			got, err := f.client().AddContactWay(context.Background(), tt.way)
			if tt.code != 0 {
				if !wecom.IsCode(err, tt.code) {
					t.Fatalf("got %v, want errcode %d", err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ConfigID == "" || !strings.HasPrefix(got.QRCode, "http") {
				t.Errorf("answer %+v lacks config_id or qr_code", got)
			}
		})
	}

	t.Run("a way over 100 members is 41041", func(t *testing.T) {
		f := newFixture(t, wecomsim.Options{})
		for i := range 101 {
			f.sim.PutMember(wecomsim.Member{UserID: fmt.Sprintf("m%03d", i), Departments: []int{7}})
		}
		_, err := f.client().AddContactWay(context.Background(), wecom.ContactWay{Type: 2, Scene: 2, Party: []int{7}})
		if !wecom.IsCode(err, wecom.CodeContactWayTooManyUsers) {
			t.Fatalf("got %v, want 41041", err)
		}
	})
	t.Run("a mini-program button has no QR code", func(t *testing.T) {
		f := newFixture(t, wecomsim.Options{})
		withStaff(f)
		got, err := f.client().AddContactWay(context.Background(), wecom.ContactWay{Type: 1, Scene: 1, Style: 1, User: []string{"lisi"}})
		if err != nil || got.ConfigID == "" || got.QRCode != "" {
			t.Fatalf("got %+v, %v; want a config_id and no qr_code", got, err)
		}
	})
}

func TestContactWayLifecycle(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	withStaff(f)
	c := f.client()
	ctx := context.Background()
	spec := wecom.ContactWay{Type: 2, Scene: 2, Remark: "门店海报", SkipVerify: false, State: "poster_sh", User: []string{"zhangsan"}, Party: []int{3}}
	made, err := c.AddContactWay(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("get answers what was configured", func(t *testing.T) {
		got, err := c.GetContactWay(ctx, made.ConfigID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ConfigID != made.ConfigID || got.QRCode != made.QRCode || got.State != "poster_sh" || got.Remark != "门店海报" ||
			got.SkipVerify || !slices.Equal(got.User, []string{"zhangsan"}) || !slices.Equal(got.Party, []int{3}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("update replaces the state and keeps the rest", func(t *testing.T) {
		yes := true
		if err := c.UpdateContactWay(ctx, wecom.ContactWayUpdate{ConfigID: made.ConfigID, State: "poster_bj", SkipVerify: &yes}); err != nil {
			t.Fatal(err)
		}
		got, _ := c.GetContactWay(ctx, made.ConfigID)
		if got.State != "poster_bj" || !got.SkipVerify || got.Remark != "门店海报" || got.QRCode != made.QRCode {
			t.Errorf("after update %+v", got)
		}
	})
	t.Run("an update with a state too long changes nothing", func(t *testing.T) {
		err := c.UpdateContactWay(ctx, wecom.ContactWayUpdate{ConfigID: made.ConfigID, State: strings.Repeat("s", 31)})
		got, _ := c.GetContactWay(ctx, made.ConfigID)
		if !wecom.IsCode(err, wecom.CodeInvalidParameter) || got.State != "poster_bj" {
			t.Errorf("got %v and state %q", err, got.State)
		}
	})
	t.Run("an unknown config_id is 41044", func(t *testing.T) {
		_, err := c.GetContactWay(ctx, "0123456789abcdef0123456789abcdef")
		if !wecom.IsCode(err, wecom.CodeInvalidConfigID) {
			t.Errorf("got %v", err)
		}
		if err := c.UpdateContactWay(ctx, wecom.ContactWayUpdate{ConfigID: "nope", Remark: "x"}); !wecom.IsCode(err, wecom.CodeInvalidConfigID) {
			t.Errorf("update: got %v", err)
		}
	})
	t.Run("a deleted way is gone", func(t *testing.T) {
		if err := c.DelContactWay(ctx, made.ConfigID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetContactWay(ctx, made.ConfigID); !wecom.IsCode(err, wecom.CodeInvalidConfigID) {
			t.Errorf("get after delete: %v", err)
		}
		if err := c.DelContactWay(ctx, made.ConfigID); !wecom.IsCode(err, wecom.CodeInvalidConfigID) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestListContactWaysPagesByCreationTime(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	withStaff(f)
	c := f.client()
	ctx := context.Background()
	var want []string
	for range 5 {
		made, err := c.AddContactWay(ctx, wecom.ContactWay{Type: 1, Scene: 2, User: []string{"lisi"}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, made.ConfigID)
		f.clock.Advance(time.Hour)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := c.ListContactWays(ctx, wecom.ContactWayListRequest{Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page.ConfigIDs...)
		if cursor = page.NextCursor; cursor == "" {
			if pages != 2 {
				t.Errorf("5 ways in pages of 2 took %d pages, want 3", pages+1)
			}
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	start := f.clock.Now().Add(-150 * time.Minute).Unix()
	page, err := c.ListContactWays(ctx, wecom.ContactWayListRequest{StartTime: start})
	if err != nil || !slices.Equal(page.ConfigIDs, want[3:]) {
		t.Errorf("ways created in the last 150 min: %v, %v; want the last two", page.ConfigIDs, err)
	}
	if _, err := c.ListContactWays(ctx, wecom.ContactWayListRequest{Limit: 1001}); !wecom.IsCode(err, wecom.CodeInvalidParameter) {
		t.Errorf("limit 1001: %v", err)
	}
}
