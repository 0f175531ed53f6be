// Package root is the rollup function's composition root: the nightly
// chain (sync → rollup → moments → report) and each step alone, for
// backfills. It links no dashboard, callback or API code.
package root

import (
	"context"
	"errors"
	"time"

	posterroot "github.com/siyuhq/siyu/functions/poster/root"
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

	reg.Add("rollup", churn.New(d.Store, cfg.Loc, d.Logger, d.Now).Job())

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
