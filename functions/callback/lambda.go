//go:build !scf

package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/memlimit"
)

// main serves the callback behind a Lambda Function URL (BUFFERED). Build:
// CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,timetzdata
// -trimpath -ldflags="-s -w" -o bootstrap ./functions/callback
func main() {
	memlimit.Set(os.Getenv, memlimit.Lambda)
	ctx := context.Background()
	logger := newLogger()
	cfg, err := lambdaedge.LoadConfig(ctx)
	if err != nil {
		fatal(logger, "configuration", err)
	}
	h, _, err := newHandler(ctx, cfg, lambdaedge.OpenStore, logger)
	if err != nil {
		fatal(logger, "start", err)
	}
	lambda.Start(lambdaedge.HTTP(h))
}
