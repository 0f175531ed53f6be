// Package root is the rollup function's composition root: the nightly
// chain (sync → rollup, which adopts unknown channel states → moments →
// report) and each step alone, for
// backfills. It links no dashboard, callback or API code.
package root

import (
	"context"
	"errors"
	"fmt"
	"time"

	posterroot "github.com/siyuhq/siyu/functions/poster/root"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/report"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Timers are the jobs this function's timers may name.
var Timers = []string{"nightly", "rollup", "sync", "moments", "report"}

// errNoWeCom is what a job that calls WeCom reports without credentials.
var errNoWeCom = errors.New("WECOM_CORP_ID and WECOM_SECRET are not set: this job calls WeCom's API")

// Moments is the Moments conversion service over d, reading the posts ps
// sent.
func Moments(d start.Deps, wc *wecom.Client, ps *posts.Service) *moments.Service {
	return moments.New(d.Store, wc, ps, d.Config.Loc, d.Config.PublicURL, d.Logger, d.Now)
}

// Jobs are the nightly steps and the chain that runs them, over the WeCom
// client wc (nil without credentials) and the Moments service ms.
func Jobs(d start.Deps, wc *wecom.Client, ms *moments.Service) *jobs.Registry {
	cfg := d.Config
	reg := jobs.NewRegistry(d.Logger)

	reg.Add("rollup", AdoptAfter(churn.New(d.Store, cfg.Loc, d.Logger, d.Now).Job(), d))

	if wc != nil {
		reg.Add("sync", contactsync.New(d.Store, wc, cfg.CorpID, cfg.Loc, d.Logger, d.Now).Job())
	} else {
		reg.Add("sync", func(context.Context, jobs.Request) (jobs.Result, error) { return nil, errNoWeCom })
	}

	reg.Add("moments", ms.Job)

	// The group robot's webhook needs no access token.
	robot := wc
	if robot == nil {
		robot = wecom.NewClient(wecom.ClientConfig{BaseURL: cfg.APIBase})
	}
	reg.Add("report", report.New(d.Store, robot, cfg.ReportWebhook, cfg.ReportLang, cfg.Loc, d.Logger, d.Now).Job())

	AddNightly(reg, d.Now, cfg.Loc)
	return reg
}

// NightlySteps are what the nightly chain runs, in order.
var NightlySteps = []string{"sync", "rollup", "moments", "report"}

// AddNightly registers the nightly chain over reg's steps. sync runs first,
// so callbacks it recovers are counted the same night; moments reads WeCom
// as it stands now, so it sits a backfill out.
func AddNightly(reg *jobs.Registry, now func() time.Time, loc *time.Location) {
	reg.Chain("nightly", NightlySteps, []string{"moments"}, now, loc)
}

// New is the function: the nightly timer and its backfills.
func New(_ context.Context, d start.Deps) (start.Function, error) {
	wc := d.WeCom()
	ms := Moments(d, wc, posterroot.Posts(d, wc))
	return start.Function{Jobs: Jobs(d, wc, ms).Only(Timers...)}, nil
}

// AdoptAfter runs rollup, then adopts as unnamed channels the states of
// the days it stored that no channel owns (channels.Adopt): the per-channel
// rows it just wrote name them, so the cost follows the days rolled, and
// no read ever writes.
func AdoptAfter(rollup jobs.Func, d start.Deps) jobs.Func {
	return func(ctx context.Context, req jobs.Request) (jobs.Result, error) {
		res, err := rollup(ctx, req)
		if err != nil {
			return res, err
		}
		from, err1 := calendar.Parse(fmt.Sprint(res["from"]))
		to, err2 := calendar.Parse(fmt.Sprint(res["to"]))
		if err := errors.Join(err1, err2); err != nil {
			return res, fmt.Errorf("adopt channels: the rollup's days: %w", err)
		}
		rows, err := churn.ChannelRange(ctx, d.Store, from, to)
		if err != nil {
			return res, fmt.Errorf("adopt channels: %w", err)
		}
		states := make([]string, 0, len(rows))
		for _, f := range rows {
			if f.Channel != nil {
				states = append(states, *f.Channel)
			}
		}
		now := time.Now
		if d.Now != nil {
			now = d.Now
		}
		n, err := channels.Adopt(ctx, d.Store, states, now())
		if err != nil {
			return res, fmt.Errorf("adopt channels: %w", err)
		}
		res["channels_adopted"] = n
		return res, nil
	}
}
