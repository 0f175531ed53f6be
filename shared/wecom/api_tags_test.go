package wecom_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func tagNames(g wecom.CorpTagGroup) []string {
	var out []string
	for _, t := range g.Tags {
		out = append(out, t.Name)
	}
	return out
}

func TestCorpTagLibrary(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	withStaff(f)
	c := f.client()
	ctx := context.Background()

	level, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "客户等级", Order: 10,
		Tags: []wecom.NewCorpTag{{Name: "普通"}, {Name: "VIP", Order: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if level.GroupID == "" || level.GroupName != "客户等级" || len(level.Tags) != 2 || level.Tags[0].Name != "VIP" || level.Tags[0].ID == "" {
		t.Fatalf("add answered %+v; want the new group with VIP (higher order) first", level)
	}
	source, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "来源", Tags: []wecom.NewCorpTag{{Name: "抖音"}}})
	if err != nil {
		t.Fatal(err)
	}
	vip := level.Tags[0].ID

	t.Run("the whole library lists groups by order with their tags", func(t *testing.T) {
		all, err := c.GetCorpTagList(ctx, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].GroupName != "客户等级" || !slices.Equal(tagNames(all[0]), []string{"VIP", "普通"}) || all[1].GroupName != "来源" {
			t.Errorf("library %+v", all)
		}
	})
	t.Run("adding by group name joins the existing group", func(t *testing.T) {
		g, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "来源", Tags: []wecom.NewCorpTag{{Name: "小红书"}}})
		if err != nil || g.GroupID != source.GroupID || !slices.Equal(tagNames(g), []string{"小红书"}) {
			t.Fatalf("got %+v, %v", g, err)
		}
		byGroup, _ := c.GetCorpTagList(ctx, nil, []string{source.GroupID})
		if len(byGroup) != 1 || len(byGroup[0].Tags) != 2 {
			t.Errorf("group 来源 now %+v, want two tags", byGroup)
		}
	})
	t.Run("a tag asked for by id comes alone with its group", func(t *testing.T) {
		got, err := c.GetCorpTagList(ctx, []string{vip}, nil)
		if err != nil || len(got) != 1 || got[0].GroupID != level.GroupID || !slices.Equal(tagNames(got[0]), []string{"VIP"}) {
			t.Errorf("got %+v, %v", got, err)
		}
	})

	errs := []struct {
		name string
		call func() error
		code int
	}{
		{"a name already in the group is 40071", func() error {
			_, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupID: level.GroupID, Tags: []wecom.NewCorpTag{{Name: "VIP"}}})
			return err
		}, wecom.CodeDuplicateTagName},
		{"a name over 30 characters is 40072", func() error {
			_, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "长", Tags: []wecom.NewCorpTag{{Name: strings.Repeat("长", 31)}}})
			return err
		}, wecom.CodeInvalidTagName},
		{"an unknown group_id is 40068", func() error {
			_, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupID: "etgnothing", Tags: []wecom.NewCorpTag{{Name: "x"}}})
			return err
		}, wecom.CodeInvalidTagID},
		{"an empty group is refused", func() error {
			_, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "空"})
			return err
		}, wecom.CodeInvalidParameter},
		{"editing an unknown id is 40068", func() error { return c.EditCorpTag(ctx, wecom.CorpTagEdit{ID: "etnothing", Name: "x"}) }, wecom.CodeInvalidTagID},
		{"renaming onto a sibling's name is 40071", func() error { return c.EditCorpTag(ctx, wecom.CorpTagEdit{ID: vip, Name: "普通"}) }, wecom.CodeDuplicateTagName},
		{"deleting an unknown tag is 40068", func() error { return c.DelCorpTag(ctx, []string{"etnothing"}, nil) }, wecom.CodeInvalidTagID},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !wecom.IsCode(err, tt.code) {
				t.Errorf("got %v, want errcode %d", err, tt.code)
			}
		})
	}

	t.Run("a rename shows in the library", func(t *testing.T) {
		if err := c.EditCorpTag(ctx, wecom.CorpTagEdit{ID: vip, Name: "黑卡VIP"}); err != nil {
			t.Fatal(err)
		}
		got, _ := c.GetCorpTagList(ctx, []string{vip}, nil)
		if got[0].Tags[0].Name != "黑卡VIP" {
			t.Errorf("renamed tag reads %+v", got[0].Tags[0])
		}
	})
	t.Run("deleting a group's last tag deletes the group", func(t *testing.T) {
		lib, _ := c.GetCorpTagList(ctx, nil, []string{source.GroupID})
		var ids []string
		for _, tag := range lib[0].Tags {
			ids = append(ids, tag.ID)
		}
		if err := c.DelCorpTag(ctx, ids, nil); err != nil {
			t.Fatal(err)
		}
		all, _ := c.GetCorpTagList(ctx, nil, nil)
		if len(all) != 1 || all[0].GroupID != level.GroupID {
			t.Errorf("library after deleting 来源's tags: %+v", all)
		}
		asked, err := c.GetCorpTagList(ctx, []string{ids[0]}, nil)
		if err != nil || len(asked) != 1 || !asked[0].Deleted || !asked[0].Tags[0].Deleted {
			t.Errorf("a deleted tag asked by id: %+v, %v; want it flagged deleted", asked, err)
		}
	})
}

