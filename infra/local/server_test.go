package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/callback"
)

// serve runs newServer with limits on 127.0.0.1 around a handler that reads
// the whole body, and returns its address.
func serve(t *testing.T, l serverLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "read %d bytes", len(b))
	}), l)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// exchange sends raw request bytes and returns what the server answers
// before it closes the connection. A server that neither answers nor
// closes within the safety deadline is reported as holding it.
func exchange(t *testing.T, addr, raw string) (answer string, held bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), true
	}
	return string(b), false
}

func TestLocalServerBoundsWhatAClientMayHold(t *testing.T) {
	short := serverLimits{ReadHeader: 200 * time.Millisecond, Read: 300 * time.Millisecond, Write: 2 * time.Second,
		Idle: 300 * time.Millisecond, MaxBody: 1 << 10}
	addr := serve(t, short)

	t.Run("a client that sends half its body and stalls is cut off", func(t *testing.T) {
		answer, held := exchange(t, addr, "POST /wecom/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("a", 50))
		if held {
			t.Fatal("the server still holds the connection of a client that stopped sending its body")
		}
		if strings.Contains(answer, "read 50 bytes") || strings.HasPrefix(answer, "HTTP/1.1 200") {
			t.Errorf("a partial body was accepted: %q", answer)
		}
	})
	t.Run("a client that never finishes its headers is cut off", func(t *testing.T) {
		if _, held := exchange(t, addr, "POST /api/posts HTTP/1.1\r\nHost: x\r\n"); held {
			t.Fatal("the server still holds the connection")
		}
	})
	t.Run("a body announced larger than the limit gets 413 and a JSON error before it is sent", func(t *testing.T) {
		answer, held := exchange(t, addr, "POST /api/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n")
		if held {
			t.Fatal("no answer")
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(answer)), nil)
		if err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"code":"body_too_large"`) {
			t.Errorf("got %d %s, want 413 with code body_too_large", resp.StatusCode, body)
		}
	})
	t.Run("a chunked body is not read past the limit", func(t *testing.T) {
		chunk := strings.Repeat("b", 1500)
		answer, held := exchange(t, addr, fmt.Sprintf("POST /api/posts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk))
		if held || !strings.HasPrefix(answer, "HTTP/1.1 413") {
			t.Errorf("got %q, want 413", answer)
		}
	})
	t.Run("a body within the limit is read whole", func(t *testing.T) {
		answer, _ := exchange(t, addr, "POST /api/posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
		if !strings.Contains(answer, "read 5 bytes") {
			t.Errorf("got %q", answer)
		}
	})
}

func TestDefaultLimitsFitEveryRoute(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a 1 MiB callback fits", defaultLimits.MaxBody >= callback.MaxBody},
		{"a post with its attachments fits", defaultLimits.MaxBody >= api.MaxPostBody},
		{"an admin API body fits", defaultLimits.MaxBody >= api.MaxJSONBody},
		{"every timeout is set", defaultLimits.ReadHeader > 0 && defaultLimits.Read > 0 && defaultLimits.Write > 0 && defaultLimits.Idle > 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("limits %+v", defaultLimits)
			}
		})
	}
}
