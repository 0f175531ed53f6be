//go:build scf

package main

import (
	"context"
	"time"

	"github.com/siyuhq/siyu/functions/callback/root"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/firsttouch"
	"github.com/siyuhq/siyu/shared/scfedge"
	"github.com/siyuhq/siyu/shared/start"
)

// main serves the callback behind an SCF API gateway trigger or function
// URL. Build: CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags
// scf,timetzdata -trimpath -ldflags="-s -w" -o main ./functions/callback
//
// SCF has no asynchronous hand-off here, and the welcome code dies in 20 s,
// long before the poster's every-minute sweep: so on SCF the callback sends
// the welcome itself, within greetBudget, before answering (and so needs
// the trusted egress IP); the sweep does the tags and the alerts.
func main() { scfedge.Start("callback", root.NewWith(greet)) }

// greetBudget bounds the welcome inside WeCom's 5 s wait for the answer.
const greetBudget = 3 * time.Second

func greet(d start.Deps) (func(context.Context, events.Record), error) {
	wc := d.WeCom()
	if wc == nil {
		d.Logger.Warn("WECOM_SECRET is not set: the callback sends no welcome messages")
		return nil, nil
	}
	return firsttouch.Inline(firsttouch.New(d.Store, wc, d.Config.Loc, d.Logger, d.Now), greetBudget), nil
}
