package api

import (
	"compress/gzip"
	"net/http"
	"strings"
)

// gzipMin is the smallest answer worth compressing; smaller ones go as
// they are.
const gzipMin = 1 << 10

// withGzip compresses what h answers a GET whose client accepts gzip: the
// console's JSON and SVG shrink five to ten times. The answer is buffered
// up to gzipMin to decide, then streamed.
func withGzip(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !AcceptsGzip(r) {
			h(w, r)
			return
		}
		g := &gzipWriter{ResponseWriter: w, status: http.StatusOK}
		h(g, r)
		g.finish()
	}
}

// AcceptsGzip reports whether r's client takes a gzipped answer.
func AcceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// gzipWriter holds the status and the first gzipMin bytes, then either
// compresses the rest or, for a short answer, writes it as it is.
type gzipWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte
	zw      *gzip.Writer
	decided bool
}

func (g *gzipWriter) WriteHeader(status int) {
	if !g.decided {
		g.status = status
	}
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if g.decided {
		if g.zw != nil {
			return g.zw.Write(b)
		}
		return g.ResponseWriter.Write(b)
	}
	g.buf = append(g.buf, b...)
	if len(g.buf) >= gzipMin {
		g.start(true)
	}
	return len(b), nil
}

func (g *gzipWriter) start(compress bool) {
	g.decided = true
	h := g.Header()
	h.Add("Vary", "Accept-Encoding")
	if compress && h.Get("Content-Encoding") == "" {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		g.zw = gzip.NewWriter(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(g.status)
	buf := g.buf
	g.buf = nil
	if len(buf) > 0 {
		_, _ = g.Write(buf)
	}
}

func (g *gzipWriter) finish() {
	if !g.decided {
		g.start(false)
	}
	if g.zw != nil {
		_ = g.zw.Close()
	}
}
