package lambdainvoke_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/lambdaedge/lambdainvoke"
	"github.com/siyuhq/siyu/shared/wecom"
)

type fakeLambda struct {
	in  []*lambda.InvokeInput
	err error
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = append(f.in, in)
	if _, ok := ctx.Deadline(); !ok {
		return nil, errors.New("invoke without a deadline")
	}
	return &lambda.InvokeOutput{StatusCode: 202}, f.err
}

func TestAnAddEventIsQueuedOnThePosterAsAFirstTouchJob(t *testing.T) {
	fake := &fakeLambda{}
	inv := &lambdainvoke.Invoker{Client: fake, Function: "siyu-PosterFunction", Logger: slog.New(slog.DiscardHandler)}
	rec := events.Record{Event: wecom.Event{Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact}, Key: "abc123"}
	inv.Dispatch(context.Background(), rec)
	if len(fake.in) != 1 {
		t.Fatalf("%d invokes, want 1", len(fake.in))
	}
	in := fake.in[0]
	if in.InvocationType != types.InvocationTypeEvent || *in.FunctionName != "siyu-PosterFunction" {
		t.Errorf("invoke %s of %s, want an Event invoke of the poster", in.InvocationType, *in.FunctionName)
	}
	// The poster reads the payload as strictly as a timer's.
	req, err := lambdaedge.DecodeJob(in.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if req != (jobs.Request{Job: "firsttouch", Key: "abc123"}) {
		t.Errorf("payload %s read as %+v", in.Payload, req)
	}
}

func TestAFailedInvokeIsLoggedAndLeftToTheSweep(t *testing.T) {
	var logs bytes.Buffer
	inv := &lambdainvoke.Invoker{Client: &fakeLambda{err: errors.New("throttled")}, Function: "poster", Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	inv.Dispatch(context.Background(), events.Record{Key: "k"})
	if !strings.Contains(logs.String(), "the poster's sweep will do it") {
		t.Errorf("logs %q do not say the sweep takes over", logs.String())
	}
}
