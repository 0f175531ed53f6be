// Command poster is the every-minute timer: it sends due Moments and group
// messages exactly once and follows their WeCom jobs.
//
// main() lives in lambda.go (default) and scf.go (-tags scf); both hand the
// composition root (root.New) to their runtime's start path.
package main
