// Command rollup is the nightly timer (00:05 Asia/Shanghai): the "nightly"
// job runs sync → rollup → moments → report; each step can also be run alone
// ({"job":"rollup","date":…} backfills).
//
// main() lives in lambda.go (default; shared/lambdaedge/lambdaapp) and
// scf.go (-tags scf; shared/scfedge/scfapp).
package main

// allowed are the jobs this function's timers may name.
var allowed = []string{"nightly", "rollup", "sync", "moments", "report"}
