package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/functions/callback/root"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/testutil"
)

// lambdaAWSEnv points the AWS SDK at dynalite with dummy credentials.
// lambdaTable starts dynalite, points this process's AWS SDK at it (the
// test reads the table the bootstraps write, through the same SDK), creates
// the table and opens it; awsEnv is the environment that points a bootstrap
// at it too.
func lambdaTable(t testing.TB) (awsEnv []string, st store.Store) {
	t.Helper()
	ctx := context.Background()
	awsEnv = lambdaAWSEnv(testutil.Dynalite(t))
	for _, kv := range awsEnv {
		k, v, _ := cutEnv(kv)
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}
	st, err = dynamostore.Open(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return awsEnv, st
}

// table is the bootstraps' table name.
const table = "siyu"

func lambdaAWSEnv(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_REGION=ap-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
	}
}

// TestLambdaEndToEnd builds the real bootstrap (for the host) and runs it
// under aws-lambda-rie, storing into dynalite, invoked with Function URL
// events as the Lambda service delivers them.
func TestLambdaEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the bootstrap and runs it under aws-lambda-rie and dynalite")
	}
	ctx := context.Background()
	awsEnv, st := lambdaTable(t)

	bin := testutil.BuildCommand(t, "./functions/callback", "bootstrap", []string{"lambda.norpc", "timetzdata"})
	fn := testutil.RIE(t, bin, append(append(wecomEnv(), awsEnv...), "SIYU_STORE=dynamodb:"+table)...)

	send := func(t *testing.T, c httpCall) httpReply {
		t.Helper()
		payload, err := json.Marshal(functionURLEvent(c))
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("invoke: %v\nrie and bootstrap output:\n%s", err, fn.Output.String())
		}
		var resp events.LambdaFunctionURLResponse
		decodeJSON(t, out, &resp)
		body := resp.Body
		if resp.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		return httpReply{Status: resp.StatusCode, Body: body}
	}
	runCallbackScenarios(t, send, st)
}

// functionURLEvent is the BUFFERED Function URL payload for c, with the
// body base64-encoded as Lambda does for content it does not treat as text.
func functionURLEvent(c httpCall) events.LambdaFunctionURLRequest {
	now := time.Now()
	ev := events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        root.Path,
		RawQueryString: c.RawQuery,
		Headers: map[string]string{
			"host":       "abcdefg.lambda-url.ap-east-1.on.aws",
			"user-agent": "Mozilla/4.0",
		},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", RequestID: "e2e", APIID: "abcdefg",
			DomainName: "abcdefg.lambda-url.ap-east-1.on.aws", DomainPrefix: "abcdefg",
			Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: c.Method, Path: root.Path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7", UserAgent: "Mozilla/4.0",
			},
		},
	}
	if c.Method == http.MethodPost {
		ev.Headers["content-type"] = "application/octet-stream"
		ev.Body = base64.StdEncoding.EncodeToString(c.Body)
		ev.IsBase64Encoded = true
	}
	return ev
}

func cutEnv(kv string) (string, string, bool) { return strings.Cut(kv, "=") }
