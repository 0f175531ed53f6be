// Command api serves the admin API (/api/*, bearer token), tracked links
// (/r/{token}) and the dashboard (/) behind a Function URL.
//
// This file is the wiring shared by every runtime; main() lives in lambda.go
// (default) and scf.go (-tags scf), which link the store adapter of their
// cloud.
package main

import (
	"log/slog"
	"os"
)

func newLogger() *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "api")
	slog.SetDefault(logger)
	return logger
}

func fatal(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, "err", err.Error())
	os.Exit(1)
}
