// Command api serves the admin API (/api/*, bearer token), tracked links
// (/r/{token}) and the dashboard (/) behind a Function URL.
//
// main() lives in lambda.go (default) and scf.go (-tags scf); both hand the
// composition root (root.New) to their runtime's start path.
package main
