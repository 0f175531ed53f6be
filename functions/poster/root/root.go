// Package root is the poster function's composition root: the posts service
// and the first-touch service over the store and the WeCom client, and
// their jobs. The poster links no rollup, sync, report, dashboard, callback
// or API code. It and the api are the functions that call WeCom, so they
// are the ones that need the corp's trusted egress IP (企业可信IP).
package root

import (
	"context"
	"strconv"

	"github.com/siyuhq/siyu/shared/alerts"
	"github.com/siyuhq/siyu/shared/firsttouch"
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

// Steps are the first-touch work beyond welcomes and tags, run on every
// stored add and delete event (the churn alert and 删人提醒 plug in here).
func Steps(d start.Deps, c *wecom.Client) []firsttouch.Step {
	cfg := d.Config
	agent, _ := strconv.Atoi(cfg.AgentID) // config.Load refused a malformed WECOM_AGENT_ID; 0 = not configured
	return []firsttouch.Step{alerts.New(d.Store, c, agent, cfg.Loc, cfg.ReportLang, d.Logger, d.Now)}
}

// FirstTouch is the first-touch service over d and the WeCom client c
// (nil without credentials: welcomes and tags then fail and stay pending
// until they expire), with steps after the welcome and the tags.
func FirstTouch(d start.Deps, c *wecom.Client, steps ...firsttouch.Step) *firsttouch.Service {
	var wc firsttouch.WeCom
	if c != nil {
		wc = c
	}
	return firsttouch.New(d.Store, wc, d.Config.Loc, d.Logger, d.Now, steps...)
}

// Jobs are the poster's jobs: "posts" sends what is due and follows what
// was sent; "firsttouch" handles one event's first-touch work (the
// callback's asynchronous invoke names it) or sweeps what is left;
// "poster", the every-minute timer, runs both.
func Jobs(d start.Deps, ps *posts.Service, ft *firsttouch.Service) *jobs.Registry {
	reg := jobs.NewRegistry(d.Logger)
	reg.Add("posts", ps.Job)
	reg.Add("firsttouch", ft.Job)
	reg.Chain("poster", []string{"posts", "firsttouch"}, []string{"firsttouch"}, d.Now, d.Config.Loc)
	return reg
}

// Timers are the jobs this function's triggers may name: the timer's
// "poster" and the callback's "firsttouch" invokes.
var Timers = []string{"poster", "firsttouch"}

// New is the function: the every-minute timer and the first-touch worker.
func New(_ context.Context, d start.Deps) (start.Function, error) {
	wc := d.WeCom()
	return start.Function{Jobs: Jobs(d, Posts(d, wc), FirstTouch(d, wc, Steps(d, wc)...)).Only(Timers...)}, nil
}
