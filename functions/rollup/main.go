// Command rollup is the nightly timer (00:05 Asia/Shanghai): the "nightly"
// job runs sync → rollup → moments → report; each step can also be run alone
// ({"job":"rollup","date":…} backfills).
//
// This file is the wiring shared by every runtime; main() lives in lambda.go
// (default) and scf.go (-tags scf).
package main

import (
	"log/slog"
	"os"
)

// allowed are the jobs this function's timers may name.
var allowed = []string{"nightly", "rollup", "sync", "moments", "report"}

func newLogger() *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "rollup")
	slog.SetDefault(logger)
	return logger
}

func fatal(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, "err", err.Error())
	os.Exit(1)
}
