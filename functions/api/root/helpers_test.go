package root_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyuhq/siyu/functions/api/root"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
)

// build is the api function as a cold start builds it, over a fresh SQLite
// store, with env as its whole environment; the store closes with the test.
func build(t *testing.T, env map[string]string) (*root.API, store.Store, config.Config) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "siyu.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return root.Build(start.Deps{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler), Now: time.Now}), st, cfg
}
