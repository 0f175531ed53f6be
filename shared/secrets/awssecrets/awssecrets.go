// Package awssecrets fetches secrets.Resolve's references on AWS: SSM
// parameters (SecureString, decrypted) in batched GetParameters calls, and
// Secrets Manager secrets for references written "secretsmanager:NAME" or as
// a Secrets Manager ARN. Only the Lambda binaries import it.
package awssecrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/siyuhq/siyu/shared/secrets"
)

// SSMAPI is the part of the SSM client Fetcher uses.
type SSMAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, opts ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// SecretsManagerAPI is the part of the Secrets Manager client Fetcher uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// MaxBatch is how many names one GetParameters call accepts.
const MaxBatch = 10

// smPrefix marks a reference to a Secrets Manager secret by name.
const smPrefix = "secretsmanager:"

// Fetcher implements secrets.Fetcher with AWS clients.
type Fetcher struct {
	SSM            SSMAPI
	SecretsManager SecretsManagerAPI
}

var _ secrets.Fetcher = (*Fetcher)(nil)

// New returns a Fetcher using cfg.
func New(cfg aws.Config) *Fetcher {
	return &Fetcher{SSM: ssm.NewFromConfig(cfg), SecretsManager: secretsmanager.NewFromConfig(cfg)}
}

// Default returns a Fetcher that loads the SDK's default configuration (the
// Lambda role's credentials and region) on its first Fetch, so a function
// whose secrets are all plain variables never touches the SDK.
func Default() secrets.Fetcher {
	var (
		once sync.Once
		f    *Fetcher
		err  error
	)
	return secrets.FetcherFunc(func(ctx context.Context, refs []string) (map[string]string, error) {
		once.Do(func() {
			var cfg aws.Config
			cfg, err = awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				err = fmt.Errorf("loading AWS configuration: %w", err)
				return
			}
			f = New(cfg)
		})
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

func (f *Fetcher) parameters(ctx context.Context, names []string, out map[string]string) error {
	if f.SSM == nil {
		return errors.New("no SSM client")
	}
	res, err := f.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("ssm GetParameters %s: %w", strings.Join(names, ", "), err)
	}
	for _, p := range res.Parameters {
		v := aws.ToString(p.Value)
		// A reference may be a name, a name with a :version or :label
		// selector, or an ARN; answer whichever form was asked.
		for _, n := range names {
			if n == aws.ToString(p.Name) || n == aws.ToString(p.ARN) ||
				(p.Selector != nil && n == aws.ToString(p.Name)+aws.ToString(p.Selector)) {
				out[n] = v
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
	if f.SecretsManager == nil {
		return "", errors.New("no Secrets Manager client")
	}
	res, err := f.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("secretsmanager GetSecretValue: %w", err)
	}
	if res.SecretString == nil {
		return "", errors.New("secret has no string value (binary secrets are not supported)")
	}
	return *res.SecretString, nil
}
