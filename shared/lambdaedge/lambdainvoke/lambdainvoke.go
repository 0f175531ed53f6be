// Package lambdainvoke hands the callback's newly stored add and delete
// events to the poster function by asynchronous invoke (InvocationType
// Event), so the poster — which, unlike the callback, may call WeCom from
// the trusted egress IP — greets and tags within seconds while the callback
// answers WeCom without waiting. Only the callback's Lambda build links it.
package lambdainvoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/secrets/awssecrets"
	"github.com/siyuhq/siyu/shared/start"
)

// FunctionVar names the function to invoke (config.FirstTouchFunction):
// the poster, whose job registry serves the "firsttouch" job.
const FunctionVar = "SIYU_FIRSTTOUCH_FUNCTION"

// Job is the job the invoke asks for.
const Job = "firsttouch"

// Timeout bounds one invoke. An Event invoke only queues the payload
// (tens of milliseconds); one that takes longer is dropped to the sweep,
// well inside WeCom's 5 s.
const Timeout = time.Second

// Client is the part of the Lambda client the invoker uses.
type Client interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Invoker invokes Function asynchronously with {"job":"firsttouch","key":…}.
type Invoker struct {
	Client   Client
	Function string
	Logger   *slog.Logger
}

// Dispatch queues rec's first-touch work on the poster. It runs before
// the callback's 200, since Lambda freezes the function once it has
// answered; a failure is logged and left to the poster's sweep.
func (i *Invoker) Dispatch(ctx context.Context, rec events.Record) {
	payload, _ := json.Marshal(jobs.Request{Job: Job, Key: rec.Key})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	_, err := i.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(i.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		i.Logger.LogAttrs(ctx, slog.LevelWarn, "first-touch invoke failed: the poster's sweep will do it",
			slog.String("event", rec.Key), slog.String("function", i.Function), slog.String("err", err.Error()))
	}
}

// FromEnv builds the invoker from Lambda's environment: the function named
// by FunctionVar (read into the configuration), the execution role's credentials, and the SDK's standard
// AWS_ENDPOINT_URL_LAMBDA override. Without FunctionVar it returns nil and
// the sweep alone does the work (a minute late: welcomes are then lost).
func FromEnv(d start.Deps) (*Invoker, error) {
	fn := d.Config.FirstTouchFunction
	if fn == "" {
		d.Logger.Warn(FunctionVar + " is not set: first touch waits for the poster's every-minute sweep, too late for welcome messages")
		return nil, nil
	}
	region, creds, ok := awssecrets.EnvCredentials()
	if !ok {
		return nil, fmt.Errorf("%s is set but AWS_REGION and the role's credentials are not in the environment", FunctionVar)
	}
	c := lambda.New(lambda.Options{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	}, func(o *lambda.Options) {
		for _, name := range []string{"AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"} {
			if ep := os.Getenv(name); ep != "" {
				o.BaseEndpoint = aws.String(ep)
				return
			}
		}
	})
	return &Invoker{Client: c, Function: fn, Logger: d.Logger}, nil
}

// Dispatch is FromEnv as the callback root takes it: the invoker's
// Dispatch, or nil to leave the work to the sweep.
func Dispatch(d start.Deps) (func(context.Context, events.Record), error) {
	inv, err := FromEnv(d)
	if inv == nil || err != nil {
		return nil, err
	}
	return inv.Dispatch, nil
}