func TestMarkTag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{})
	withStaff(f)
	c := f.client()
	if _, err := f.sim.AddCustomer(ctx, "zhangsan", "wmAlice", "poster_sh", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	g, err := c.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "客户等级", Tags: []wecom.NewCorpTag{{Name: "新客"}, {Name: "VIP"}}})
	if err != nil {
		t.Fatal(err)
	}
	newcomer, vip := g.Tags[0].ID, g.Tags[1].ID

	if err := c.MarkTag(ctx, wecom.MarkTagRequest{UserID: "zhangsan", ExternalUserID: "wmAlice", AddTag: []string{newcomer, vip}}); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkTag(ctx, wecom.MarkTagRequest{UserID: "zhangsan", ExternalUserID: "wmAlice", RemoveTag: []string{newcomer}}); err != nil {
		t.Fatal(err)
	}
	if got := f.sim.TagsOf("zhangsan", "wmAlice"); !slices.Equal(got, []string{vip}) {
		t.Fatalf("tags %v, want only VIP", got)
	}

	t.Run("get shows the customer's name and the relationship's remark, state, time and named tags", func(t *testing.T) {
		got, err := c.GetExternalContact(ctx, "wmAlice")
		if err != nil {
			t.Fatal(err)
		}
		fu := got.FollowUsers[0]
		if got.ExternalContact.Name == "" || fu.UserID != "zhangsan" || fu.State != "poster_sh" || fu.CreateTime != f.clock.Now().Unix() ||
			len(fu.Tags) != 1 || fu.Tags[0] != (wecom.FollowTag{GroupName: "客户等级", TagName: "VIP", TagID: vip, Type: 1}) {
			t.Errorf("get answered %+v", got)
		}
	})

	tests := []struct {
		name string
		req  wecom.MarkTagRequest
		code int
	}{
		{"an unknown tag is 40068", wecom.MarkTagRequest{UserID: "zhangsan", ExternalUserID: "wmAlice", AddTag: []string{"etnothing"}}, wecom.CodeInvalidTagID},
		{"an unknown member is 40003", wecom.MarkTagRequest{UserID: "ghost", ExternalUserID: "wmAlice", AddTag: []string{vip}}, wecom.CodeInvalidUserID},
		{"an unknown customer is 40096", wecom.MarkTagRequest{UserID: "zhangsan", ExternalUserID: "wmNobody", AddTag: []string{vip}}, wecom.CodeInvalidExternalID},
		{"another member's customer is 84061", wecom.MarkTagRequest{UserID: "lisi", ExternalUserID: "wmAlice", AddTag: []string{vip}}, wecom.CodeNoRelationship},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.MarkTag(ctx, tt.req); !wecom.IsCode(err, tt.code) {
				t.Errorf("got %v, want errcode %d", err, tt.code)
			}
		})
	}
	t.Run("a deleted tag leaves the customer and cannot be marked", func(t *testing.T) {
		if err := c.DelCorpTag(ctx, []string{vip}, nil); err != nil {
			t.Fatal(err)
		}
		if got := f.sim.TagsOf("zhangsan", "wmAlice"); len(got) != 0 {
			t.Errorf("customer still carries %v", got)
		}
		err := c.MarkTag(ctx, wecom.MarkTagRequest{UserID: "zhangsan", ExternalUserID: "wmAlice", AddTag: []string{vip}})
		if !wecom.IsCode(err, wecom.CodeInvalidTagID) {
			t.Errorf("marking a deleted tag: %v, want 40068", err)
		}
	})
}
