package wecom_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestAcquisitionLinkLifecycle(t *testing.T) {
	f := newFixture(t, wecomsim.Options{})
	withStaff(f)
	c := f.client()
	ctx := context.Background()
	link, err := c.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: "抖音投放", Range: wecom.AcquisitionRange{UserList: []string{"zhangsan"}}, SkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if link.LinkID == "" || !strings.HasPrefix(link.URL, "https://work.weixin.qq.com/ca/") || link.CreateTime != f.clock.Now().Unix() {
		t.Fatalf("created %+v", link)
	}

	t.Run("get answers the link and its range", func(t *testing.T) {
		got, err := c.GetAcquisitionLink(ctx, link.LinkID)
		if err != nil || got.Link.LinkName != "抖音投放" || got.Link.URL != link.URL || !got.Link.SkipVerify || !slices.Equal(got.Range.UserList, []string{"zhangsan"}) {
			t.Errorf("got %+v, %v", got, err)
		}
	})
	t.Run("update replaces the range and keeps the URL", func(t *testing.T) {
		rng := wecom.AcquisitionRange{DepartmentList: []int{2}}
		if err := c.UpdateAcquisitionLink(ctx, wecom.AcquisitionLinkUpdate{LinkID: link.LinkID, Range: &rng}); err != nil {
			t.Fatal(err)
		}
		got, _ := c.GetAcquisitionLink(ctx, link.LinkID)
		if got.Link.URL != link.URL || got.Link.LinkName != "抖音投放" || len(got.Range.UserList) != 0 || !slices.Equal(got.Range.DepartmentList, []int{2}) {
			t.Errorf("after update %+v", got)
		}
	})
	t.Run("list pages the live links", func(t *testing.T) {
		second, err := c.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: "小红书", Range: wecom.AcquisitionRange{UserList: []string{"lisi"}}})
		if err != nil {
			t.Fatal(err)
		}
		p1, err := c.ListAcquisitionLinks(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := c.ListAcquisitionLinks(ctx, p1.NextCursor, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := append(p1.LinkIDs, p2.LinkIDs...); !slices.Equal(got, []string{link.LinkID, second.LinkID}) || p2.NextCursor != "" {
			t.Errorf("listed %v then cursor %q", got, p2.NextCursor)
		}
	})

	invalid := []struct {
		name string
		spec wecom.AcquisitionLinkSpec
		code int
	}{
		{"a link without a range is refused", wecom.AcquisitionLinkSpec{LinkName: "空"}, wecom.CodeInvalidParameter},
		{"a name over 30 characters is refused", wecom.AcquisitionLinkSpec{LinkName: strings.Repeat("名", 31), Range: wecom.AcquisitionRange{UserList: []string{"lisi"}}}, wecom.CodeInvalidParameter},
		{"an unknown member is 40003", wecom.AcquisitionLinkSpec{LinkName: "x", Range: wecom.AcquisitionRange{UserList: []string{"ghost"}}}, wecom.CodeInvalidUserID},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.CreateAcquisitionLink(ctx, tt.spec); !wecom.IsCode(err, tt.code) {
				t.Errorf("got %v, want errcode %d", err, tt.code)
			}
		})
	}
	t.Run("a deleted link is gone", func(t *testing.T) {
		if err := c.DeleteAcquisitionLink(ctx, link.LinkID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetAcquisitionLink(ctx, link.LinkID); !wecom.IsCode(err, wecom.CodeInvalidParameter) {
			t.Errorf("get after delete: %v", err)
		}
	})
}

func TestAcquisitionURLCarriesTheChannel(t *testing.T) {
	got, err := wecom.AcquisitionURL("https://work.weixin.qq.com/ca/cawcde123", "douyin_0610")
	if err != nil || got != "https://work.weixin.qq.com/ca/cawcde123?customer_channel=douyin_0610" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := wecom.AcquisitionURL("https://work.weixin.qq.com/ca/x", strings.Repeat("c", 65)); err == nil {
		t.Error("a channel WeCom would cut is accepted")
	}
}
