package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testutil"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Release builds, as the Makefile makes them.
var (
	lambdaTags = []string{"lambda.norpc", "timetzdata"}
	scfTags    = []string{"scf", "timetzdata"}
)

// linkedModules lists the modules compiled into a Go binary.
func linkedModules(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m %s: %v\n%s", bin, err, out)
	}
	var mods []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "dep" || f[0] == "=>") {
			mods = append(mods, f[1])
		}
	}
	return mods
}

func hasModule(mods []string, prefix string) bool {
	return slices.ContainsFunc(mods, func(m string) bool { return strings.HasPrefix(m, prefix) })
}

// TestBinariesLinkOnlyTheirCloud builds the release binaries and reads the
// modules compiled into them: a Lambda bootstrap carries no SQLite, MySQL
// or SCF code, and an SCF binary no AWS code.
func TestBinariesLinkOnlyTheirCloud(t *testing.T) {
	if testing.Short() {
		t.Skip("builds release binaries")
	}
	tests := []struct {
		name     string
		tags     []string
		env      []string
		must     []string
		mustNot  []string
		fileName string
	}{
		{
			name: "the Lambda bootstrap links the AWS SDK and nothing of SQLite, MySQL or SCF",
			tags: lambdaTags, env: []string{"GOOS=linux", "GOARCH=arm64"}, fileName: "bootstrap",
			must:    []string{"github.com/aws/aws-lambda-go", "github.com/aws/aws-sdk-go-v2/service/dynamodb"},
			mustNot: []string{"modernc.org/sqlite", "github.com/go-sql-driver/mysql", "github.com/tencentyun/scf-go-lib"},
		},
		{
			name: "the SCF binary links scf-go-lib and MySQL and nothing of AWS or SQLite",
			tags: scfTags, env: []string{"GOOS=linux", "GOARCH=amd64"}, fileName: "main",
			must:    []string{"github.com/tencentyun/scf-go-lib", "github.com/go-sql-driver/mysql"},
			mustNot: []string{"github.com/aws/", "modernc.org/sqlite"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mods := linkedModules(t, testutil.BuildCommand(t, "./functions/callback", tt.fileName, tt.tags, tt.env...))
			for _, m := range tt.must {
				if !hasModule(mods, m) {
					t.Errorf("%s is not linked; modules: %v", m, mods)
				}
			}
			for _, m := range tt.mustNot {
				if hasModule(mods, m) {
					t.Errorf("%s is linked but must not be; modules: %v", m, mods)
				}
			}
		})
	}
}

// TestColdStartAndSize measures, without asserting, what BENCHMARKS.md
// reports under "Cold start & size": the first-invoke latency under
// aws-lambda-rie of the callback bootstrap against a hello-world
// aws-lambda-go bootstrap built the same way (rie starts the bootstrap on
// the first invocation, so it includes process start and init), and the
// size of the stripped linux/arm64 bootstraps. SIYU_COLDSTART_REPS sets the
// repetitions (default 9); run with -v to see the figures.
func TestColdStartAndSize(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement: builds bootstraps and starts each under aws-lambda-rie repeatedly")
	}
	reps := 9
	if v, err := strconv.Atoi(os.Getenv("SIYU_COLDSTART_REPS")); err == nil && v > 0 {
		reps = v
	}

	arm := []string{"GOOS=linux", "GOARCH=arm64"}
	sizeCallback := fileSize(t, testutil.BuildCommand(t, "./functions/callback", "bootstrap", lambdaTags, arm...))
	sizeHello := fileSize(t, testutil.BuildCommand(t, "./shared/testutil/testdata/hello", "bootstrap", lambdaTags, arm...))
	sizeSCF := fileSize(t, testutil.BuildCommand(t, "./functions/callback", "main", scfTags, "GOOS=linux", "GOARCH=amd64"))

	callbackBin := testutil.BuildCommand(t, "./functions/callback", "bootstrap", lambdaTags)
	helloBin := testutil.BuildCommand(t, "./shared/testutil/testdata/hello", "bootstrap", lambdaTags)

	// The callback's first request is WeCom's URL verification, which reads
	// no table; the store points at a port nothing listens on, so the
	// figure is init plus the handler and never waits on a database.
	crypter, err := wecom.NewCrypter(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	callbackEnv := append(append(wecomEnv(), lambdaAWSEnv("http://127.0.0.1:9")...), "SIYU_STORE=dynamodb:siyu")

	first := func(t *testing.T, bin string, env []string) time.Duration {
		fn := testutil.RIE(t, bin, env...)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		echostr, sig, err := crypter.SealEcho([]byte("cold"), ts, "1")
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"1"}, "echostr": {echostr}}
		payload, err := json.Marshal(functionURLEvent(httpCall{Method: "GET", RawQuery: q.Encode()}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, err := fn.Invoke(context.Background(), payload)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("invoke: %v\n%s", err, fn.Output.String())
		}
		if !strings.Contains(string(out), `"statusCode":200`) {
			t.Fatalf("first invoke answered %s\n%s", out, fn.Output.String())
		}
		return took
	}

	var cb, hello []time.Duration
	for i := range reps {
		// Alternate so that both see the same machine load.
		t.Run(fmt.Sprintf("rep %d", i+1), func(t *testing.T) {
			cb = append(cb, first(t, callbackBin, callbackEnv))
			hello = append(hello, first(t, helloBin, nil))
		})
	}
	mc, mh := median(cb), median(hello)
	t.Logf("first invoke under aws-lambda-rie, median of %d: callback %s, hello %s, ratio %.2f×",
		reps, mc.Round(100*time.Microsecond), mh.Round(100*time.Microsecond), float64(mc)/float64(mh))
	t.Logf("fastest of %d (least disturbed by other load): callback %s, hello %s, ratio %.2f×",
		reps, slices.Min(cb).Round(100*time.Microsecond), slices.Min(hello).Round(100*time.Microsecond),
		float64(slices.Min(cb))/float64(slices.Min(hello)))
	t.Logf("callback samples %v", cb)
	t.Logf("hello samples %v", hello)
	t.Logf("stripped linux/arm64 bootstrap: callback %s, hello %s; SCF linux/amd64 main: %s",
		mib(sizeCallback), mib(sizeHello), mib(sizeSCF))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB (%d bytes)", float64(n)/(1<<20), n) }
