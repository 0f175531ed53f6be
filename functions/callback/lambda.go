//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/functions/callback/root"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/lambdaedge/lambdainvoke"
)

// main serves the callback behind a Lambda Function URL (BUFFERED). Build:
// CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,timetzdata
// -trimpath -ldflags="-s -w" -o bootstrap ./functions/callback
//
// New add and delete events go to the poster by asynchronous invoke
// (SIYU_FIRSTTOUCH_FUNCTION), which greets and tags them.
func main() { lambdaedge.Start("callback", root.NewWith(lambdainvoke.Dispatch)) }
