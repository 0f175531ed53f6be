package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/siyuhq/siyu/shared/httpx"
)

// serverLimits bound what one client may hold of the local server. The
// README tells people to expose it through a tunnel, so a client that
// never finishes its request must not keep a connection for ever.
type serverLimits struct {
	ReadHeader time.Duration
	// Read bounds the whole request, body included.
	Read time.Duration
	// Write bounds the handler and its answer: a job run through
	// POST /api/jobs/… may take as long as a cloud function may run.
	Write time.Duration
	Idle  time.Duration
	// MaxBody is the largest request body on any route: above the
	// callback's 1 MiB and a post with its attachments (14 MiB).
	MaxBody int64
}

var defaultLimits = serverLimits{
	ReadHeader: 10 * time.Second,
	Read:       time.Minute,
	Write:      15 * time.Minute,
	Idle:       2 * time.Minute,
	MaxBody:    16 << 20,
}

func newServer(h http.Handler, l serverLimits) *http.Server {
	return &http.Server{
		Handler:           limitBody(h, l.MaxBody),
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
	}
}

// limitBody answers 413 to a body announced larger than max and caps the
// others, so no route reads more than max whatever it does itself.
func limitBody(h http.Handler, max int64) http.Handler {
	capped := http.MaxBytesHandler(h, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Connection", "close")
			httpx.Error(w, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("the request body is larger than %d MiB", max>>20))
			return
		}
		capped.ServeHTTP(w, r)
	})
}
