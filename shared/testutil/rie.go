package testutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RIEHint is how to install aws-lambda-rie for the tests.
const RIEHint = "make tools-rie (GOBIN=$PWD/.tools/bin go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest)"

// Lambda is a bootstrap running under aws-lambda-rie, the Lambda runtime
// emulator, on loopback: the real runtime API the Lambda service offers a
// custom runtime, and the Invoke API in front of it.
type Lambda struct {
	// URL is the Invoke endpoint:
	// http://127.0.0.1:PORT/2015-03-31/functions/function/invocations.
	URL string
	// Output collects what rie and the bootstrap wrote (logs).
	Output *SyncBuffer
}

// RIE starts bootstrap under aws-lambda-rie with exactly env (plus PATH)
// and stops both by process group when the test ends. The emulator is
// found at $SIYU_RIE or <repo>/.tools/bin/aws-lambda-rie; when it is
// missing the test is skipped, or fails when $CI is set.
//
// rie starts the bootstrap lazily, on the first invocation, as Lambda does
// on a cold start; so the first Invoke's latency includes process start and
// the function's init.
func RIE(t testing.TB, bootstrap string, env ...string) *Lambda {
	t.Helper()
	rie := os.Getenv("SIYU_RIE")
	if rie == "" {
		rie = filepath.Join(RepoRoot(t), ".tools", "bin", "aws-lambda-rie")
	}
	if _, err := os.Stat(rie); err != nil {
		SkipOrFail(t, "aws-lambda-rie not found at %s; install with %s", rie, RIEHint)
	}
	emuAddr, apiAddr := FreeAddr(t), FreeAddr(t)
	out := &SyncBuffer{}
	// rie treats every argument it does not know as the program to run, so
	// flags go first and the bootstrap last. Without the two addresses it
	// would listen on every interface (8080) and on a fixed 9001.
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", emuAddr,
		"--runtime-api-address", apiAddr,
		"--log-level", "warn",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_FUNCTION_TIMEOUT=30"}, env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	StopOnCleanup(t, cmd)
	waitListening(t, emuAddr, out)
	return &Lambda{URL: "http://" + emuAddr + "/2015-03-31/functions/function/invocations", Output: out}
}

// Invoke sends payload as one synchronous invocation and returns the
// function's response payload. A function error (the runtime reported an
// error instead of a result) is returned as *FunctionError.
func (l *Lambda) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke: status %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" || bytes.HasPrefix(bytes.TrimSpace(body), []byte(`{"errorMessage"`)) {
		return nil, &FunctionError{Payload: body}
	}
	return body, nil
}

// FunctionError is an invocation the function failed.
type FunctionError struct{ Payload []byte }

func (e *FunctionError) Error() string { return "function error: " + string(e.Payload) }

// BuildCommand builds the main package pkg (a path relative to the module
// root, e.g. "./functions/callback") for the host into a temporary
// directory with the given build tags, as a release would be built
// (-trimpath, stripped), and returns the binary's path. extraEnv is added to
// the build's environment (e.g. GOARCH=arm64 to measure a release size).
func BuildCommand(t testing.TB, pkg, name string, tags []string, extraEnv ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), extraEnv...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s (tags %v): %v\n%s", pkg, tags, err, b)
	}
	return out
}

// SkipOrFail skips a test whose real dependency is missing, but fails it
// in CI ($CI set), where every dependency must be installed.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the
// call.
func FreeAddr(t testing.TB) string { return hostPort(FreePort(t)) }

// StopOnCleanup stops cmd's whole process group (cmd must have been
// started with Setpgid) when the test ends: SIGTERM, then SIGKILL after 5 s.
func StopOnCleanup(t testing.TB, cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
	})
}

func waitListening(t testing.TB, addr string, out *SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s after 15 s; output:\n%s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer safe for a process's concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
