package lambdaedge

import (
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/memlimit"
	"github.com/siyuhq/siyu/shared/start"
)

// Start runs a function on AWS Lambda: configuration with *_PARAM secrets
// resolved from SSM or Secrets Manager, the DynamoDB client from Lambda's
// environment (OpenStore), a Function URL for an HTTP function and
// EventBridge Scheduler's Input for a timer function.
func Start(function string, root start.Root) { start.Run(Runtime, function, root) }

// Runtime is Lambda's part of the start path.
var Runtime = start.Runtime{
	MemoryVar:  memlimit.Lambda,
	LoadConfig: LoadConfig,
	OpenStore:  OpenStore,
	ServeHTTP:  func(h http.Handler) { lambda.Start(HTTP(h)) },
	ServeJobs:  func(fn jobs.Func) { lambda.Start(Job(fn)) },
}
