package infra_test

// These tests hold the deploy descriptors (template.yaml for AWS SAM,
// infra/tencent/*/serverless.yml for Tencent SCF) to what the code expects:
// the functions the Makefile builds, the job names the timers may send, the
// configuration names shared/config reads, least-privilege permissions, and
// a table that survives a stack deletion. They check shape, not a live
// deploy: nothing here talks to a cloud.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"

	posterroot "github.com/siyuhq/siyu/functions/poster/root"
	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/secrets"
)

// function is one deployable function: its SAM logical id and directory.
type function struct {
	id, dir string
	// url is the AuthType of its function URL ("" for none; "param" when a
	// template parameter chooses).
	url string
}

var functions = []function{
	{id: "CallbackFunction", dir: "callback", url: "NONE"},
	{id: "PosterFunction", dir: "poster"},
	{id: "RollupFunction", dir: "rollup"},
	{id: "ApiFunction", dir: "api", url: "param"},
}

// knownJobs are the jobs the timer functions' roots run ("nightly" chains
// sync, rollup, moments and report). A timer's job must also be in its
// function's allowed list (see allowedJobs).
var knownJobs = append(append([]string{}, posterroot.Timers...), rolluproot.Timers...)

// timer is one schedule, the same on both clouds.
type timer struct {
	fn, event, expr, job string
	zoned                bool   // a cron in the business time zone
	scfCron              string // the SCF equivalent (UTC+8, 7 fields)
}

var timers = []timer{
	{fn: "PosterFunction", event: "EveryMinute", expr: "rate(1 minute)", job: "poster", scfCron: "0 * * * * * *"},
	{fn: "RollupFunction", event: "Nightly", expr: "cron(5 0 * * ? *)", job: "nightly", zoned: true, scfCron: "0 5 0 * * * *"},
}

// allowedJobs are the jobs functions/<dir>'s composition root lets its
// timers run; ok is false for a function without timers.
func allowedJobs(t *testing.T, dir string) (jobs []string, ok bool) {
	t.Helper()
	switch dir {
	case "poster":
		return posterroot.Timers, true
	case "rollup":
		return rolluproot.Timers, true
	}
	return nil, false
}

func dirOf(id string) string {
	for _, f := range functions {
		if f.id == id {
			return f.dir
		}
	}
	return ""
}

func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	tmpl, err := parseCFN(readFile(t, "template.yaml"))
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tmpl
}

// goformationGaps are properties SAM and CloudFormation accept that
// goformation's schema does not know yet; they are removed before handing
// the template to goformation and checked through the YAML walk instead.
var goformationGaps = map[string][]string{
	"AWS::Serverless::Function": {"LoggingConfig"},
	"AWS::Lambda::Permission":   {"InvokedViaFunctionUrl"},
}

func loadGoformation(t *testing.T, tmpl map[string]any) *cloudformation.Template {
	t.Helper()
	clone, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	if err := json.Unmarshal(clone, &cp); err != nil {
		t.Fatal(err)
	}
	for _, r := range asMap(cp["Resources"]) {
		for _, p := range goformationGaps[fmt.Sprint(asMap(r)["Type"])] {
			delete(asMap(asMap(r)["Properties"]), p)
		}
	}
	data, _ := json.Marshal(cp)
	gt, err := goformation.ParseJSON(data)
	if err != nil {
		t.Fatalf("goformation cannot load template.yaml: %v", err)
	}
	return gt
}

func TestTemplateIsCloudFormationThatGoformationLoads(t *testing.T) {
	tmpl := loadTemplate(t)
	gt := loadGoformation(t, tmpl)
	if gt.Transform == nil || gt.Transform.String == nil || *gt.Transform.String != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", gt.Transform)
	}
	fns := gt.GetAllServerlessFunctionResources()
	var ids []string
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var want []string
	for _, f := range functions {
		want = append(want, f.id)
	}
	sort.Strings(want)
	if !slices.Equal(ids, want) {
		t.Errorf("functions = %v, want %v", ids, want)
	}
}

