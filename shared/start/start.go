// Package start is the one start path of every function on every runtime.
// Once per cold start it sets the memory limit, makes the logger, loads the
// configuration (secrets resolved) and opens the store; then the function's
// composition root (functions/<name>/root) builds exactly the services that
// function uses, and the runtime serves what the root returns.
//
// A cloud edge supplies a Runtime (lambdaedge.Runtime, scfedge.Runtime);
// the local stack calls the roots itself with its own Deps.
package start

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/memlimit"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Deps is what every composition root is built from.
type Deps struct {
	Config config.Config
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock every service reads; the local demo replays a
	// month of history on it.
	Now func() time.Time
}

// WeCom is the API client for the configured corp, or nil when
// WECOM_CORP_ID or WECOM_SECRET is not set (the services that need it then
// say so when they run).
func (d Deps) WeCom() *wecom.Client {
	c := d.Config
	if c.CorpID == "" || c.Secret == "" {
		return nil
	}
	return wecom.NewClient(wecom.ClientConfig{BaseURL: c.APIBase, CorpID: c.CorpID, Secret: c.Secret, Store: d.Store, Now: d.Now, Logger: d.Logger})
}

// Function is what a composition root hands its runtime: the handler of an
// HTTP function (callback, api) or the jobs of a timer function (poster,
// rollup).
type Function struct {
	HTTP http.Handler
	Jobs jobs.Func
}

// Root builds a function from its dependencies.
type Root func(ctx context.Context, d Deps) (Function, error)

// Runtime is what a cloud edge supplies to Run.
type Runtime struct {
	// MemoryVar names the environment variable with the function's memory
	// in MB (memlimit.Lambda, memlimit.SCF).
	MemoryVar  string
	LoadConfig func(ctx context.Context) (config.Config, error)
	OpenStore  func(ctx context.Context, spec string, opts ...store.Option) (store.Store, error)
	ServeHTTP  func(http.Handler)
	ServeJobs  func(jobs.Func)
}

// Run starts function on rt with root. A start that cannot serve exits
// with the reason logged; the runtime reports the failed init.
func Run(rt Runtime, function string, root Root) {
	memlimit.Set(os.Getenv, rt.MemoryVar)
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
	slog.SetDefault(logger)
	fail := func(msg string, err error) {
		logger.Error(msg, "err", err.Error())
		os.Exit(1)
	}
	cfg, err := rt.LoadConfig(ctx)
	if err != nil {
		fail("configuration", err)
	}
	if err := cfg.Require("SIYU_STORE"); err != nil {
		fail("configuration", err)
	}
	st, err := rt.OpenStore(ctx, cfg.Store)
	if err != nil {
		fail("open store", err)
	}
	fn, err := root(ctx, Deps{Config: cfg, Store: st, Logger: logger, Now: time.Now})
	if err != nil {
		fail("start", err)
	}
	switch {
	case fn.HTTP != nil:
		rt.ServeHTTP(fn.HTTP)
	case fn.Jobs != nil:
		rt.ServeJobs(fn.Jobs)
	default:
		fail("start", errNothingToServe)
	}
}

var errNothingToServe = errors.New("the composition root returned neither a handler nor jobs")
