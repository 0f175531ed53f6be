// Package awssecrets fetches secrets.Resolve's references on AWS: SSM
// parameters (SecureString, decrypted) in batched GetParameters calls, and
// Secrets Manager secrets for references written "secretsmanager:NAME" or as
// a Secrets Manager ARN. It also reads the role's credentials from the
// environment (EnvCredentials), which the Lambda edge's DynamoDB client uses
// too. Only the Lambda binaries import it.
//
// It speaks the two calls' JSON protocol itself, signed with the SDK's SigV4
// signer, instead of linking the SSM and Secrets Manager service clients:
// their package init (API schemas, endpoint tables) alone cost about 10 ms of
// every cold start, for two calls made once.
package awssecrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/siyuhq/siyu/shared/secrets"
)

// MaxBatch is how many names one GetParameters call accepts.
const MaxBatch = 10

// smPrefix marks a reference to a Secrets Manager secret by name.
const smPrefix = "secretsmanager:"

// Fetcher implements secrets.Fetcher against the SSM and Secrets Manager
// HTTPS APIs.
type Fetcher struct {
	Region      string
	Credentials aws.Credentials
	// SSMEndpoint and SecretsManagerEndpoint are base URLs; New fills in
	// the regional ones.
	SSMEndpoint            string
	SecretsManagerEndpoint string
	HTTP                   *http.Client
	Now                    func() time.Time
}

var _ secrets.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher for region with the regional endpoints.
func New(region string, creds aws.Credentials) *Fetcher {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return &Fetcher{
		Region: region, Credentials: creds,
		SSMEndpoint:            "https://ssm." + region + "." + suffix,
		SecretsManagerEndpoint: "https://secretsmanager." + region + "." + suffix,
		HTTP:                   &http.Client{Timeout: 10 * time.Second},
		Now:                    time.Now,
	}
}

// FromEnv builds a Fetcher from the variables Lambda sets for the function's
// role (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), honouring the SDK's standard endpoint overrides
// AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL.
func FromEnv() (*Fetcher, error) {
	region, creds, ok := EnvCredentials()
	if !ok {
		return nil, errors.New("AWS_REGION and the role's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are needed to read *_PARAM secrets")
	}
	f := New(region, creds)
	if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
		f.SSMEndpoint, f.SecretsManagerEndpoint = u, u
	}
	if u := os.Getenv("AWS_ENDPOINT_URL_SSM"); u != "" {
		f.SSMEndpoint = u
	}
	if u := os.Getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"); u != "" {
		f.SecretsManagerEndpoint = u
	}
	return f, nil
}

// EnvCredentials reads the region and the credentials Lambda sets for the
// function's role: AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. ok is false when the region,
// the key id or the secret is missing.
func EnvCredentials() (region string, creds aws.Credentials, ok bool) {
	region = os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	creds = aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
	}
	return region, creds, region != "" && creds.AccessKeyID != "" && creds.SecretAccessKey != ""
}

// Default returns a Fetcher built from the environment on its first Fetch,
// so a function whose secrets are all plain variables never needs AWS.
func Default() secrets.Fetcher {
	var (
		once sync.Once
		f    *Fetcher
		err  error
	)
	return secrets.FetcherFunc(func(ctx context.Context, refs []string) (map[string]string, error) {
		once.Do(func() { f, err = FromEnv() })
		if err != nil {
			return nil, err
		}
		return f.Fetch(ctx, refs)
	})
}

// IsSecretsManager reports whether ref names a Secrets Manager secret rather
// than an SSM parameter, and the SecretId to ask for.
func IsSecretsManager(ref string) (secretID string, ok bool) {
	if id, found := strings.CutPrefix(ref, smPrefix); found {
		return id, true
	}
	// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
	if parts := strings.SplitN(ref, ":", 4); len(parts) == 4 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return ref, true
	}
	return "", false
}

// Fetch reads every reference. SSM parameters go in GetParameters calls of
// up to MaxBatch names with decryption on; Secrets Manager secrets are read
// one by one. Errors name references, never values.
func (f *Fetcher) Fetch(ctx context.Context, refs []string) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	var params []string
	var errs []error
	for _, ref := range refs {
		if id, ok := IsSecretsManager(ref); ok {
			v, err := f.secret(ctx, id)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret %s: %w", ref, err))
				continue
			}
			out[ref] = v
			continue
		}
		if !slices.Contains(params, ref) {
			params = append(params, ref)
		}
	}
	for batch := range slices.Chunk(params, MaxBatch) {
		if err := f.parameters(ctx, batch, out); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

type parameter struct {
	Name, Value, ARN, Selector string
}

func (f *Fetcher) parameters(ctx context.Context, names []string, out map[string]string) error {
	var res struct{ Parameters []parameter }
	in := map[string]any{"Names": names, "WithDecryption": true}
	if err := f.call(ctx, f.SSMEndpoint, "ssm", "AmazonSSM.GetParameters", in, &res); err != nil {
		return fmt.Errorf("ssm GetParameters %s: %w", strings.Join(names, ", "), err)
	}
	for _, p := range res.Parameters {
		// A reference may be a name, a name with a :version or :label
		// selector, or an ARN; answer whichever form was asked.
		for _, n := range names {
			if n == p.Name || n == p.ARN || (p.Selector != "" && n == p.Name+p.Selector) {
				out[n] = p.Value
			}
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := out[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("ssm parameters not found or not readable: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (f *Fetcher) secret(ctx context.Context, id string) (string, error) {
	var res struct{ SecretString *string }
	if err := f.call(ctx, f.SecretsManagerEndpoint, "secretsmanager", "secretsmanager.GetSecretValue", map[string]string{"SecretId": id}, &res); err != nil {
		return "", fmt.Errorf("secretsmanager GetSecretValue: %w", err)
	}
	if res.SecretString == nil {
		return "", errors.New("secret has no string value (binary secrets are not supported)")
	}
	return *res.SecretString, nil
}

// call makes one signed AWS JSON 1.1 request. An error carries the
// service's error type and message, never the response body's values.
func (f *Fetcher) call(ctx context.Context, endpoint, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, f.Credentials, req, hex.EncodeToString(sum[:]), service, f.Region, now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	client := f.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%s: HTTP %d %s %s", target, resp.StatusCode, e.Type, e.Message+e.Msg)
	}
	return json.Unmarshal(raw, out)
}
