// Command callback receives WeCom's callbacks: URL verification (GET) and
// customer, group and tag events (POST), each stored once before it is
// answered 200.
//
// main() lives in lambda.go (default) and scf.go (-tags scf); both hand
// the composition root (root.New) to their runtime's start path.
package main
