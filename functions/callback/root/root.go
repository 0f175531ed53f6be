// Package root is the callback function's composition root: the WeCom
// crypter, the event log and the callback handler on one route. It builds
// nothing else, so the callback binary links no posting, rollup or API code.
package root

import (
	"context"
	"fmt"
	"net/http"

	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/events"
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
	return callback.New(crypter, events.NewLog(d.Store, cfg.Loc, d.Now), cfg.CallbackMaxSkew, d.Logger, d.Now), nil
}

// New is the function: the callback on Path, a JSON 404 elsewhere.
func New(_ context.Context, d start.Deps) (start.Function, error) {
	h, err := Handler(d)
	if err != nil {
		return start.Function{}, err
	}
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.Error(w, http.StatusNotFound, "not_found", "WeCom callbacks go to "+Path)
	})
	return start.Function{HTTP: mux}, nil
}
