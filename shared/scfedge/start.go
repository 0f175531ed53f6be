package scfedge

import (
	"context"
	"net/http"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/memlimit"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/mysql" // SCF's store is TDSQL-C (mysql:DSN)
)

// Start runs a function on Tencent Cloud SCF: configuration from the
// environment (SCF keeps it encrypted at rest), the mysql store, an API
// gateway or function URL event for an HTTP function and the timer's
// message for a timer function.
func Start(function string, root start.Root) { start.Run(Runtime, function, root) }

// Runtime is SCF's part of the start path.
var Runtime = start.Runtime{
	MemoryVar:  memlimit.SCF,
	LoadConfig: func(context.Context) (config.Config, error) { return config.FromEnv() },
	OpenStore:  store.Open,
	ServeHTTP:  func(h http.Handler) { cloudfunction.Start(HTTP(h)) },
	ServeJobs:  func(fn jobs.Func) { cloudfunction.Start(Job(fn)) },
}
