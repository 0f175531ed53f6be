package lambdaedge

import (
	"context"
	"os"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/secrets"
	"github.com/siyuhq/siyu/shared/secrets/awssecrets"
)

// LoadConfig reads the configuration every Lambda main starts from, once
// per cold start: secrets named by *_PARAM (an SSM SecureString or a Secrets
// Manager secret) are fetched in one batched call and served as if they were
// plain variables. Only Lambda binaries import this package, so the SCF
// build carries no AWS SDK.
func LoadConfig(ctx context.Context) (config.Config, error) {
	get, err := secrets.Resolve(ctx, os.Getenv, awssecrets.Default())
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(get)
}
