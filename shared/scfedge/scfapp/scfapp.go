// Package scfapp starts an app-based function (api, poster, rollup) on
// Tencent Cloud SCF, over the mysql store (TDSQL-C).
package scfapp

import (
	"context"
	"log/slog"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/memlimit"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
)

// Start builds the app once per cold start from the environment (SCF keeps
// it encrypted at rest) and hands serve's handler to the runtime.
func Start(function string, serve func(*app.App) any) {
	memlimit.Set(os.Getenv, memlimit.SCF)
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
	slog.SetDefault(logger)
	fail := func(msg string, err error) {
		logger.Error(msg, "err", err.Error())
		os.Exit(1)
	}
	cfg, err := config.FromEnv()
	if err != nil {
		fail("configuration", err)
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		fail("start", err)
	}
	cloudfunction.Start(serve(a))
}
