package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Buffer is the http.ResponseWriter of one buffered invocation: the runtime
// edges (Lambda Function URL, SCF API gateway) run a handler into it and
// turn the result into their event's response.
type Buffer struct {
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
}

// NewBuffer returns an empty 200 response.
func NewBuffer() *Buffer { return &Buffer{header: make(http.Header), status: http.StatusOK} }

// Header is the response header map.
func (b *Buffer) Header() http.Header { return b.header }

// WriteHeader records the first status written, as net/http does.
func (b *Buffer) WriteHeader(status int) {
	if b.wroteHeader {
		return
	}
	b.wroteHeader, b.status = true, status
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// Status is the status written (200 when none was).
func (b *Buffer) Status() int { return b.status }

// Body is what was written.
func (b *Buffer) Body() []byte { return b.body.Bytes() }

// IsText reports whether a body can travel as a JSON string unchanged: it
// is valid UTF-8 and its content type (when given) is textual.
func IsText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml",
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "image/svg+xml":
		return true
	}
	return false
}

// Serve is what a runtime edge does with one HTTP invocation: h answers
// req into a buffer, or, when the edge could not build req from the event
// (err), the edge answers 400 itself and logs why — never an invocation
// error, which the platform would turn into an opaque 5xx. what names the
// event in the log line.
func Serve(ctx context.Context, h http.Handler, req *http.Request, err error, what string) *Buffer {
	w := NewBuffer()
	if err != nil {
		slog.LogAttrs(ctx, slog.LevelWarn, what+" rejected", slog.String("err", err.Error()))
		Error(w, http.StatusBadRequest, "bad_request", "the request could not be read")
		return w
	}
	h.ServeHTTP(w, req)
	return w
}
