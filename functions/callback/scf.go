//go:build scf

package main

import (
	"github.com/siyuhq/siyu/functions/callback/root"
	"github.com/siyuhq/siyu/shared/scfedge"
)

// main serves the callback behind an SCF API gateway trigger or function
// URL. Build: CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags
// scf,timetzdata -trimpath -ldflags="-s -w" -o main ./functions/callback
//
// No asynchronous invoke here: the poster's every-minute sweep does first
// touch (tags and alerts within a minute; welcome codes are dead by then).
func main() { scfedge.Start("callback", root.New) }
