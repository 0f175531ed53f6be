package testutil

import (
	"context"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tencentyun/scf-go-lib/cloudfunction/messages"
)

// SCFFunction is a binary built with scf-go-lib, driven the way the SCF
// platform drives it: the platform picks a port and passes it in
// _LAMBDA_SERVER_PORT, the function serves Go's net/rpc (gob) on it, and
// each invocation is one Function.Invoke call carrying a
// messages.InvokeRequest (payload, request id, deadline, function metadata
// and the environment as a JSON object).
//
// scf-go-lib listens on 0.0.0.0 and nothing can change that, so SCF runs
// only inside a network namespace that has nothing but loopback; see
// InIsolatedNet.
type SCFFunction struct {
	Addr   string
	Output *SyncBuffer
	client *rpc.Client
}

// SCF starts binary with exactly env (plus PATH and _LAMBDA_SERVER_PORT)
// and waits until it answers Function.Ping. It refuses to run outside an
// isolated network namespace.
func SCF(t testing.TB, binary string, env ...string) *SCFFunction {
	t.Helper()
	if os.Getenv(netnsEnv) == "" {
		t.Fatal("testutil.SCF runs only inside InIsolatedNet: scf-go-lib listens on every interface")
	}
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	out := &SyncBuffer{}
	cmd := exec.Command(binary)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "_LAMBDA_SERVER_PORT=" + port}, env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	StopOnCleanup(t, cmd)
	waitListening(t, addr, out)
	client, err := rpc.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial scf function: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { _ = client.Close() })
	if err := client.Call("Function.Ping", &messages.PingRequest{}, &messages.PingResponse{}); err != nil {
		t.Fatalf("ping scf function: %v\n%s", err, out.String())
	}
	return &SCFFunction{Addr: addr, Output: out, client: client}
}

var invocations atomic.Int64

// Invoke runs one invocation with payload and a 30 s deadline, and returns
// the function's response payload; a function error is *SCFError.
func (f *SCFFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	n := invocations.Add(1)
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req := &messages.InvokeRequest{
		Payload:            payload,
		RequestId:          fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		Deadline:           messages.InvokeRequest_Timestamp{Seconds: deadline.Unix(), Nanos: int64(deadline.Nanosecond())},
		FunctionName:       "siyu-test",
		FunctionVersion:    "$LATEST",
		Namespace:          "default",
		MemoryLimitInMb:    128,
		TimeLimitInMs:      30000,
		TencentcloudRegion: "ap-guangzhou",
	}
	var resp messages.InvokeResponse
	call := f.client.Go("Function.Invoke", req, &resp, nil)
	select {
	case <-call.Done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if call.Error != nil {
		return nil, fmt.Errorf("invoke: %w", call.Error)
	}
	if resp.Error != nil {
		return nil, &SCFError{Message: resp.Error.Message, Type: resp.Error.Type}
	}
	return resp.Payload, nil
}

// SCFError is an invocation the function failed.
type SCFError struct{ Message, Type string }

func (e *SCFError) Error() string { return fmt.Sprintf("function error %s: %s", e.Type, e.Message) }

const netnsEnv = "SIYU_TEST_NETNS"

// InIsolatedNet reports whether the test runs inside a fresh network
// namespace whose only interface is loopback. When it does not, it re-runs
// the calling top-level test there — the test binary itself under
// `unshare --net`, with env added — reports the child's outcome as its own,
// and returns false: the caller returns. A server that binds 0.0.0.0 inside
// that namespace is reachable from nothing but the test.
//
// It needs root and unshare(1) and ip(8); without them the test is skipped
// (failed in CI).
//
//	if !testutil.InIsolatedNet(t, "BIN="+bin) { return }
func InIsolatedNet(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		return true
	}
	if os.Geteuid() != 0 {
		SkipOrFail(t, "a network namespace needs root (unshare --net)")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			SkipOrFail(t, "%s not found (apt-get install util-linux iproute2)", tool)
		}
	}
	name := t.Name()
	if i := strings.IndexByte(name, '/'); i >= 0 {
		t.Fatal("InIsolatedNet must be called from a top-level test")
	}
	args := []string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
		os.Args[0], "-test.run", "^" + regexp.QuoteMeta(name) + "$", "-test.v", "-test.count=1", "-test.timeout=10m"}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(append(os.Environ(), netnsEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("inside an isolated network namespace:\n%s", out)
	switch {
	case err != nil && strings.Contains(string(out), "unshare failed"):
		SkipOrFail(t, "unshare --net: %v", err)
	case err != nil:
		t.Fatalf("test in network namespace failed: %v", err)
	case strings.Contains(string(out), "--- SKIP: "+name+" "):
		t.Skip("skipped inside the network namespace")
	}
	return false
}
