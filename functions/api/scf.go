//go:build scf

package main

import (
	"context"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/scfedge"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
)

func main() {
	ctx := context.Background()
	logger := newLogger()
	cfg, err := config.FromEnv()
	if err != nil {
		fatal(logger, "configuration", err)
	}
	a, err := app.Open(ctx, cfg, logger)
	if err != nil {
		fatal(logger, "start", err)
	}
	cloudfunction.Start(scfedge.HTTP(a.Handler()))
}
