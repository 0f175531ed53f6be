// Package root is the poster function's composition root: the posts service
// over the store and the WeCom client, and its one job. The poster links no
// rollup, sync, report, dashboard, callback or API code.
package root

import (
	"context"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Posts is the posts service over d and the WeCom client c. Scheduling
// works without WeCom credentials (c nil); sending needs them.
func Posts(d start.Deps, c *wecom.Client) *posts.Service {
	return posts.New(d.Store, c, d.Config.Loc, d.Logger, d.Now)
}

// Jobs is the poster's one job over ps: send what is due and follow what
// was sent.
func Jobs(d start.Deps, ps *posts.Service) *jobs.Registry {
	reg := jobs.NewRegistry(d.Logger)
	reg.Add("poster", ps.Job)
	return reg
}

// Timers are the jobs this function's timers may name.
var Timers = []string{"poster"}

// New is the function: the every-minute timer.
func New(_ context.Context, d start.Deps) (start.Function, error) {
	return start.Function{Jobs: Jobs(d, Posts(d, d.WeCom())).Only(Timers...)}, nil
}
