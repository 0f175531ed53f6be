// Package dynalitetest opens a DynamoDB store on a dynalite server started
// for one test, for packages that run their own tests on every adapter.
package dynalitetest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/testutil"
)

// Open starts dynalite on 127.0.0.1 (skipped with an install hint when it is
// absent, fatal under CI; stopped by PID when the test ends) and returns a
// store over a fresh table. Pass the test's clock with store.WithClock.
func Open(tb testing.TB, opts ...store.Option) *dynamostore.Store {
	tb.Helper()
	endpoint := testutil.Dynalite(tb)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if err := dynamostore.CreateTable(tb.Context(), client, "siyu"); err != nil {
		tb.Fatal(err)
	}
	return dynamostore.New(client, "siyu", opts...)
}
