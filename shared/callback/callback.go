// Package callback is the WeCom callback receiver: GET answers WeCom's URL
// verification, POST verifies, decrypts and durably logs one event, and only
// then answers 200 — a storage failure answers 503 so WeCom retries.
package callback

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/wecom"
)

// MaxBody is the largest callback body accepted; WeCom's events are a few
// hundred bytes.
const MaxBody = 1 << 20

// WeCom's query parameters are short: a 40-hex signature, a ten-digit
// timestamp, a nonce of about ten digits and, to verify the URL, an echostr
// of a few hundred base64 characters. Far longer ones are not WeCom's.
const (
	maxQuery = 4 << 10 // the whole query string
	maxParam = 128     // msg_signature, timestamp, nonce each
)

// Handler receives WeCom callbacks for one corp.
type Handler struct {
	Crypter *wecom.Crypter
	Log     *events.Log
	// MaxSkew bounds |now − timestamp| (replay protection); default 1 h.
	MaxSkew time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
	// OnStored, when set, is told of each newly stored event (the local
	// stack logs them); it must not block.
	OnStored func(events.Record)
	// FirstTouch, when set, follows add and delete events with the
	// welcome, tags and alerts (pending.Marker).
	FirstTouch FirstTouch
}

// FirstTouch is the hook of the work that follows an event. Mark runs
// before the event is appended, so the work is never lost to a crash
// between the two; its failure answers 503 like a storage failure. Stored
// runs for a newly stored event before the 200 and must be bounded: it
// hands the event on (a queue, an asynchronous invoke) and never waits for
// WeCom.
type FirstTouch interface {
	Mark(ctx context.Context, rec events.Record) error
	Stored(ctx context.Context, rec events.Record)
}

// New returns a handler with defaults filled in.
func New(c *wecom.Crypter, log *events.Log, maxSkew time.Duration, logger *slog.Logger, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	if maxSkew <= 0 {
		maxSkew = time.Hour
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Handler{Crypter: c, Log: log, MaxSkew: maxSkew, Now: now, Logger: logger}
}

// rejection is a refused request: status, code and a message safe to show.
type rejection struct {
	status  int
	code    string
	message string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verify(w, r)
	case http.MethodPost:
		h.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		httpx.Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET for URL verification or POST for events")
	}
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if rej := h.checkQuery(r.URL.RawQuery, q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")); rej != nil {
		h.reject(w, r, *rej, nil)
		return
	}
	echostr := q.Get("echostr")
	if echostr == "" {
		h.reject(w, r, rejection{http.StatusBadRequest, "missing_echostr", "echostr is required for URL verification"}, nil)
		return
	}
	plain, err := h.Crypter.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), echostr)
	if err != nil {
		h.reject(w, r, cryptoRejection(err), err)
		return
	}
	// The plaintext exactly: no quotes, no BOM, no newline.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(plain)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(plain)
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	if rej := h.checkQuery(r.URL.RawQuery, sig, ts, nonce); rej != nil {
		h.reject(w, r, *rej, nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		h.reject(w, r, rejection{http.StatusBadRequest, "unreadable_body", "could not read the request body"}, err)
		return
	}
	if len(body) > MaxBody {
		h.reject(w, r, rejection{http.StatusRequestEntityTooLarge, "body_too_large", "callback body exceeds 1 MiB"}, nil)
		return
	}
	msg, err := h.Crypter.Open(sig, ts, nonce, body)
	if err != nil {
		h.reject(w, r, cryptoRejection(err), err)
		return
	}
	ev, err := wecom.ParseEvent(msg)
	if err != nil {
		h.reject(w, r, rejection{http.StatusBadRequest, "malformed_event", "the decrypted event is not valid XML or JSON"}, err)
		return
	}
	if ev.ToUserName != "" && ev.ToUserName != h.Crypter.ReceiveID() {
		h.reject(w, r, rejection{http.StatusForbidden, "wrong_corp", "the event is addressed to another corp"}, nil)
		return
	}
	if h.FirstTouch != nil {
		rec, _, err := h.Log.Item(ev, events.OriginCallback)
		if err == nil {
			err = h.FirstTouch.Mark(r.Context(), rec)
		}
		if err != nil {
			h.Logger.LogAttrs(r.Context(), slog.LevelError, "first-touch work not marked; WeCom will retry",
				slog.String("event", ev.Event), slog.String("change_type", ev.ChangeType), slog.String("err", err.Error()))
			httpx.Error(w, http.StatusServiceUnavailable, "store_unavailable", "the event could not be stored; retry later")
			return
		}
	}
	rec, stored, err := h.Log.Append(r.Context(), ev, events.OriginCallback)
	if err != nil {
		h.Logger.LogAttrs(r.Context(), slog.LevelError, "callback not stored; WeCom will retry",
			slog.String("event", ev.Event), slog.String("change_type", ev.ChangeType), slog.String("err", err.Error()))
		httpx.Error(w, http.StatusServiceUnavailable, "store_unavailable", "the event could not be stored; retry later")
		return
	}
	h.Logger.LogAttrs(r.Context(), slog.LevelInfo, "callback",
		slog.String("event", ev.Event), slog.String("change_type", ev.ChangeType),
		slog.String("key", rec.Key), slog.Bool("duplicate", !stored), slog.Bool("known", ev.Known))
	if stored && h.OnStored != nil {
		h.OnStored(rec)
	}
	if stored && h.FirstTouch != nil {
		h.FirstTouch.Stored(r.Context(), rec)
	}
	// An empty 200 tells WeCom the event was received; no passive reply.
	w.WriteHeader(http.StatusOK)
}

