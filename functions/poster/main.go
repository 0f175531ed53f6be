// Command poster is the every-minute timer: it sends due Moments and group
// messages exactly once and follows their WeCom jobs.
//
// main() lives in lambda.go (default; shared/lambdaedge/lambdaapp) and
// scf.go (-tags scf; shared/scfedge/scfapp).
package main

// allowed are the jobs this function's timers may name.
var allowed = []string{"poster"}
