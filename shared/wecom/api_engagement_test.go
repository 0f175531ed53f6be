package wecom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestMomentEngagementReads(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "alice", 6000)
	f.withCustomers(t, "bob", 3)
	f.sim.SetEngagement(wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Hour, ReachWithin: time.Hour, LikePercent: 20, CommentPercent: 5})
	c := f.client()
	job, err := c.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "新品上市"},
		VisibleRange: &wecom.MomentVisibleRange{SenderList: &wecom.MomentSenders{UserList: []string{"alice", "bob"}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetMomentTaskResult(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Result.MomentID

	t.Run("nobody has published right after creation", func(t *testing.T) {
		page, err := c.GetMomentTask(ctx, wecom.MomentTaskRequest{MomentID: id})
		if err != nil || len(page.Tasks) != 2 {
			t.Fatalf("task = %+v, %v", page, err)
		}
		for _, tk := range page.Tasks {
			if tk.PublishStatus == wecom.MomentPublished && f.sim.MomentTruth(id).Published == 0 {
				t.Errorf("%s published before the sim says so", tk.UserID)
			}
		}
	})
	f.clock.Advance(3 * time.Hour)
	t.Run("every member has published three hours later", func(t *testing.T) {
		page, err := c.GetMomentTask(ctx, wecom.MomentTaskRequest{MomentID: id, Limit: 1})
		if err != nil || len(page.Tasks) != 1 || page.NextCursor == "" || page.Tasks[0].PublishStatus != wecom.MomentPublished {
			t.Fatalf("first page = %+v, %v", page, err)
		}
	})
	t.Run("reach pages by 5000 for a member with 6000 customers", func(t *testing.T) {
		p1, err := c.GetMomentSendResult(ctx, wecom.MomentSendResultRequest{MomentID: id, UserID: "alice", Limit: wecom.MaxMomentSendResultLimit})
		if err != nil || len(p1.Customers) != 5000 || p1.NextCursor == "" {
			t.Fatalf("page 1 = %d customers, next %q, %v", len(p1.Customers), p1.NextCursor, err)
		}
		p2, err := c.GetMomentSendResult(ctx, wecom.MomentSendResultRequest{MomentID: id, UserID: "alice", Limit: 5000, Cursor: p1.NextCursor})
		if err != nil || len(p2.Customers) != 1000 || p2.NextCursor != "" {
			t.Fatalf("page 2 = %d customers, next %q, %v", len(p2.Customers), p2.NextCursor, err)
		}
	})
	t.Run("a page over 5000 is refused", func(t *testing.T) {
		_, err := c.GetMomentSendResult(ctx, wecom.MomentSendResultRequest{MomentID: id, UserID: "alice", Limit: 5001})
		var apiErr *wecom.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != wecom.CodeInvalidParameter {
			t.Fatalf("err = %v, want 40058", err)
		}
	})
	t.Run("likes and comments match the simulator's truth", func(t *testing.T) {
		var likes, comments int
		for _, u := range []string{"alice", "bob"} {
			cm, err := c.GetMomentComments(ctx, id, u)
			if err != nil {
				t.Fatal(err)
			}
			likes += len(cm.Likes)
			comments += len(cm.Comments)
		}
		truth := f.sim.MomentTruth(id)
		if likes != truth.Likes || comments != truth.Comments || likes == 0 {
			t.Fatalf("likes %d comments %d, truth %+v", likes, comments, truth)
		}
	})
}

func TestGroupMessageSendResults(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{})
	f.withCustomers(t, "bob", 2)
	if err := f.sim.PutRelationship(wecomsim.Relationship{UserID: "bob", ExternalUserID: "wmgoneAAAA", CreateTime: f.clock.Now().Add(-time.Hour), OneWay: true}); err != nil {
		t.Fatal(err)
	}
	f.sim.SetEngagement(wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Hour})
	c := f.client()
	res, err := c.AddMsgTemplate(ctx, wecom.MsgTemplate{Sender: "bob", Text: &wecom.Text{Content: "双十一"}})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	task, err := c.GetGroupMsgTask(ctx, wecom.GroupMsgTaskRequest{MsgID: res.MsgID})
	if err != nil || len(task.Tasks) != 1 || task.Tasks[0].Status != wecom.GroupMsgMemberSent {
		t.Fatalf("task = %+v, %v", task, err)
	}
	sends, err := c.GetGroupMsgSendResult(ctx, wecom.GroupMsgSendResultRequest{MsgID: res.MsgID, UserID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for _, s := range sends.Sends {
		got[s.Status]++
	}
	if got[wecom.GroupMsgSent] != 2 || got[wecom.GroupMsgNotFriend] != 1 {
		t.Fatalf("statuses = %v, want 2 sent and 1 not a friend", got)
	}
}
