package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"

	_ "github.com/siyuhq/siyu/shared/store/dynamostore"
	_ "github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
)

// ChildEnv, set to 1, makes the month's binary (the command or its test
// binary) serve the stack as a child: on 127.0.0.1, over SIYU_STORE, with
// its clock set by the parent through ClockPath. It prints its base URL on
// the first line of stdout.
const ChildEnv = "SIYU_MONTH_CHILD"

// ClockPath sets the child's clock: POST with t=<unix nanoseconds>. Only
// the month's child serves it.
const ClockPath = "/__month/clock"

// Child is a running child process.
type Child struct {
	URL string
	cmd *exec.Cmd
}

// StartChild runs exe (with ChildEnv and env) and waits for its URL.
func StartChild(ctx context.Context, exe string, args []string, env map[string]string, stderr io.Writer) (*Child, error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// The child's log (and any panic) goes to the terminal and to the
	// run's log, which the check scans.
	cmd.Stderr = os.Stderr
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(os.Stderr, stderr)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if t := sc.Text(); strings.HasPrefix(t, "http://127.0.0.1:") {
				line <- t
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case u := <-line:
		return &Child{URL: u, cmd: cmd}, nil
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, errors.New("month: the child did not start within 30 s")
}

// Kill stops the child with SIGKILL, by its PID, and reaps it.
func (c *Child) Kill() {
	_ = syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// SetClock sets the child's clock.
func (c *Child) SetClock(ctx context.Context, hc *http.Client, t time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+ClockPath+"?t="+strconv.FormatInt(t.UnixNano(), 10), nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("month: child clock answered %d", resp.StatusCode)
	}
	return nil
}

// ServeChild is the child's main: the stack over SIYU_STORE until killed.
func ServeChild() error {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := store.Open(ctx, cfg.Store, store.WithClock(clock))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: logger, Now: clock})
	if err != nil {
		return err
	}
	s.FirstTouch.RetryAfter = firstTouchRetry
	s.FirstTouch.Start(ctx)
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	mux.HandleFunc("POST "+ClockPath, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.URL.Query().Get("t"), 10, 64)
		if err != nil {
			http.Error(w, "t must be unix nanoseconds", http.StatusBadRequest)
			return
		}
		// First touch happens before time moves on, as in the parent.
		s.FirstTouch.Idle(r.Context())
		now.Store(n)
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

// startChild points the callbacks at a new child.
func (r *run) startChild(ctx context.Context) error {
	c, err := r.opts.Child(ctx, r.env(), r.logs)
	if err != nil {
		return err
	}
	if err := c.SetClock(ctx, r.hc, r.clk.Now()); err != nil {
		c.Kill()
		return err
	}
	r.child = c
	r.url.Store(c.URL)
	return nil
}

// killChild kills the child while copies of ev are in flight to it, and
// starts the next one on the same store.
func (r *run) killChild(ctx context.Context, ev wecom.Event) error {
	done := make(chan struct{})
	for range 3 {
		go func() {
			_, _ = r.postOnce(ctx, ev)
			done <- struct{}{}
		}()
	}
	r.child.Kill()
	for range 3 {
		<-done
	}
	r.fig.Kills++
	r.fig.Duplicates += 3
	return r.startChild(ctx)
}

// stopChild ends the day's child (SIGKILL too: it holds nothing that a
// kill loses) and points the callbacks back at the in-process stack.
func (r *run) stopChild() {
	r.childClock(context.Background()) // lets its first-touch queue finish
	r.child.Kill()
	r.child = nil
	r.url.Store(r.inproc)
}

// childClock keeps the child's clock with the run's.
func (r *run) childClock(ctx context.Context) {
	if r.child != nil {
		if err := r.child.SetClock(ctx, r.hc, r.clk.Now()); err != nil {
			r.opts.Logger.Warn("child clock", "err", err)
		}
	}
}
