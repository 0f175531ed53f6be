package awssecrets_test

// There is no SSM or Secrets Manager emulator to run here, so these tests run
// the fetcher against a loopback HTTP server that speaks the two services'
// JSON protocol (X-Amz-Target + JSON body) for the two calls used, and check
// each request carries a SigV4 signature for the right service and region.
// That checks what we send (one batched, decrypting GetParameters) and how we
// read answers; it does not check IAM or KMS behaviour.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/siyuhq/siyu/shared/secrets"
	"github.com/siyuhq/siyu/shared/secrets/awssecrets"
)

// fakeAWS answers GetParameters and GetSecretValue from maps.
type fakeAWS struct {
	params  map[string]string // name → value
	secrets map[string]string // id → value

	mu    sync.Mutex
	calls []call
}

type call struct {
	target  string
	names   []string
	decrypt bool
	id      string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	service := "ssm"
	if strings.HasPrefix(target, "secretsmanager.") {
		service = "secretsmanager"
	}
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(auth, "/ap-east-1/"+service+"/aws4_request") || r.Header.Get("X-Amz-Date") == "" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"__type":"MissingAuthenticationTokenException","message":"unsigned"}`)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "AmazonSSM.GetParameters":
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.record(call{target: target, names: in.Names, decrypt: in.WithDecryption})
		type param struct{ Name, Value, ARN, Type string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{Parameters: []param{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			name := n
			if i := strings.Index(n, ":parameter"); strings.HasPrefix(n, "arn:") && i > 0 {
				name = n[i+len(":parameter"):]
			}
			v, ok := f.params[name]
			if !ok {
				out.InvalidParameters = append(out.InvalidParameters, n)
				continue
			}
			if !in.WithDecryption {
				v = "ENCRYPTED"
			}
			out.Parameters = append(out.Parameters, param{Name: name, Value: v, ARN: "arn:aws:ssm:ap-east-1:123456789012:parameter" + name, Type: "SecureString"})
		}
		_ = json.NewEncoder(w).Encode(out)
	case "secretsmanager.GetSecretValue":
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		f.record(call{target: target, id: in.SecretId})
		v, ok := f.secrets[in.SecretId]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"Name": in.SecretId, "SecretString": v})
	default:
		http.Error(w, "unexpected target "+target, http.StatusBadRequest)
	}
}

func (f *fakeAWS) record(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func newFetcher(t *testing.T, f *fakeAWS) *awssecrets.Fetcher {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f2 := awssecrets.New("ap-east-1", aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"})
	f2.SSMEndpoint, f2.SecretsManagerEndpoint, f2.HTTP = srv.URL, srv.URL, srv.Client()
	return f2
}

func TestFetch(t *testing.T) {
	backend := &fakeAWS{
		params: map[string]string{
			"/siyu/wecom-callback-token":   "tok-1",
			"/siyu/wecom-encoding-aes-key": "aes-2",
			"/siyu/wecom-secret":           "sec-3",
		},
		secrets: map[string]string{"siyu/admin-token": "adm-4"},
	}
	fetch := newFetcher(t, backend)
	refs := []string{
		"/siyu/wecom-callback-token",
		"/siyu/wecom-encoding-aes-key",
		"arn:aws:ssm:ap-east-1:123456789012:parameter/siyu/wecom-secret",
		"secretsmanager:siyu/admin-token",
	}
	got, err := fetch.Fetch(context.Background(), refs)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	want := map[string]string{
		"/siyu/wecom-callback-token":                                     "tok-1",
		"/siyu/wecom-encoding-aes-key":                                   "aes-2",
		"arn:aws:ssm:ap-east-1:123456789012:parameter/siyu/wecom-secret": "sec-3",
		"secretsmanager:siyu/admin-token":                                "adm-4",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	var ssmCalls []call
	for _, c := range backend.calls {
		if c.target == "AmazonSSM.GetParameters" {
			ssmCalls = append(ssmCalls, c)
		}
	}
	if len(ssmCalls) != 1 {
		t.Fatalf("GetParameters called %d times, want once for three parameters", len(ssmCalls))
	}
	if !ssmCalls[0].decrypt {
		t.Error("GetParameters was called without WithDecryption")
	}
	if !slices.Equal(ssmCalls[0].names, refs[:3]) {
		t.Errorf("GetParameters names = %q, want %q", ssmCalls[0].names, refs[:3])
	}
}

func TestFetchBatchesByTen(t *testing.T) {
	backend := &fakeAWS{params: map[string]string{}}
	var refs []string
	for i := range 12 {
		n := "/siyu/p" + string(rune('a'+i))
		backend.params[n] = "v"
		refs = append(refs, n)
	}
	if _, err := newFetcher(t, backend).Fetch(context.Background(), refs); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, c := range backend.calls {
		sizes = append(sizes, len(c.names))
	}
	if !slices.Equal(sizes, []int{10, 2}) {
		t.Errorf("batch sizes = %v, want [10 2]", sizes)
	}
}

func TestFetchErrorsNameReferencesNotValues(t *testing.T) {
	backend := &fakeAWS{
		params:  map[string]string{"/siyu/present": "value-must-not-leak"},
		secrets: map[string]string{},
	}
	_, err := newFetcher(t, backend).Fetch(context.Background(), []string{"/siyu/present", "/siyu/absent", "secretsmanager:siyu/gone"})
	if err == nil {
		t.Fatal("Fetch succeeded with missing references")
	}
	for _, s := range []string{"/siyu/absent", "secretsmanager:siyu/gone"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	if strings.Contains(err.Error(), "value-must-not-leak") {
		t.Errorf("error reveals a value: %q", err)
	}
}

func TestResolveThroughAWS(t *testing.T) {
	backend := &fakeAWS{params: map[string]string{"/siyu/admin": "adm"}}
	env := map[string]string{"SIYU_ADMIN_TOKEN_PARAM": "/siyu/admin"}
	get, err := secrets.Resolve(context.Background(), func(k string) string { return env[k] }, newFetcher(t, backend))
	if err != nil {
		t.Fatal(err)
	}
	if get("SIYU_ADMIN_TOKEN") != "adm" {
		t.Errorf("SIYU_ADMIN_TOKEN = %q, want the parameter's value", get("SIYU_ADMIN_TOKEN"))
	}
}

func TestIsSecretsManager(t *testing.T) {
	tests := []struct {
		ref    string
		wantID string
		wantOK bool
	}{
		{"secretsmanager:siyu/admin", "siyu/admin", true},
		{"arn:aws:secretsmanager:ap-east-1:123456789012:secret:siyu/admin-AbCdEf", "arn:aws:secretsmanager:ap-east-1:123456789012:secret:siyu/admin-AbCdEf", true},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x", "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x", true},
		{"/siyu/admin", "", false},
		{"arn:aws:ssm:ap-east-1:123456789012:parameter/siyu/admin", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			id, ok := awssecrets.IsSecretsManager(tt.ref)
			if id != tt.wantID || ok != tt.wantOK {
				t.Errorf("IsSecretsManager(%q) = %q, %v; want %q, %v", tt.ref, id, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestFromEnvUsesTheRoleAndTheStandardEndpointOverrides(t *testing.T) {
	t.Setenv("AWS_REGION", "cn-north-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SSM", "")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9/sm")
	f, err := awssecrets.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if f.SSMEndpoint != "https://ssm.cn-north-1.amazonaws.com.cn" || f.SecretsManagerEndpoint != "http://127.0.0.1:9/sm" || f.Credentials.SessionToken != "session" {
		t.Errorf("fetcher %+v", f)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := awssecrets.FromEnv(); err == nil {
		t.Error("FromEnv without credentials succeeded")
	}
}

func TestEnvCredentialsReadTheRoleLambdaSets(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "ap-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	region, creds, ok := awssecrets.EnvCredentials()
	if !ok || region != "ap-east-1" || creds.AccessKeyID != "AKIDTEST" || creds.SecretAccessKey != "secret" || creds.SessionToken != "session" {
		t.Errorf("EnvCredentials() = %q, %+v, %v; want the default region and the role's keys", region, creds, ok)
	}
	t.Setenv("AWS_REGION", "cn-north-1")
	if region, _, _ := awssecrets.EnvCredentials(); region != "cn-north-1" {
		t.Errorf("region %q, want AWS_REGION before AWS_DEFAULT_REGION", region)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, _, ok := awssecrets.EnvCredentials(); ok {
		t.Error("EnvCredentials without a secret is ok")
	}
}
