//go:build !scf

package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/lambdaedge"
)

func main() {
	ctx := context.Background()
	logger := newLogger()
	cfg, err := lambdaedge.LoadConfig(ctx)
	if err != nil {
		fatal(logger, "configuration", err)
	}
	// The DynamoDB client is built from Lambda's environment, not the SDK's
	// default config chain, which costs tens of milliseconds of cold start.
	st, err := lambdaedge.OpenStore(ctx, cfg.Store)
	if err != nil {
		fatal(logger, "open store", err)
	}
	a, err := app.New(ctx, cfg, st, logger)
	if err != nil {
		fatal(logger, "start", err)
	}
	lambda.Start(lambdaedge.Job(a.Dispatch(allowed...)))
}
