// Command rollup is the nightly timer (00:05 Asia/Shanghai): the "nightly"
// job runs sync → rollup → moments → report; each step can also be run alone
// ({"job":"rollup","date":…} backfills).
//
// main() lives in lambda.go (default) and scf.go (-tags scf); both hand the
// composition root (root.New) to their runtime's start path.
package main
