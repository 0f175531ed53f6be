//go:build !scf

package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	_ "github.com/siyuhq/siyu/shared/store/dynamostore"
)

func main() {
	ctx := context.Background()
	logger := newLogger()
	cfg, err := lambdaedge.LoadConfig(ctx)
	if err != nil {
		fatal(logger, "configuration", err)
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		fatal(logger, "start", err)
	}
	lambda.Start(lambdaedge.HTTP(a.Handler()))
}