func TestEveryFunctionIsBuiltByTheMakefileForProvidedAL2023OnArm(t *testing.T) {
	tmpl := loadTemplate(t)
	gt := loadGoformation(t, tmpl)
	globals := asMap(path(tmpl, "Globals", "Function"))
	root := repoRoot(t)
	for _, f := range functions {
		t.Run(f.id+" is built by make build-"+f.id+" from functions/"+f.dir, func(t *testing.T) {
			res := asMap(path(tmpl, "Resources", f.id))
			if res["Type"] != "AWS::Serverless::Function" {
				t.Fatalf("%s is %v, want AWS::Serverless::Function", f.id, res["Type"])
			}
			props := asMap(res["Properties"])
			effective := func(key string) any {
				if v, ok := props[key]; ok {
					return v
				}
				return globals[key]
			}
			if got := effective("Runtime"); got != "provided.al2023" {
				t.Errorf("Runtime = %v, want provided.al2023", got)
			}
			if got := fmt.Sprint(effective("Architectures")); got != "[arm64]" {
				t.Errorf("Architectures = %v, want [arm64]", got)
			}
			if got := effective("Handler"); got != "bootstrap" {
				t.Errorf("Handler = %v, want bootstrap", got)
			}
			if got := props["CodeUri"]; got != "." {
				t.Errorf("CodeUri = %v, want . (the directory holding the Makefile)", got)
			}
			gf, err := gt.GetServerlessFunctionWithName(f.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := gf.AWSCloudFormationMetadata["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod = %v, want makefile", got)
			}

			art := t.TempDir()
			out := makeDryRun(t, root, "build-"+f.id, "ARTIFACTS_DIR="+art)
			for _, want := range []string{
				"GOARCH=arm64", "GOOS=linux", "CGO_ENABLED=0",
				"-tags lambda.norpc,timetzdata", "-trimpath", "-buildid=",
				"-o " + art + "/bootstrap", "./functions/" + f.dir,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("make -n build-%s does not contain %q:\n%s", f.id, want, out)
				}
			}
		})
	}
}

// makeDryRun prints the commands make would run for target.
func makeDryRun(t *testing.T, root, target string, vars ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-n", target}, vars...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARTIFACTS_DIR=", "MAKEFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return string(out)
}

func TestTimersSendJobsTheCodeKnowsWithARetryPolicy(t *testing.T) {
	tmpl := loadTemplate(t)
	ev := newEvaluator(tmpl, nil)
	type key struct{ fn, event string }
	found := map[key]map[string]any{}
	for id, r := range asMap(tmpl["Resources"]) {
		for name, e := range asMap(path(r, "Properties", "Events")) {
			typ := asMap(e)["Type"]
			if typ == "Schedule" || typ == "EventBridgeRule" {
				t.Errorf("%s.%s uses %v; timers use ScheduleV2 (EventBridge Scheduler: time zones, retry policy)", id, name, typ)
			}
			if typ == "ScheduleV2" {
				found[key{id, name}] = asMap(asMap(e)["Properties"])
			}
		}
	}
	if len(found) != len(timers) {
		t.Errorf("template has %d schedules, want %d", len(found), len(timers))
	}
	for _, tm := range timers {
		t.Run(fmt.Sprintf("%s.%s runs job %s on %s", tm.fn, tm.event, tm.job, tm.expr), func(t *testing.T) {
			p, ok := found[key{tm.fn, tm.event}]
			if !ok {
				t.Fatalf("no ScheduleV2 event %s on %s", tm.event, tm.fn)
			}
			if p["ScheduleExpression"] != tm.expr {
				t.Errorf("ScheduleExpression = %v, want %s", p["ScheduleExpression"], tm.expr)
			}
			tz, err := ev.eval(p["ScheduleExpressionTimezone"])
			if err != nil {
				t.Fatal(err)
			}
			if tm.zoned && tz != calendar.DefaultZone {
				t.Errorf("ScheduleExpressionTimezone = %v, want %s (business days)", tz, calendar.DefaultZone)
			}
			input, ok := p["Input"].(string)
			if !ok {
				t.Fatalf("Input = %v, want an explicit JSON string", p["Input"])
			}
			req, err := lambdaedge.DecodeJob([]byte(input))
			if err != nil {
				t.Fatalf("Input %s is not a job request: %v", input, err)
			}
			if req.Job != tm.job || !slices.Contains(knownJobs, req.Job) {
				t.Errorf("Input job = %q, want %q (one of %v)", req.Job, tm.job, knownJobs)
			}
			if allowed, ok := allowedJobs(t, dirOf(tm.fn)); ok && !slices.Contains(allowed, req.Job) {
				t.Errorf("functions/%s runs only %v, not job %q", dirOf(tm.fn), allowed, req.Job)
			}
			rp := asMap(p["RetryPolicy"])
			attempts, ok1 := rp["MaximumRetryAttempts"].(int)
			age, ok2 := rp["MaximumEventAgeInSeconds"].(int)
			if !ok1 || !ok2 || attempts < 0 || attempts > 185 || age < 60 || age > 86400 {
				t.Errorf("RetryPolicy = %v, want MaximumRetryAttempts 0..185 and MaximumEventAgeInSeconds 60..86400", rp)
			}
			name, err := ev.eval(p["Name"])
			if err != nil || !strings.HasPrefix(fmt.Sprint(name), "siyu-") {
				t.Errorf("Name = %v (%v), want one derived from the stack name so two stacks do not collide", name, err)
			}
		})
	}
}

