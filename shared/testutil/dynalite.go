package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DynaliteInstall is the command that installs dynalite where Dynalite looks.
const DynaliteInstall = "mkdir -p .tools && npm install --prefix .tools dynalite"

// Dynalite starts a dynalite server (an in-memory DynamoDB) for the test and
// returns its endpoint, "http://127.0.0.1:PORT". Tables become ACTIVE at
// once. The binary is $SIYU_DYNALITE, or .tools/node_modules/.bin/dynalite
// under the repository root.
func Dynalite(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("SIYU_DYNALITE")
	if bin == "" {
		bin = filepath.Join(RepoRoot(tb), ".tools", "node_modules", ".bin", "dynalite")
	}
	if !executable(bin) {
		missing(tb, "dynalite ("+bin+")", DynaliteInstall)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(tb, "node (for dynalite)", "apt-get install -y nodejs npm")
	}
	port := FreePort(tb)
	logPath := filepath.Join(tb.TempDir(), "dynalite.log")
	p, err := startProc(logPath, bin,
		"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.stop(5 * time.Second) })
	if err := p.waitPort(hostPort(port), 30*time.Second); err != nil {
		tb.Fatalf("dynalite: %v\n%s", err, tail(logPath))
	}
	return "http://" + hostPort(port)
}
