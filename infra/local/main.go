// Command local runs the whole Siyu stack in one process: the callback
// receiver, the admin API and console, and in-process timers in place of
// the cloud's, on the embedded SQLite store. Without WeCom credentials it
// starts the demo against the built-in WeCom simulator.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
)

// DataDir holds the local store and the demo's generated settings.
const DataDir = ".siyu"

// options are what main fixes and tests vary.
type options struct {
	dataDir string
	limits  serverLimits
	// out receives the sign-in lines (not log records).
	out io.Writer
}

func main() {
	base := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, base, options{dataDir: DataDir, limits: defaultLimits, out: os.Stderr})
	stop()
	if err != nil {
		slog.New(base).Error("local stack stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (Ctrl-C, SIGTERM), then shuts down: the
// server first, then the timers and the demo, then the store.
func run(ctx context.Context, base slog.Handler, o options) error {
	// The stack's own lines (ready, phases) always print; the components'
	// info lines go quiet while the demo starts.
	logger := slog.New(base)
	quiet := newQuietHandler(base)
	components := slog.New(quiet)
	slog.SetDefault(components)

	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if cfg.Store == "" {
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return err
		}
		cfg.Store = "sqlite:" + filepath.Join(o.dataDir, "siyu.db")
	}
	tok := adminToken{value: cfg.AdminToken}
	if tok.value == "" {
		tok.stored = filepath.Join(o.dataDir, "admin-token")
		if tok.value, err = persistedSecret(tok.stored); err != nil {
			return err
		}
		cfg.AdminToken = tok.value
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on SIYU_ADDR %s: %w", cfg.Addr, err)
	}
	baseURL := "http://" + ln.Addr().String()
	if cfg.PublicURL == "" {
		// Tracked links point at this stack.
		cfg.PublicURL = baseURL
	}

	var d *demo
	if !cfg.HasWeCom() {
		if d, err = startDemo(&cfg, o.dataDir, logger, components); err != nil {
			_ = ln.Close()
			return err
		}
		defer d.Close()
	}

	// One clock for every function: the demo's, which can replay history.
	now := time.Now
	if d != nil {
		now = d.clock.Now
	}
	stk, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: components, Now: now})
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := newServer(stk.Handler(), o.limits)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	logger.Info("Siyu local stack ready",
		"url", baseURL, "callback", baseURL+"/wecom/callback", "console", baseURL+"/",
		"store", storeLabel(cfg.Store), "timezone", cfg.TZ, "demo", d != nil)
	tok.signIn(o.out, baseURL)
	if d == nil {
		logger.Info("real WeCom mode: expose this address to the internet (e.g. a tunnel) and set the callback URL in the admin console",
			"path", "/wecom/callback")
	}

	var background sync.WaitGroup
	background.Go(func() { stk.RunTimers(ctx) })
	if d != nil {
		background.Go(func() { d.Play(ctx, baseURL+"/wecom/callback", stk, quiet) })
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	logger.Info("stopping")
	// The timers and the demo end with ctx; the demo's callback client then
	// lets go of its connections, so Shutdown has none to wait for (a
	// connection that never sent a request holds Shutdown for 5 s).
	background.Wait()
	if d != nil {
		d.CloseIdle()
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		// Stopping was asked for: a client still busy after the grace
		// period is cut off, and the store still closes cleanly.
		logger.Warn("closing connections still open after 5s", "err", err)
		if err := srv.Close(); err != nil {
			return err
		}
	}
	logger.Info("stopped")
	return nil
}

// adminToken is the bearer token of /api/* and where it came from. A token
// the operator gave is a secret of theirs and is never printed; one the
// stack generated (stored, for later runs) is shown, with a sign-in link
// that carries it in the fragment (never sent over the network; the sign-in
// page posts it once and drops it) so the console opens at once.
type adminToken struct {
	value  string
	stored string // the file of a generated token; "" when given
}

func (t adminToken) signIn(w io.Writer, base string) {
	if t.stored == "" {
		fmt.Fprintf(w, "\n  Admin token: from SIYU_ADMIN_TOKEN (not printed)\n"+
			"  Console:     %s/login  (sign in with the token; the session lasts 12 hours)\n"+
			"  Try:         curl -H \"Authorization: Bearer $SIYU_ADMIN_TOKEN\" '%s/api/stats/daily'\n\n", base, base)
		return
	}
	fmt.Fprintf(w, "\n  Admin token: %s (generated by the local stack, stored in %s)\n"+
		"  Console:     %s/login#token=%s\n"+
		"  Try:         curl -H \"Authorization: Bearer $(cat %s)\" '%s/api/stats/daily'\n\n",
		t.value, t.stored, base, t.value, t.stored, base)
}

// storeLabel names the store for the log without a DSN's password.
func storeLabel(spec string) string {
	scheme, _, _ := strings.Cut(spec, ":")
	if scheme == "sqlite" || scheme == "dynamodb" {
		return spec
	}
	return scheme + ":…"
}

// persistedSecret returns the token stored at path, creating a random one
// the first time so restarts keep the same token.
func persistedSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}
