package posts_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/testutil"
)

// openDynalite starts dynalite for the test (skipped with an install hint
// when absent, fatal under CI) and returns a store over a fresh table.
func openDynalite(t testing.TB) store.Store {
	t.Helper()
	endpoint := testutil.Dynalite(t)
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("x", "x", ""),
	})
	if err := dynamostore.CreateTable(context.Background(), client, "siyu"); err != nil {
		t.Fatal(err)
	}
	return dynamostore.New(client, "siyu")
}
