// Command poster is the every-minute timer: it sends due Moments and group
// messages exactly once and follows their WeCom jobs.
//
// This file is the wiring shared by every runtime; main() lives in lambda.go
// (default) and scf.go (-tags scf).
package main

import (
	"log/slog"
	"os"
)

// allowed are the jobs this function's timers may name.
var allowed = []string{"poster"}

func newLogger() *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "poster")
	slog.SetDefault(logger)
	return logger
}

func fatal(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, "err", err.Error())
	os.Exit(1)
}
