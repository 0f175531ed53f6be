// Command poster is the every-minute timer: it sends due Moments and group
// messages exactly once and follows their WeCom jobs.
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

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// newJob opens the store named by SIYU_STORE, builds the WeCom client
// (its access token cached in the same table) and returns the "poster"
// job. It runs once per cold start.
func newJob(ctx context.Context, cfg config.Config, logger *slog.Logger) (jobs.Func, store.Store, error) {
	if err := cfg.Require("SIYU_STORE", "WECOM_CORP_ID", "WECOM_SECRET"); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	client := wecom.NewClient(wecom.ClientConfig{BaseURL: cfg.APIBase, CorpID: cfg.CorpID, Secret: cfg.Secret, Store: st, Logger: logger})
	return posts.New(st, client, cfg.Loc, logger).Job, st, nil
}
