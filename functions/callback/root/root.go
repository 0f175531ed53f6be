// Package root is the callback function's composition root: the WeCom
// crypter, the event log and the callback handler on one route, which marks
// add and delete events as pending first-touch work and hands new ones to
// a dispatcher (on Lambda an asynchronous invoke of the poster; on SCF an
// inline welcome, wired in the SCF main). It builds nothing else and calls
// no WeCom API itself, so the callback links no posting, rollup or API code,
// and on Lambda no first-touch code and needs no trusted IP.
package root

import (
	"context"
	"fmt"
	"net/http"

	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch/pending"
	"github.com/siyuhq/siyu/shared/httpx"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Path is where the callback is served, the same in every runtime.
const Path = "/wecom/callback"

// Handler is the callback receiver over d's store.
func Handler(d start.Deps) (*callback.Handler, error) {
	cfg := d.Config
	if err := cfg.Require("WECOM_CORP_ID", "WECOM_CALLBACK_TOKEN", "WECOM_ENCODING_AES_KEY"); err != nil {
		return nil, err
	}
	crypter, err := wecom.NewCrypter(cfg.CallbackToken, cfg.EncodingAESKey, cfg.CorpID)
	if err != nil {
		return nil, fmt.Errorf("callback crypter: %w", err)
	}
	h := callback.New(crypter, events.NewLog(d.Store, cfg.Loc, d.Now), cfg.CallbackMaxSkew, d.Logger, d.Now)
	h.FirstTouch = pending.Marker{Store: d.Store}
	return h, nil
}

// Dispatcher builds what hands a newly stored add or delete event to the
// first-touch worker without waiting for WeCom; a nil func leaves the work
// to the poster's every-minute sweep.
type Dispatcher func(d start.Deps) (func(context.Context, events.Record), error)

// New is the function without a dispatcher: the sweep does first touch
// (SCF, which has no asynchronous invoke client offline).
func New(ctx context.Context, d start.Deps) (start.Function, error) { return NewWith(nil)(ctx, d) }

// NewWith is the function with dispatch: the callback on Path, a JSON 404
// elsewhere.
func NewWith(dispatch Dispatcher) start.Root {
	return func(_ context.Context, d start.Deps) (start.Function, error) {
		h, err := Handler(d)
		if err != nil {
			return start.Function{}, err
		}
		if dispatch != nil {
			fn, err := dispatch(d)
			if err != nil {
				return start.Function{}, fmt.Errorf("first-touch dispatch: %w", err)
			}
			h.FirstTouch = pending.Marker{Store: d.Store, Dispatch: fn}
		}
		return serve(h), nil
	}
}

func serve(h *callback.Handler) start.Function {
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, http.StatusNotFound, "not_found", "WeCom callbacks go to "+Path)
	})
	return start.Function{HTTP: mux}
}
