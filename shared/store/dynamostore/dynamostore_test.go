package dynamostore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testutil"
)

// dynalite starts dynalite and points the SDK's standard configuration at
// it, exactly as a local stack or CI does: only environment variables.
func dynalite(t testing.TB) *dynamodb.Client {
	t.Helper()
	endpoint := testutil.Dynalite(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":   endpoint,
		"AWS_ACCESS_KEY_ID":           "x",
		"AWS_SECRET_ACCESS_KEY":       "x",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_PROFILE":                 "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg)
}

func TestDynalite(t *testing.T) {
	client := dynalite(t)
	const table = "siyu"
	if err := dynamostore.CreateTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}

	t.Run("passes the conformance suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
			s, err := store.Open(context.Background(), "dynamodb:"+table, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})

	t.Run("CreateTable on an existing table is not an error", func(t *testing.T) {
		if err := dynamostore.CreateTable(t.Context(), client, table); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("an unknown table is an error with context", func(t *testing.T) {
		s := dynamostore.New(client, "no-such-table")
		_, err := s.Get(t.Context(), "p", "s")
		if err == nil || err == store.ErrNotFound {
			t.Fatalf("Get on a missing table: %v", err)
		}
		t.Log(err)
	})

	t.Run("keys that are not UTF-8 are refused", func(t *testing.T) {
		s := dynamostore.New(client, table)
		if _, err := s.Put(t.Context(), store.Item{PK: "p", SK: "\xff"}, store.Always); err == nil {
			t.Fatal("Put succeeded")
		}
	})
}

func ExampleCreateTable() {
	ctx := context.Background()
	cfg, _ := config.LoadDefaultConfig(ctx)
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, client, "siyu"); err != nil {
		fmt.Println(err)
	}
}
