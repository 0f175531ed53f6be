// Command callback receives WeCom's callbacks: URL verification (GET) and
// customer, group and tag events (POST), each stored once before it is
// answered 200.
//
// This file is the wiring shared by every runtime. main() lives in the
// runtime edge files chosen by build tag — lambda.go (default) and scf.go
// (-tags scf) — which load the configuration their way, link the one store
// adapter their cloud uses, call newHandler once at cold start and hand the
// handler to the runtime.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Path is where the callback is served, the same in every runtime.
const Path = "/wecom/callback"

// openStore opens the store SIYU_STORE names; each runtime passes its own
// (store.Open, or one tuned for its cold start).
type openStore func(ctx context.Context, dsn string, opts ...store.Option) (store.Store, error)

// newHandler builds the crypter and opens the store named by SIYU_STORE.
// It runs once per cold start, never per invocation.
func newHandler(ctx context.Context, cfg config.Config, open openStore, logger *slog.Logger) (http.Handler, store.Store, error) {
	if err := cfg.Require("WECOM_CORP_ID", "WECOM_CALLBACK_TOKEN", "WECOM_ENCODING_AES_KEY", "SIYU_STORE"); err != nil {
		return nil, nil, err
	}
	crypter, err := wecom.NewCrypter(cfg.CallbackToken, cfg.EncodingAESKey, cfg.CorpID)
	if err != nil {
		return nil, nil, fmt.Errorf("callback crypter: %w", err)
	}
	st, err := open(ctx, cfg.Store)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, callback.New(crypter, events.NewLog(st, cfg.Loc), cfg.CallbackMaxSkew, logger))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, http.StatusNotFound, "not_found", "WeCom callbacks go to "+Path)
	})
	return mux, st, nil
}

// newLogger writes JSON lines to stderr, which both clouds collect.
func newLogger() *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "callback")
	slog.SetDefault(logger)
	return logger
}

// fatal ends a cold start that cannot serve; the runtime reports the init
// failure and retries on the next request.
func fatal(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, "err", err.Error())
	os.Exit(1)
}
