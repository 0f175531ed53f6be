package app

import (
	"context"
	"errors"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/dashboard"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
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

	// The dashboard page; it reads the API above with the operator's token.
	a.API.Public("GET /{$}", dashboard.Handler)
}
