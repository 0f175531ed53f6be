package lambdaedge

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/secrets/awssecrets"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
)

// OpenStore opens the store SIYU_STORE names. For "dynamodb:TABLE" it builds
// the client from what Lambda puts in the environment — AWS_REGION and the
// execution role's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN
// — plus the SDK's standard AWS_ENDPOINT_URL_DYNAMODB override, instead of
// walking the SDK's default configuration chain (shared files, SSO, web
// identity, instance metadata), none of which exists in Lambda and which
// costs about 20 ms of every cold start. Without credentials in the
// environment it falls back to store.Open and that chain.
func OpenStore(ctx context.Context, dsn string, opts ...store.Option) (store.Store, error) {
	table, ok := strings.CutPrefix(dsn, "dynamodb:")
	region, creds, haveCreds := awssecrets.EnvCredentials()
	if !ok || !haveCreds {
		return store.Open(ctx, dsn, opts...)
	}
	if table == "" {
		return nil, fmt.Errorf("SIYU_STORE %q names no table", dsn)
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	}
	c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		for _, name := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"} {
			if ep := os.Getenv(name); ep != "" {
				o.BaseEndpoint = aws.String(ep)
				return
			}
		}
	})
	return dynamostore.New(c, table, opts...), nil
}
