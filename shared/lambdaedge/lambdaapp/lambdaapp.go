// Package lambdaapp starts an app-based function (api, poster, rollup) on
// AWS Lambda. The callback function does not use it: it links only the
// callback, not the whole app.
package lambdaapp

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/memlimit"
)

// Start builds the app once per cold start — configuration with *_PARAM
// secrets resolved, the DynamoDB client from Lambda's environment rather
// than the SDK's default chain — and hands serve's handler to the runtime.
// A start that cannot serve exits; Lambda reports the init failure.
func Start(function string, serve func(*app.App) any) {
	memlimit.Set(os.Getenv, memlimit.Lambda)
	ctx := context.Background()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", function)
	slog.SetDefault(logger)
	fail := func(msg string, err error) {
		logger.Error(msg, "err", err.Error())
		os.Exit(1)
	}
	cfg, err := lambdaedge.LoadConfig(ctx)
	if err != nil {
		fail("configuration", err)
	}
	st, err := lambdaedge.OpenStore(ctx, cfg.Store)
	if err != nil {
		fail("open store", err)
	}
	a, err := app.New(ctx, cfg, st, logger)
	if err != nil {
		fail("start", err)
	}
	lambda.Start(serve(a))
}