// configNames are the environment names shared/config reads, taken from its
// source so a renamed setting fails here.
func configNames(t *testing.T) []string {
	t.Helper()
	src := readFile(t, "shared/config/config.go")
	var names []string
	for _, m := range regexp.MustCompile(`get\("([A-Z0-9_]+)"\)`).FindAllSubmatch(src, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) < 10 {
		t.Fatalf("found only %d names in shared/config/config.go; has its shape changed?", len(names))
	}
	return names
}

// allowedEnv are the names a function's environment may carry: every
// configuration name, and NAME_PARAM for each secret.
func allowedEnv(t *testing.T) map[string]bool {
	allowed := map[string]bool{}
	cfg := configNames(t)
	for _, n := range cfg {
		allowed[n] = true
	}
	for _, n := range secrets.Names {
		if !slices.Contains(cfg, n) {
			t.Errorf("secrets.Names has %s, which shared/config does not read", n)
		}
		allowed[n+secrets.Suffix] = true
	}
	return allowed
}

func TestEnvironmentUsesOnlyConfigNamesAndNoPlainSecrets(t *testing.T) {
	tmpl := loadTemplate(t)
	allowed := allowedEnv(t)
	envOf := func(props any) map[string]any { return asMap(path(props, "Environment", "Variables")) }
	global := envOf(path(tmpl, "Globals", "Function"))
	for _, f := range functions {
		t.Run(f.id+" reads only names shared/config knows and gets secrets by reference", func(t *testing.T) {
			env := map[string]any{}
			for k, v := range global {
				env[k] = v
			}
			for k, v := range envOf(path(tmpl, "Resources", f.id, "Properties")) {
				env[k] = v
			}
			for name := range env {
				if !allowed[name] {
					t.Errorf("environment variable %s is not read by shared/config", name)
				}
				if slices.Contains(secrets.Names, name) {
					t.Errorf("secret %s is a plain environment variable; give %s%s instead", name, name, secrets.Suffix)
				}
			}
			if got := fmt.Sprint(env["SIYU_STORE"]); !strings.Contains(got, "dynamodb:${Table}") {
				t.Errorf("SIYU_STORE = %v, want dynamodb:${Table}", got)
			}
		})
	}
}

