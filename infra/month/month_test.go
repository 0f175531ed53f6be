package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/testutil"
	"github.com/siyuhq/siyu/shared/wecom"
)

// TestMain serves the stack as the month's child when asked to (the run
// kills it with SIGKILL and starts another).
func TestMain(m *testing.M) {
	if os.Getenv(ChildEnv) == "1" {
		if err := ServeChild(); err != nil {
			os.Stderr.WriteString("month child: " + err.Error() + "\n")
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// stackSendsWelcomes switches on the check that every fresh welcome code
// was greeted exactly once: the stack's first-touch queue greets with the
// brand's default welcome. "At most once per code" is checked either way.
const stackSendsWelcomes = true

// monthOptions is the brand make test lives through: small enough for
// both stores to take well under three minutes together.
func monthOptions() Options {
	return Options{Seed: 20261201, Customers: 400, Days: 30, First: testclock.Day(2026, 3, 2), Faults: true, Kills: 2,
		WelcomesSent: stackSendsWelcomes}
}

func requireNoMismatch(t *testing.T, f Figures, err error) {
	t.Helper()
	t.Log("\n" + f.Summary())
	if err != nil {
		t.Fatal(err)
	}
	if f.Mismatches != 0 {
		t.Errorf("%d figures differ from the ground truth", f.Mismatches)
	}
	if f.Panics != 0 || f.Unexpected5xx != 0 {
		t.Errorf("panics %d, unexpected 5xx %d", f.Panics, f.Unexpected5xx)
	}
	if stackSendsWelcomes && f.WelcomesSent == 0 {
		t.Error("no welcome sent: the exactly-once check passed on nothing")
	}
	if f.Kills != 2 {
		t.Errorf("kills survived %d, want 2", f.Kills)
	}
	if f.Reconciled == 0 || f.Lost == 0 {
		t.Errorf("the outage lost %d callbacks and the sync recovered %d: the outage did not happen", f.Lost, f.Reconciled)
	}
	if f.PostsSent != f.PostsScheduled || f.TicksDied == 0 {
		t.Errorf("posts sent %d of %d, ticks died %d", f.PostsSent, f.PostsScheduled, f.TicksDied)
	}
}

func TestAMonthUnderFaultsEqualsTheTruthOnSQLite(t *testing.T) {
	opts := monthOptions()
	f, err := RunOnSQLite(t.Context(), filepath.Join(t.TempDir(), "month.db"), opts, os.Args[0], []string{"-test.run=^$"})
	requireNoMismatch(t, f, err)
}

func TestAMonthUnderFaultsEqualsTheTruthOnDynalite(t *testing.T) {
	if testing.Short() || testclock.Years() != 0 {
		t.Skip("short or dates moved (make test-dates): the SQLite month covers the dates and the logic")
	}
	opts := monthOptions()
	opts.Clock = testclock.New(opts.First.Start(wecom.Beijing))
	endpoint := testutil.Dynalite(t)
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err := dynamostore.CreateTable(t.Context(), client, "siyu"); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(client, "siyu", store.WithClock(opts.Clock.Now))
	opts.Child = func(ctx context.Context, env map[string]string, stderr io.Writer) (*Child, error) {
		env["SIYU_STORE"] = "dynamodb:siyu"
		env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
		env["AWS_REGION"] = "us-east-1"
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "test", "test"
		return StartChild(ctx, os.Args[0], []string{"-test.run=^$"}, env, stderr)
	}
	f, err := Run(t.Context(), st, opts)
	requireNoMismatch(t, f, err)
}
