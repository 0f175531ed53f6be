package churn_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
	"github.com/siyuhq/siyu/shared/testutil"
)

// TestRollupOnServerStores plays a history on the stores the clouds use —
// DynamoDB (dynalite: BatchGetItem, concurrent queries and writes) and
// MySQL (MariaDB: multi-row ON DUPLICATE KEY upserts) — and checks every
// number against one run over every event.
func TestRollupOnServerStores(t *testing.T) {
	h := newHistory(6, 40)
	want := h.want(t)

	t.Run("dynamodb", func(t *testing.T) {
		endpoint := testutil.Dynalite(t)
		client := dynamodb.New(dynamodb.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(endpoint),
			Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		})
		if err := dynamostore.CreateTable(t.Context(), client, "siyu"); err != nil {
			t.Fatal(err)
		}
		s := dynamostore.New(client, "siyu")
		h.play(t, s)
		h.check(t, "dynamodb", s, want)
	})
	t.Run("mysql", func(t *testing.T) {
		s, err := mysql.Open(t.Context(), testutil.MariaDB(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.play(t, s)
		h.check(t, "mysql", s, want)
	})
}