// statements returns every inline IAM statement of a function, evaluated.
func statements(t *testing.T, ev *evaluator, tmpl map[string]any, id string) []map[string]any {
	t.Helper()
	pols, err := ev.eval(path(tmpl, "Resources", id, "Properties", "Policies"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	list, _ := pols.([]any)
	for _, p := range list {
		switch p := p.(type) {
		case string:
			t.Errorf("%s attaches managed policy %s; use inline least-privilege statements", id, p)
		case map[string]any:
			if _, ok := p["Statement"]; !ok {
				t.Errorf("%s uses policy template %v; use inline statements", id, p)
			}
			for _, s := range asList(p["Statement"]) {
				out = append(out, asMap(s))
			}
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestPermissionsAreLeastPrivilege(t *testing.T) {
	tmpl := loadTemplate(t)
	if bytes.Contains(readFile(t, "template.yaml"), []byte("dynamodb:Scan")) {
		t.Error("template.yaml mentions dynamodb:Scan; no job scans the table")
	}
	tableActions := map[string][]string{
		"CallbackFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"PosterFunction":   {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"},
		"RollupFunction":   {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"},
		"ApiFunction":      {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"},
	}
	// Both branches of the optional report webhook.
	for _, variant := range []struct {
		name   string
		params map[string]any
	}{
		{"by default", nil},
		{"with a report webhook", map[string]any{"ReportWebhookParam": "/siyu/report-webhook"}},
	} {
		ev := newEvaluator(tmpl, variant.params)
		for _, f := range functions {
			t.Run(f.id+" may do only what it needs "+variant.name, func(t *testing.T) {
				env, err := ev.eval(path(tmpl, "Resources", f.id, "Properties", "Environment", "Variables"))
				if err != nil {
					t.Fatal(err)
				}
				var wantSSM []string
				for name, v := range asMap(env) {
					if strings.HasSuffix(name, secrets.Suffix) {
						wantSSM = append(wantSSM, "arn:aws:ssm:ap-east-1:123456789012:parameter"+fmt.Sprint(v))
					}
				}
				var gotSSM []string
				for _, s := range statements(t, ev, tmpl, f.id) {
					if s["Effect"] != "Allow" {
						continue
					}
					actions := asStrings(s["Action"])
					resources := asStrings(s["Resource"])
					for _, a := range actions {
						if strings.Contains(a, "*") {
							t.Errorf("action %s has a wildcard", a)
						}
						service, _, _ := strings.Cut(a, ":")
						switch service {
						case "dynamodb":
							if !slices.Contains(tableActions[f.id], a) {
								t.Errorf("%s is not among the table actions %s needs %v", a, f.id, tableActions[f.id])
							}
							if !slices.Equal(resources, []string{"getatt:Table.Arn"}) {
								t.Errorf("%s on %v, want only the table", a, resources)
							}
						case "ssm":
							if a != "ssm:GetParameters" && a != "ssm:GetParameter" {
								t.Errorf("ssm action %s, want only GetParameter(s)", a)
							}
							gotSSM = append(gotSSM, resources...)
						case "lambda":
							// The callback hands first touch to the poster, and nothing else invokes.
							if f.id != "CallbackFunction" || a != "lambda:InvokeFunction" || !slices.Equal(resources, []string{"getatt:PosterFunction.Arn"}) {
								t.Errorf("%s may %s on %v; only the callback may invoke, and only the poster", f.id, a, resources)
							}
						case "kms":
							if a != "kms:Decrypt" || fmt.Sprint(path(s, "Condition", "StringEquals", "kms:ViaService")) != "ssm.ap-east-1.amazonaws.com" {
								t.Errorf("kms statement %v, want kms:Decrypt only via SSM", s)
							}
						default:
							t.Errorf("unexpected action %s", a)
						}
					}
					for _, r := range resources {
						if r == "*" {
							t.Errorf("statement %v allows every resource", s)
						}
					}
				}
				slices.Sort(gotSSM)
				gotSSM = slices.Compact(gotSSM)
				slices.Sort(wantSSM)
				if !slices.Equal(gotSSM, wantSSM) {
					t.Errorf("SSM parameters readable = %v, want exactly the *_PARAM ones %v", gotSSM, wantSSM)
				}
			})
		}
	}
}

func TestFunctionURLs(t *testing.T) {
	tmpl := loadTemplate(t)
	gt := loadGoformation(t, tmpl)
	for _, f := range functions {
		t.Run(f.id+" has the URL it needs and no other function is public", func(t *testing.T) {
			u, err := gt.GetLambdaUrlWithName(f.id + "Url")
			if f.url == "" {
				if err == nil {
					t.Errorf("%s has a function URL; timers need none", f.id)
				}
				if asMap(path(tmpl, "Resources", f.id, "Properties"))["FunctionUrlConfig"] != nil {
					t.Errorf("%s has FunctionUrlConfig", f.id)
				}
				return
			}
			if err != nil {
				t.Fatalf("no %sUrl: %v", f.id, err)
			}
			raw := asMap(path(tmpl, "Resources", f.id+"Url", "Properties"))
			if fmt.Sprint(raw["TargetFunctionArn"]) != fmt.Sprint(map[string]any{"Fn::GetAtt": []any{f.id, "Arn"}}) {
				t.Errorf("TargetFunctionArn = %v, want %s's Arn", raw["TargetFunctionArn"], f.id)
			}
			if u.InvokeMode == nil || *u.InvokeMode != "BUFFERED" {
				t.Errorf("InvokeMode = %v, want BUFFERED (the payload shape lambdaedge reads)", u.InvokeMode)
			}
			switch f.url {
			case "NONE":
				if u.AuthType != "NONE" {
					t.Errorf("AuthType = %s, want NONE", u.AuthType)
				}
			case "param":
				p := asMap(path(tmpl, "Parameters", fmt.Sprint(path(raw, "AuthType", "Ref"))))
				if fmt.Sprint(p["AllowedValues"]) != "[NONE AWS_IAM]" || p["Default"] != "NONE" {
					t.Errorf("AuthType parameter = %v, want AllowedValues [NONE AWS_IAM] defaulting to NONE", p)
				}
			}
			// A public URL needs both resource-policy statements.
			var urlPerm, invokePerm bool
			for name, r := range asMap(tmpl["Resources"]) {
				if asMap(r)["Type"] != "AWS::Lambda::Permission" {
					continue
				}
				p := asMap(asMap(r)["Properties"])
				if fmt.Sprint(p["FunctionName"]) != fmt.Sprint(map[string]any{"Ref": f.id}) {
					continue
				}
				if p["Principal"] == "*" && p["Action"] == "lambda:InvokeFunctionUrl" && p["FunctionUrlAuthType"] == "NONE" {
					urlPerm = true
				}
				if p["Principal"] == "*" && p["Action"] == "lambda:InvokeFunction" {
					if p["InvokedViaFunctionUrl"] != true {
						t.Errorf("%s lets anyone invoke %s directly, not only through its URL", name, f.id)
					}
					invokePerm = true
				}
				if f.url == "param" && asMap(r)["Condition"] != "ApiIsPublic" {
					t.Errorf("%s is not limited to the public (NONE) choice", name)
				}
			}
			if !urlPerm || !invokePerm {
				t.Errorf("public URL permissions: InvokeFunctionUrl %v, InvokeFunction via URL %v; want both", urlPerm, invokePerm)
			}
		})
	}
}

func TestTableIsRetainedPayPerRequestWithTTLAndBackups(t *testing.T) {
	tmpl := loadTemplate(t)
	gt := loadGoformation(t, tmpl)
	tables := gt.GetAllDynamoDBTableResources()
	if len(tables) != 1 {
		t.Fatalf("template has %d tables, want one", len(tables))
	}
	tb, err := gt.GetDynamoDBTableWithName("Table")
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, ok bool, got any) {
		t.Helper()
		if !ok {
			t.Errorf("%s: got %v", what, got)
		}
	}
	check("BillingMode PAY_PER_REQUEST", tb.BillingMode != nil && *tb.BillingMode == "PAY_PER_REQUEST", tb.BillingMode)
	var keys []string
	for _, k := range tb.KeySchema {
		keys = append(keys, k.AttributeName+"="+k.KeyType)
	}
	check("keys pk HASH, sk RANGE", slices.Equal(keys, []string{"pk=HASH", "sk=RANGE"}), keys)
	var attrs []string
	for _, a := range tb.AttributeDefinitions {
		attrs = append(attrs, a.AttributeName+"="+a.AttributeType)
	}
	check("only pk and sk defined, as strings", slices.Equal(attrs, []string{"pk=S", "sk=S"}), attrs)
	check("TTL on attribute ttl", tb.TimeToLiveSpecification != nil && tb.TimeToLiveSpecification.Enabled &&
		tb.TimeToLiveSpecification.AttributeName != nil && *tb.TimeToLiveSpecification.AttributeName == "ttl", tb.TimeToLiveSpecification)
	pitr := tb.PointInTimeRecoverySpecification
	check("point-in-time recovery", pitr != nil && pitr.PointInTimeRecoveryEnabled != nil && *pitr.PointInTimeRecoveryEnabled, pitr)
	check("no secondary indexes (every read is by pk)", len(tb.GlobalSecondaryIndexes) == 0 && len(tb.LocalSecondaryIndexes) == 0, tb.GlobalSecondaryIndexes)
	raw := asMap(path(tmpl, "Resources", "Table"))
	check("DeletionPolicy Retain", raw["DeletionPolicy"] == "Retain", raw["DeletionPolicy"])
	check("UpdateReplacePolicy Retain", raw["UpdateReplacePolicy"] == "Retain", raw["UpdateReplacePolicy"])
}

func TestOutputs(t *testing.T) {
	tmpl := loadTemplate(t)
	ev := newEvaluator(tmpl, nil)
	tests := []struct {
		name, want string
	}{
		{"CallbackUrl", "getatt:CallbackFunctionUrl.FunctionUrlwecom/callback"},
		{"ApiUrl", "getatt:ApiFunctionUrl.FunctionUrl"},
		{"TableName", "ref:Table"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is an output", func(t *testing.T) {
			v, err := ev.eval(path(tmpl, "Outputs", tt.name, "Value"))
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.want {
				t.Errorf("%s = %v, want %s", tt.name, v, tt.want)
			}
		})
	}
}

// TestTemplatePassesCfnLint runs cfn-lint (which applies the real SAM
// transform) when it is installed.
func TestTemplatePassesCfnLint(t *testing.T) {
	if testing.Short() {
		t.Skip("cfn-lint takes a few seconds")
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed")
	}
	cmd := exec.Command(lint, "--", "template.yaml")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

// ---------------------------------------------------------------- Tencent

func loadSCF(t *testing.T, fn string) map[string]any {
	t.Helper()
	m, err := parseCFN(readFile(t, filepath.Join("infra/tencent", fn, "serverless.yml")))
	if err != nil {
		t.Fatalf("infra/tencent/%s/serverless.yml: %v", fn, err)
	}
	return m
}

func TestTencentDescriptors(t *testing.T) {
	root := repoRoot(t)
	allowed := allowedEnv(t)
	for _, f := range functions {
		t.Run(f.dir+" deploys the binary make build-scf-"+f.dir+" writes", func(t *testing.T) {
			y := loadSCF(t, f.dir)
			in := asMap(y["inputs"])
			if y["component"] != "scf" || y["app"] != "siyu" {
				t.Errorf("component/app = %v/%v, want scf/siyu", y["component"], y["app"])
			}
			if in["runtime"] != "Go1" || in["handler"] != "main" {
				t.Errorf("runtime/handler = %v/%v, want Go1/main", in["runtime"], in["handler"])
			}
			src := filepath.Clean(filepath.Join(root, "infra/tencent", f.dir, fmt.Sprint(path(in, "src", "src"))))
			if want := filepath.Join(root, "build/scf", f.dir); src != want {
				t.Errorf("src = %s, want %s", src, want)
			}
			out := makeDryRun(t, root, "build-scf-"+f.dir)
			for _, want := range []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "-tags scf,timetzdata",
				"-trimpath", "-buildid=", "-o " + filepath.Join(src, fmt.Sprint(in["handler"])), "./functions/" + f.dir} {
				if !strings.Contains(out, want) {
					t.Errorf("make -n build-scf-%s does not contain %q:\n%s", f.dir, want, out)
				}
			}
			for name, v := range asMap(path(in, "environment", "variables")) {
				if !allowed[name] {
					t.Errorf("environment variable %s is not read by shared/config", name)
				}
				if s := fmt.Sprint(v); !strings.Contains(s, "${env:") {
					t.Errorf("%s = %q is written into the descriptor; take it from ${env:...}", name, s)
				}
			}
			if timeout, _ := in["timeout"].(int); timeout < 1 || timeout > 900 {
				t.Errorf("timeout = %v, want 1..900", in["timeout"])
			}
			var url bool
			for _, e := range asList(in["events"]) {
				if h := asMap(asMap(e)["http"]); h != nil {
					url = true
					if path(h, "parameters", "authType") != "NONE" || path(h, "parameters", "netConfig", "enableExtranet") != true {
						t.Errorf("http trigger = %v, want a public function URL", h)
					}
				}
				if asMap(e)["apigw"] != nil {
					t.Errorf("apigw trigger: use the function URL (http) trigger")
				}
			}
			if url != (f.url != "") {
				t.Errorf("function URL = %v, want %v", url, f.url != "")
			}
		})
	}
}

func TestTencentTimersMatchTheAWSSchedules(t *testing.T) {
	want := map[string][]string{} // function dir → "cron|job"
	for _, tm := range timers {
		want[dirOf(tm.fn)] = append(want[dirOf(tm.fn)], tm.scfCron+"|"+tm.job)
	}
	for _, f := range functions {
		t.Run(f.dir+" fires the same jobs at the same UTC+8 times", func(t *testing.T) {
			var got []string
			for _, e := range asList(path(loadSCF(t, f.dir), "inputs", "events")) {
				tm := asMap(asMap(e)["timer"])
				if tm == nil {
					continue
				}
				p := asMap(tm["parameters"])
				cron := fmt.Sprint(p["cronExpression"])
				if n := len(strings.Fields(cron)); n != 7 {
					t.Errorf("cronExpression %q has %d fields, want 7 (second minute hour day month weekday year)", cron, n)
				}
				if p["enable"] != true {
					t.Errorf("timer %v is not enabled", tm["name"])
				}
				req, err := lambdaedge.DecodeJob([]byte(fmt.Sprint(p["argument"])))
				if err != nil {
					t.Errorf("argument %v is not a job request: %v", p["argument"], err)
					continue
				}
				if !slices.Contains(knownJobs, req.Job) {
					t.Errorf("argument names job %q, want one of %v", req.Job, knownJobs)
				}
				if allowed, ok := allowedJobs(t, f.dir); ok && !slices.Contains(allowed, req.Job) {
					t.Errorf("functions/%s runs only %v, not job %q", f.dir, allowed, req.Job)
				}
				got = append(got, cron+"|"+req.Job)
			}
			slices.Sort(got)
			w := slices.Clone(want[f.dir])
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("timers = %v, want %v", got, w)
			}
		})
	}
}

// ---------------------------------------------------------------- packaging

// firstBuildable returns the first function whose main builds for both
// runtimes; functions still being written are skipped rather than failing
// here.
func firstBuildable(t *testing.T, root string) (string, bool) {
	t.Helper()
next:
	for _, f := range functions {
		for _, tags := range []string{"lambda.norpc,timetzdata", "scf,timetzdata"} {
			cmd := exec.Command("go", "build", "-tags", tags, "-o", os.DevNull, "./functions/"+f.dir)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("functions/%s does not build with -tags %s yet: %s", f.dir, tags, firstLine(out))
				continue next
			}
		}
		return f.dir, true
	}
	return "", false
}

func TestPackageIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function twice")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root := repoRoot(t)
	// Determinism is a property of the pipeline (flags, toolchain, mkzip),
	// not of one function's code: one function keeps the test affordable
	// on two cores. `make package` packages them all.
	fn, ok := firstBuildable(t, root)
	if !ok {
		t.Skip("no function has a main for both runtimes yet")
	}
	fns := []string{fn}
	t.Logf("packaging %v twice", fns)
	digest := func(build string) map[string]string {
		cmd := exec.Command("make", "--no-print-directory", "package", "BUILD="+build, "FUNCTIONS="+strings.Join(fns, " "))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "ARTIFACTS_DIR=", "MAKEFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make package: %v\n%s", err, out)
		}
		sums := map[string]string{}
		for _, cloud := range []string{"aws", "tencent"} {
			for _, fn := range fns {
				rel := filepath.Join(cloud, fn+".zip")
				b, err := os.ReadFile(filepath.Join(build, "package", rel))
				if err != nil {
					t.Fatal(err)
				}
				s := sha256.Sum256(b)
				sums[rel] = hex.EncodeToString(s[:])
			}
		}
		return sums
	}
	first, second := digest(t.TempDir()), digest(t.TempDir())
	for rel, sum := range first {
		if second[rel] != sum {
			t.Errorf("%s differs between two builds: %s vs %s", rel, sum[:12], second[rel][:12])
		}
	}
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " ..."
	}
	return s
}