// checkQuery validates the signature parameters' presence and size and the
// timestamp window before any crypto work.
func (h *Handler) checkQuery(raw, sig, ts, nonce string) *rejection {
	if len(raw) > maxQuery || len(sig) > maxParam || len(ts) > maxParam || len(nonce) > maxParam {
		return &rejection{http.StatusBadRequest, "query_too_long", "the query parameters are longer than WeCom's"}
	}
	if sig == "" || ts == "" || nonce == "" {
		return &rejection{http.StatusBadRequest, "missing_parameters", "msg_signature, timestamp and nonce are required"}
	}
	stale := &rejection{http.StatusUnauthorized, "stale_timestamp", "timestamp is outside the accepted window (possible replay)"}
	sec, err := strconv.ParseInt(ts, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return stale // a number, just beyond int64: far outside any window
	case err != nil:
		return &rejection{http.StatusBadRequest, "bad_timestamp", "timestamp must be unix seconds"}
	}
	// Compare in whole seconds: a Duration between now and a timestamp
	// centuries away saturates, and a saturated skew once passed the check.
	now, window := h.Now().Unix(), int64(h.MaxSkew/time.Second)
	if sec < now-window || sec > now+window {
		return stale
	}
	return nil
}

func cryptoRejection(err error) rejection {
	var ce *wecom.CryptoError
	if errors.As(err, &ce) {
		switch ce.Kind {
		case wecom.ErrKindSignature:
			return rejection{http.StatusUnauthorized, "bad_signature", "msg_signature does not match"}
		case wecom.ErrKindReceiveID:
			return rejection{http.StatusForbidden, "wrong_corp", "the message is encrypted for another corp"}
		}
	}
	return rejection{http.StatusBadRequest, "malformed_message", "the encrypted message is malformed (base64, padding or envelope)"}
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, rej rejection, err error) {
	attrs := []slog.Attr{slog.Int("status", rej.status), slog.String("code", rej.code), slog.String("method", r.Method)}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	h.Logger.LogAttrs(context.WithoutCancel(r.Context()), slog.LevelWarn, "callback rejected", attrs...)
	httpx.Error(w, rej.status, rej.code, rej.message)
}
