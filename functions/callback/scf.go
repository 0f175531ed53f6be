//go:build scf

package main

import (
	"context"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/memlimit"
	"github.com/siyuhq/siyu/shared/scfedge"
	"github.com/siyuhq/siyu/shared/store"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
)

// main serves the callback behind an SCF API gateway trigger or function
// URL. Build: CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags
// scf,timetzdata -trimpath -ldflags="-s -w" -o main ./functions/callback
func main() {
	memlimit.Set(os.Getenv, memlimit.SCF)
	ctx := context.Background()
	logger := newLogger()
	cfg, err := config.FromEnv()
	if err != nil {
		fatal(logger, "configuration", err)
	}
	h, _, err := newHandler(ctx, cfg, store.Open, logger)
	if err != nil {
		fatal(logger, "start", err)
	}
	cloudfunction.Start(scfedge.HTTP(h))
}
