// Command rollup is the nightly timer (00:05 Asia/Shanghai): it rolls up the
// day's customer churn, group churn and cohorts, re-running the days whose
// cohorts are still open, and serves backfills ({"date"} or {"from","to"}).
//
// This file is the wiring shared by every runtime. main() lives in the
// runtime edge files (lambda.go, scf.go, chosen by build tag), which load
// the configuration their way, link the store adapter their cloud uses,
// call newJob and hand the job to the runtime.
package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
)

// newJob opens the store named by SIYU_STORE and returns the "rollup" job.
// It runs once per cold start.
func newJob(ctx context.Context, cfg config.Config, logger *slog.Logger) (jobs.Func, store.Store, error) {
	if err := cfg.Require("SIYU_STORE"); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	return churn.New(st, cfg.Loc, logger).Job(), st, nil
}
