package wecomsim_test

import (
	"context"
	"errors"
	"path/filepath"
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
