// Package root is the api function's composition root: the admin API
// (stats, posts, Moments, channels, tags, settings), tracked links, the operator console, and every job for
// POST /api/jobs/{job} — the same registries the poster and rollup timers
// run. It links no callback code.
package root

import (
	"context"
	"net/http"

	posterroot "github.com/siyuhq/siyu/functions/poster/root"
	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/dashboard"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/start"
)

// API is what the function serves, with the parts the local stack reuses.
type API struct {
	// Handler serves /api/*, /r/{token} and the dashboard at /.
	Handler http.Handler
	// Jobs are every job of Siyu: the poster's and the nightly's.
	Jobs *jobs.Registry
	// Posts schedules Moments and group messages (the local demo uses it).
	Posts *posts.Service
	// Moments follows their engagement (the local demo syncs it quietly).
	Moments *moments.Service
	// Channels manages channels, tags and settings (the local demo makes
	// its channels through it).
	Channels *channels.Service
	// FirstTouch greets and tags new customers (the local stack's queue
	// feeds it; the "firsttouch" job sweeps for it).
	FirstTouch *firsttouch.Service
	// Routes are every route with its auth, as registered.
	Routes []api.Route
}

// Build composes the API over d, with the poster's first-touch steps.
func Build(d start.Deps) *API {
	wc := d.WeCom()
	return BuildWith(d, posterroot.Steps(d, wc)...)
}

// BuildWith composes the API over d with steps as the first-touch steps.
func BuildWith(d start.Deps, steps ...firsttouch.Step) *API {
	cfg := d.Config
	wc := d.WeCom()
	ps := posterroot.Posts(d, wc)
	ms := rolluproot.Moments(d, wc, ps)
	ps.Links = ms // posts declares the link tracker it needs; moments is it

	reg := rolluproot.Jobs(d, wc, ms)
	ft := posterroot.FirstTouch(d, wc, steps...)
	reg.Merge(posterroot.Jobs(d, ps, ft))

	s := api.New(cfg.AdminToken, cfg.PublicURL, cfg.Loc, d.Logger, d.Now)
	if cfg.PublicURL == "" {
		d.Logger.Info("SIYU_PUBLIC_URL is not set: tracked links take their base from each API request's scheme and host")
	}
	api.MountStats(s, d.Store)
	api.MountPosts(s, ps)
	api.MountMoments(s, ms)
	cs := channels.New(d.Store, wc, cfg.Loc, d.Logger, d.Now)
	api.MountChannels(s, cs)
	api.MountJobs(s, reg)
	dashboard.New(cfg.Loc, d.Now).Mount(s)
	return &API{Handler: httpx.NoFraming(s), Jobs: reg, Posts: ps, Moments: ms, Channels: cs, FirstTouch: ft, Routes: s.Routes()}
}

// New is the function.
func New(_ context.Context, d start.Deps) (start.Function, error) {
	return start.Function{HTTP: Build(d).Handler}, nil
}
