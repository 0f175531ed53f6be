package wecomsim_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// seeded starts a simulator of the seeded brand at the clock's now.
func seeded(t *testing.T, now func() time.Time, stateFile string) (*wecomsim.Sim, *wecom.Client) {
	t.Helper()
	sim := wecomsim.New(wecomsim.Options{Seed: 7, Now: now, StateFile: stateFile})
	t.Cleanup(sim.Close)
	sim.Seed(wecomsim.SeedConfig{})
	return sim, wecom.NewClient(wecom.ClientConfig{BaseURL: sim.URL, CorpID: sim.CorpID(), Secret: sim.Secret()})
}

func TestARestartedSimulatorKnowsWhatWasPublished(t *testing.T) {
	ctx := context.Background()
	now := day0.Add(10 * time.Hour)
	clock := func() time.Time { return now }
	state := filepath.Join(t.TempDir(), "wecomsim.json")

	sim, client := seeded(t, clock, state)
	job, err := client.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "冬季限定礼盒今日开售"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.GetMomentTaskResult(ctx, job)
	if err != nil || res.Result.MomentID == "" {
		t.Fatalf("moment job: %+v, %v", res, err)
	}
	momentID := res.Result.MomentID
	msg, err := client.AddMsgTemplate(ctx, wecom.MsgTemplate{Text: &wecom.Text{Content: "会员日"}})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(48 * time.Hour)
	before := sim.MomentTruth(momentID)
	sim.Close()

	restarted, client2 := seeded(t, clock, state)
	tests := []struct {
		name  string
		check func() error
	}{
		{"the Moment's task list still answers instead of 41060 invalid moment id", func() error {
			_, err := client2.GetMomentTask(ctx, wecom.MomentTaskRequest{MomentID: momentID})
			return err
		}},
		{"the Moment's funnel is the same as before the restart", func() error {
			if got := restarted.MomentTruth(momentID); got != before || got.Reached == 0 {
				return errors.New("funnel changed or empty")
			}
			return nil
		}},
		{"the Moment job's result can still be read", func() error {
			r, err := client2.GetMomentTaskResult(ctx, job)
			if err == nil && r.Result.MomentID != momentID {
				return errors.New("job result names another Moment")
			}
			return err
		}},
		{"the group message's task list still answers", func() error {
			_, err := client2.GetGroupMsgTask(ctx, wecom.GroupMsgTaskRequest{MsgID: msg.MsgID})
			return err
		}},
		{"a new Moment gets a new id, not one given out before", func() error {
			j, err := client2.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "早安"}})
			if err != nil {
				return err
			}
			r, err := client2.GetMomentTaskResult(ctx, j)
			if err == nil && (r.Result.MomentID == momentID || j == job) {
				return errors.New("an id was given out twice")
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMomentEngagementArrivesWithinTheConfiguredWindows(t *testing.T) {
	ctx := context.Background()
	now := day0.Add(10 * time.Hour)
	sim, client := seeded(t, func() time.Time { return now }, "")
	sim.SetEngagement(wecomsim.Engagement{PublishPercent: 100, PublishWithin: time.Minute, ReachWithin: 2 * time.Minute,
		LikePercent: 30, CommentPercent: 10, ReactWithin: 2 * time.Minute})
	job, err := client.AddMomentTask(ctx, wecom.MomentTask{Text: &wecom.Text{Content: "新品"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.GetMomentTaskResult(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * time.Minute)
	got := sim.MomentTruth(res.Result.MomentID)
	t.Run("every member has published six minutes later", func(t *testing.T) {
		if got.Published != got.Targeted || got.Published == 0 {
			t.Errorf("published %d of %d", got.Published, got.Targeted)
		}
	})
	t.Run("customers were reached and reacted within minutes", func(t *testing.T) {
		if got.Reached == 0 || got.Engaged == 0 {
			t.Errorf("reached %d, engaged %d", got.Reached, got.Engaged)
		}
	})
}

func TestARestartedSimulatorKnowsItsChannelsAndTags(t *testing.T) {
	ctx := context.Background()
	now := day0.Add(10 * time.Hour)
	clock := func() time.Time { return now }
	state := filepath.Join(t.TempDir(), "wecomsim.json")

	sim, client := seeded(t, clock, state)
	members := sim.Members()
	group, err := client.AddCorpTag(ctx, wecom.CorpTagAdd{GroupName: "渠道来源", Tags: []wecom.NewCorpTag{{Name: "门店"}, {Name: "新客"}, {Name: "旧"}}})
	if err != nil {
		t.Fatal(err)
	}
	gone := group.Tags[2].ID
	if err := client.DelCorpTag(ctx, []string{gone}, nil); err != nil {
		t.Fatal(err)
	}
	way, err := client.AddContactWay(ctx, wecom.ContactWay{Type: wecom.ContactWayMulti, Scene: wecom.ContactWaySceneQRCode,
		State: "store-qr", User: []string{members[0].UserID, members[1].UserID}, SkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	link, err := client.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: "抖音直播",
		Range: wecom.AcquisitionRange{UserList: []string{members[0].UserID}}, SkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	// answers reads what Siyu asks WeCom about channels and tags.
	answers := func(c *wecom.Client) []any {
		t.Helper()
		w, err1 := c.GetContactWay(ctx, way.ConfigID)
		ways, err2 := c.ListContactWays(ctx, wecom.ContactWayListRequest{})
		l, err3 := c.GetAcquisitionLink(ctx, link.LinkID)
		links, err4 := c.ListAcquisitionLinks(ctx, "", 0)
		lib, err5 := c.GetCorpTagList(ctx, nil, nil)
		deleted, err6 := c.GetCorpTagList(ctx, []string{gone}, nil)
		if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
			t.Fatal(err)
		}
		return []any{w, ways, l, links, lib, deleted}
	}
	before := answers(client)
	now = now.Add(time.Hour)
	sim.Close()

	restarted, client2 := seeded(t, clock, state)
	after := answers(client2)
	names := []string{"get_contact_way", "list_contact_way", "customer_acquisition/get", "list_link",
		"get_corp_tag_list", "get_corp_tag_list of a deleted tag"}
	for i, name := range names {
		t.Run(name+" answers as before the restart", func(t *testing.T) {
			if !reflect.DeepEqual(after[i], before[i]) {
				t.Errorf("after %+v\nbefore %+v", after[i], before[i])
			}
		})
	}
	t.Run("a customer arrives through the restored way with its state and takes its tags", func(t *testing.T) {
		rc := newReceiver(t, restarted)
		customer := restarted.NewCustomerID()
		ev, err := restarted.ArriveThroughContactWay(ctx, way.ConfigID, customer, now)
		if err != nil {
			t.Fatal(err)
		}
		if ev.State != "store-qr" || len(rc.received()) != 1 {
			t.Fatalf("event %+v, %d callbacks", ev, len(rc.received()))
		}
		tags := []string{group.Tags[0].ID, group.Tags[1].ID}
		if err := client2.MarkTag(ctx, wecom.MarkTagRequest{UserID: ev.UserID, ExternalUserID: customer, AddTag: tags}); err != nil {
			t.Fatal(err)
		}
		if got := restarted.TagsOf(ev.UserID, customer); !slices.Equal(got, tags) {
			t.Errorf("tags %v, want %v", got, tags)
		}
	})
	t.Run("a new way and a new tag get ids not given out before", func(t *testing.T) {
		w, err := client2.AddContactWay(ctx, wecom.ContactWay{Type: wecom.ContactWaySingle, Scene: wecom.ContactWaySceneQRCode,
			User: []string{members[0].UserID}})
		if err != nil {
			t.Fatal(err)
		}
		g, err := client2.AddCorpTag(ctx, wecom.CorpTagAdd{GroupID: group.GroupID, Tags: []wecom.NewCorpTag{{Name: "复购"}}})
		if err != nil {
			t.Fatal(err)
		}
		if w.ConfigID == way.ConfigID || slices.ContainsFunc(group.Tags, func(tag wecom.CorpTag) bool { return tag.ID == g.Tags[0].ID }) {
			t.Errorf("an id was given out twice: way %s, tag %s", w.ConfigID, g.Tags[0].ID)
		}
	})
}

func TestAStateFileFromBeforeChannelsWereKeptStillLoads(t *testing.T) {
	state := filepath.Join(t.TempDir(), "wecomsim.json")
	old := `{"seq":1,"moments":[],"group_msgs":[],"jobs":[],"personal_seq":0,"personal":[]}`
	if err := os.WriteFile(state, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	_, client := seeded(t, func() time.Time { return day0.Add(10 * time.Hour) }, state)
	ways, err := client.ListContactWays(context.Background(), wecom.ContactWayListRequest{})
	if err != nil || len(ways.ConfigIDs) != 0 {
		t.Errorf("ways %+v, %v; want none", ways, err)
	}
}
