package app

import (
	"context"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/dashboard"
)

// mountDomains adds each domain's routes and jobs. One block per domain.
func mountDomains(ctx context.Context, a *App) {
	_ = ctx
	// Churn: the nightly rollup and the stats it stores.
	rollup := churn.New(a.Store, a.Cfg.Loc, a.Logger)
	a.Jobs["rollup"] = rollup.Job()
	api.MountStats(a.API, a.Store)
	// The dashboard page; it reads the API above with the operator's token.
	a.API.Public("GET /{$}", dashboard.Handler)
}
