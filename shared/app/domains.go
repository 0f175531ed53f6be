package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/dashboard"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/report"
	"github.com/siyuhq/siyu/shared/wecom"
)

// errNoWeCom is what a job that calls WeCom reports without credentials.
var errNoWeCom = errors.New("WECOM_CORP_ID and WECOM_SECRET are not set: this job calls WeCom's API")

// mountDomains adds each domain's routes and jobs. One block per domain;
// every component reads the app's clock so the demo can replay history.
func mountDomains(ctx context.Context, a *App) {
	_ = ctx
	now := a.now

	// Churn: the nightly rollup and the stats it stores.
	rollup := churn.New(a.Store, a.Cfg.Loc, a.Logger)
	rollup.Now = now
	a.Jobs["rollup"] = rollup.Job()
	api.MountStats(a.API, a.Store)

	// Baseline sync, reconciliation and WeCom's own per-member statistics.
	if a.WeCom != nil {
		sync := contactsync.New(a.Store, a.WeCom, a.Cfg.CorpID, a.Cfg.Loc, a.Logger)
		sync.Now = now
		a.Jobs["sync"] = sync.Job()
	} else {
		a.Jobs["sync"] = func(context.Context, jobs.Request) (jobs.Result, error) { return nil, errNoWeCom }
	}

	// The daily report to the group robot; the webhook needs no token.
	robot := a.WeCom
	if robot == nil {
		robot = wecom.NewClient(wecom.ClientConfig{BaseURL: a.Cfg.APIBase})
	}
	rep := report.New(a.Store, robot, a.Cfg.ReportWebhook, a.Cfg.Loc, a.Logger)
	rep.Now = now
	if a.Cfg.ReportLang != "" {
		rep.Lang = a.Cfg.ReportLang
	}
	a.Jobs["report"] = rep.Job()

	// Scheduled Moments and group messages. Scheduling works without WeCom
	// credentials; the poster needs them to send.
	var wc posts.WeCom
	if a.WeCom != nil {
		wc = a.WeCom
	}
	svc := posts.New(a.Store, wc, a.Cfg.Loc, a.Logger)
	svc.Now = now
	a.Posts = svc
	api.MountPosts(a.API, svc)
	a.Jobs["poster"] = svc.Job

	// Moments conversion: engagement sync, tracked links, the funnel.
	ms := moments.New(a.Store, a.WeCom, svc, a.Cfg.Loc, a.Cfg.PublicURL, a.Logger)
	ms.Now = now
	api.MountMoments(a.API, ms)
	a.Jobs["moments"] = ms.Job
	svc.Links = ms

	// The nightly timer: sync (reconcile first, so recovered callbacks are
	// counted tonight), rollup, then the report. A failed step does not stop
	// the next; the errors are returned together so the timer retries.
	// Asked for a date or range (a backfill), every step that works on days
	// gets it; moments reads WeCom's lists as they stand now, so it sits a
	// backfill out.
	a.Jobs["nightly"] = a.chain([]string{"sync", "rollup", "moments", "report"}, map[string]bool{"moments": true})

	// The dashboard page; it reads the API above with the operator's token.
	a.API.Public("GET /{$}", dashboard.Handler)
}

// chain runs the named jobs in order, skipping names not registered, and
// joins their errors. Each gets the chain's date or from/to (none: each
// job's nightly default); with a date, the steps in now (which work on the
// present, not on days) are skipped and say so. The days are checked
// before any step runs, so a bad request runs nothing.
func (a *App) chain(names []string, now map[string]bool) jobs.Func {
	return func(ctx context.Context, req jobs.Request) (jobs.Result, error) {
		dated := req.Date != "" || req.From != "" || req.To != ""
		if dated {
			if _, err := req.Days(a.now(), a.Cfg.Loc); err != nil {
				return nil, err
			}
		}
		out := jobs.Result{}
		var errs []error
		for _, name := range names {
			fn, ok := a.Jobs[name]
			if !ok {
				continue
			}
			if dated && now[name] {
				out[name] = map[string]any{"skipped": name + " reads WeCom as it stands now and takes no date"}
				continue
			}
			res, err := fn(ctx, jobs.Request{Job: name, Date: req.Date, From: req.From, To: req.To})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				out[name] = map[string]any{"error": err.Error()}
				continue
			}
			out[name] = res
		}
		return out, errors.Join(errs...)
	}
}
