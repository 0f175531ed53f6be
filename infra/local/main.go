// Command local runs the whole Siyu stack in one process: the callback
// receiver, the admin API and dashboard, and in-process timers in place of
// the cloud's, on the embedded SQLite store. Without WeCom credentials it
// starts the demo against the built-in WeCom simulator.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/store"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
)

// DataDir holds the local store and the demo's generated settings.
const DataDir = ".siyu"

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger); err != nil {
		logger.Error("local stack stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if cfg.Store == "" {
		if err := os.MkdirAll(DataDir, 0o700); err != nil {
			return err
		}
		cfg.Store = "sqlite:" + filepath.Join(DataDir, "siyu.db")
	}
	if cfg.AdminToken == "" {
		tok, err := persistedSecret(filepath.Join(DataDir, "admin-token"))
		if err != nil {
			return err
		}
		cfg.AdminToken = tok
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
	base := "http://" + ln.Addr().String()
	if cfg.PublicURL == "" {
		// Tracked links point at this stack.
		cfg.PublicURL = base
	}

	var d *demo
	if !cfg.HasWeCom() {
		if d, err = startDemo(ctx, &cfg, logger); err != nil {
			return err
		}
		defer d.Close()
	}

	stack, err := newStack(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: stack.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	logger.Info("Siyu local stack ready",
		"url", base, "callback", base+"/wecom/callback", "dashboard", base+"/",
		"store", cfg.Store, "timezone", cfg.TZ, "demo", d != nil)
	fmt.Fprintf(os.Stderr, "\n  Admin API token (Authorization: Bearer …): %s\n  Try: curl -H 'Authorization: Bearer %s' '%s/api/stats/daily'\n\n",
		cfg.AdminToken, cfg.AdminToken, base)
	if d == nil {
		logger.Info("real WeCom mode: expose this address to the internet (e.g. a tunnel) and set the callback URL in the admin console",
			"path", "/wecom/callback")
	}

	go stack.RunTimers(ctx)
	if d != nil {
		go d.Play(ctx, base+"/wecom/callback", stack)
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	logger.Info("stopping")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
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
