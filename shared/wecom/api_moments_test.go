package wecom_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 32)...)

func TestMomentTaskLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{})
	f.sim.PutMember(wecomsim.Member{UserID: "alice"})
	f.sim.SetMomentJobDelay(10 * time.Second)
	c := f.client()

	up, err := c.UploadAttachment(ctx, wecom.Media{Type: "image", Filename: "a.png", ContentType: "image/png", Data: png})
	if err != nil || up.MediaID == "" || up.Type != "image" {
		t.Fatalf("UploadAttachment = %+v, %v", up, err)
	}
	task := wecom.MomentTask{
		Text:         &wecom.Text{Content: "早安"},
		Attachments:  []wecom.MomentAttachment{{MsgType: "image", Image: &wecom.MediaRef{MediaID: up.MediaID}}},
		VisibleRange: &wecom.MomentVisibleRange{SenderList: &wecom.MomentSenders{UserList: []string{"alice", "ghost"}}},
	}
	job, err := c.AddMomentTask(ctx, task)
	if err != nil || job == "" {
		t.Fatalf("AddMomentTask = %q, %v", job, err)
	}

	t.Run("the job runs until its delay has passed on the sim clock", func(t *testing.T) {
		r, err := c.GetMomentTaskResult(ctx, job)
		if err != nil || r.Status != wecom.MomentTaskRunning {
			t.Fatalf("result = %+v, %v", r, err)
		}
	})
	f.clock.Advance(11 * time.Second)
	var momentID string
	t.Run("a finished job names the moment and the invalid senders", func(t *testing.T) {
		r, err := c.GetMomentTaskResult(ctx, job)
		if err != nil || r.Status != wecom.MomentTaskFinished || r.Result.MomentID == "" ||
			len(r.Result.InvalidSenderList.UserList) != 1 || r.Result.InvalidSenderList.UserList[0] != "ghost" {
			t.Fatalf("result = %+v, %v", r, err)
		}
		momentID = r.Result.MomentID
	})
	t.Run("the moment is listed among enterprise Moments", func(t *testing.T) {
		now := f.clock.Now().Unix()
		page, err := c.GetMomentList(ctx, wecom.MomentListRequest{StartTime: now - 3600, EndTime: now, FilterType: wecom.MomentFilterCorp})
		if err != nil || len(page.Moments) != 1 || page.Moments[0].MomentID != momentID || page.Moments[0].Text.Content != "早安" || len(page.Moments[0].Image) != 1 {
			t.Fatalf("list = %+v, %v", page, err)
		}
	})
	t.Run("cancel stops it", func(t *testing.T) {
		if err := c.CancelMomentTask(ctx, momentID); err != nil || !f.sim.Moments()[0].Canceled {
			t.Fatalf("cancel: %v", err)
		}
	})
	t.Run("an eleventh task in a minute answers 45009 at once", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		for i := range 10 {
			if _, err := c.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "burst"}}); err != nil {
				t.Fatalf("task %d: %v", i, err)
			}
		}
		before := f.sim.Calls(wecomsim.PathAddMomentTask)
		_, err := c.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "one too many"}})
		if !wecom.IsCode(err, wecom.CodeRateLimited) || f.sim.Calls(wecomsim.PathAddMomentTask) != before+1 {
			t.Fatalf("11th = %v after %d calls", err, f.sim.Calls(wecomsim.PathAddMomentTask)-before)
		}
	})
	t.Run("a lost answer is a transport error and is not retried", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		f.sim.DropAnswers(wecomsim.PathAddMomentTask, 1)
		before, moments := f.sim.Calls(wecomsim.PathAddMomentTask), len(f.sim.Moments())
		_, err := c.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "lost"}})
		var apiErr *wecom.APIError
		if err == nil || errors.As(err, &apiErr) {
			t.Fatalf("AddMomentTask = %v, want a transport error", err)
		}
		if f.sim.Calls(wecomsim.PathAddMomentTask) != before+1 || len(f.sim.Moments()) != moments+1 {
			t.Fatal("the dropped call should have reached WeCom exactly once and created the Moment")
		}
	})
}

func TestGroupMessageLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, wecomsim.Options{})
	f.sim.PutMember(wecomsim.Member{UserID: "alice"})
	c := f.client()
	up, err := c.UploadMedia(ctx, wecom.Media{Type: "image", Filename: "a.png", Data: png})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := c.AddMsgTemplate(ctx, wecom.MsgTemplate{ChatType: wecom.ChatTypeGroup, Sender: "alice", Text: &wecom.Text{Content: "群发"},
		Attachments: []wecom.MsgAttachment{{MsgType: "image", Image: &wecom.MsgImage{MediaID: up.MediaID}}}})
	if err != nil || ans.MsgID == "" {
		t.Fatalf("AddMsgTemplate = %+v, %v", ans, err)
	}
	t.Run("a group send without a sender is refused", func(t *testing.T) {
		_, err := c.AddMsgTemplate(ctx, wecom.MsgTemplate{ChatType: wecom.ChatTypeGroup, Text: &wecom.Text{Content: "x"}})
		if !wecom.IsCode(err, wecom.CodeInvalidParameter) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("it is listed with its text and attachment", func(t *testing.T) {
		now := f.clock.Now().Unix()
		page, err := c.GetGroupMsgListV2(ctx, wecom.GroupMsgListRequest{ChatType: wecom.ChatTypeGroup, StartTime: now - 60, EndTime: now, FilterType: wecom.GroupMsgFilterCorp})
		if err != nil || len(page.Msgs) != 1 || page.Msgs[0].MsgID != ans.MsgID || page.Msgs[0].CreateTime != wecom.FlexInt(now) || len(page.Msgs[0].Attachments) != 1 {
			t.Fatalf("list = %+v, %v", page, err)
		}
	})
	t.Run("cancel stops it", func(t *testing.T) {
		if err := c.CancelGroupMsgSend(ctx, ans.MsgID); err != nil || !f.sim.GroupMsgs()[0].Canceled {
			t.Fatalf("cancel: %v", err)
		}
	})
}
