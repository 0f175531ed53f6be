package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testutil"
)

var (
	buildOnce   sync.Once
	stackBin    string
	stackBinDir string
	buildErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stackBinDir != "" {
		_ = os.RemoveAll(stackBinDir)
	}
	os.Exit(code)
}

// binary builds this command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the local stack")
	}
	buildOnce.Do(func() {
		if stackBinDir, buildErr = os.MkdirTemp("", "siyu-local-"); buildErr != nil {
			return
		}
		stackBin = filepath.Join(stackBinDir, "local")
		out, err := exec.Command("go", "build", "-o", stackBin, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build the local stack: %v", buildErr)
	}
	return stackBin
}

// localStack is one run of the local stack binary in dir.
type localStack struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *testutil.SyncBuffer
	done chan struct{}
}

// startStack runs the binary in dir (its ./.siyu) on 127.0.0.1, with env
// added to a minimal environment (no WeCom credentials unless given).
func startStack(t *testing.T, dir string, env ...string) *localStack {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SIYU_ADDR=127.0.0.1:0"}, env...)
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &localStack{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	})
	return s
}

// waitFor waits until the output contains want (or the process ends).
func (s *localStack) waitFor(want string) {
	s.t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(s.out.String(), want) {
		select {
		case <-s.done:
			s.t.Fatalf("the stack exited before %q:\n%s", want, s.out.String())
		case <-deadline:
			s.t.Fatalf("no %q in the output:\n%s", want, s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// url is where the stack listens.
func (s *localStack) url() string {
	s.waitFor("Siyu local stack ready")
	m := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(s.out.String())
	if m == nil {
		s.t.Fatalf("no url in:\n%s", s.out.String())
	}
	return m[1]
}

// stop sends sig to the stack's PID and returns its exit code.
func (s *localStack) stop(sig syscall.Signal) int {
	s.t.Helper()
	if err := syscall.Kill(s.cmd.Process.Pid, sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("the stack did not stop after %v:\n%s", sig, s.out.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

func TestTheAdminTokenIsPrintedOnlyWhenTheStackMadeIt(t *testing.T) {
	t.Run("a token given in SIYU_ADMIN_TOKEN never appears in the output", func(t *testing.T) {
		const given = "operator-secret-8d1f3a"
		s := startStack(t, t.TempDir(), "SIYU_ADMIN_TOKEN="+given)
		base := s.url()
		s.waitFor("/api/stats/daily'")
		if code := s.stop(syscall.SIGINT); code != 0 {
			t.Errorf("exit code %d:\n%s", code, s.out.String())
		}
		out := s.out.String()
		if strings.Contains(out, given) {
			t.Errorf("the given admin token is in the output:\n%s", out)
		}
		if !strings.Contains(out, "Admin token: from SIYU_ADMIN_TOKEN") || !strings.Contains(out, base+"/") {
			t.Errorf("the output does not say where the token comes from and where to sign in:\n%s", out)
		}
	})
	t.Run("a generated token is shown with where it is stored and a sign-in link", func(t *testing.T) {
		dir := t.TempDir()
		s := startStack(t, dir)
		base := s.url()
		s.waitFor("/api/stats/daily'")
		if code := s.stop(syscall.SIGINT); code != 0 {
			t.Errorf("exit code %d:\n%s", code, s.out.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, ".siyu", "admin-token"))
		if err != nil {
			t.Fatal(err)
		}
		tok := strings.TrimSpace(string(b))
		out := s.out.String()
		for _, want := range []string{"Admin token: " + tok, "stored in .siyu/admin-token", base + "/login#token=" + tok} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestTheDemoRestartsCleanly(t *testing.T) {
	dir := t.TempDir()
	for _, run := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"the first run sends its posts and stops on Ctrl-C", syscall.SIGINT},
		{"a second run on the same store follows the first run's Moments and stops on SIGTERM", syscall.SIGTERM},
	} {
		t.Run(run.name, func(t *testing.T) {
			s := startStack(t, dir)
			s.waitFor("demo: live")
			code := s.stop(run.sig)
			out := s.out.String()
			if code != 0 {
				t.Errorf("exit code %d after %v, want 0", code, run.sig)
			}
			for _, bad := range []string{"41060", "invalid moment id", "invalid msgid", "level=ERROR", "level=WARN"} {
				if strings.Contains(out, bad) {
					t.Errorf("the output has %q:\n%s", bad, out)
				}
			}
			if n := strings.Count(out, "\n"); n > 40 {
				t.Errorf("the start printed %d lines, want one per phase:\n%s", n, out)
			}
			for _, phase := range []string{"demo: callback URL verified", "demo: history replayed", "callbacks=", "demo: rolled up",
				"demo: nightly jobs ran", "demo: posts", "msg=stopped"} {
				if !strings.Contains(out, phase) {
					t.Errorf("no %q line:\n%s", phase, out)
				}
			}
			if run.sig == syscall.SIGINT && !strings.Contains(out, `msg="demo: posts" scheduled=4 sent=2`) {
				t.Errorf("the first run did not send its Moment and group message:\n%s", out)
			}
		})
	}
}

func TestTheLocalServerRefusesAnOversizedBody(t *testing.T) {
	s := startStack(t, t.TempDir())
	base := s.url()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce 17 MiB and send none of it: the answer comes at once.
	_, _ = io.WriteString(conn, "POST /wecom/callback?msg_signature=x&timestamp=1&nonce=n HTTP/1.1\r\nHost: x\r\nContent-Length: 17825792\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
	if code := s.stop(syscall.SIGINT); code != 0 {
		t.Errorf("exit code %d:\n%s", code, s.out.String())
	}
}
