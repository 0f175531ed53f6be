// Command api serves the admin API (/api/*, bearer token), tracked links
// (/r/{token}) and the dashboard (/) behind a Function URL.
//
// main() lives in lambda.go (default; shared/lambdaedge/lambdaapp) and
// scf.go (-tags scf; shared/scfedge/scfapp), which link the store adapter of
// their cloud.
package main
