// Command hello is the cold-start baseline: the smallest Function URL
// function aws-lambda-go allows, built exactly like Siyu's bootstraps, so
// that a function's first-invoke latency and size can be compared with it.
// It lives under testdata so that ./... never builds it.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		return events.LambdaFunctionURLResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
