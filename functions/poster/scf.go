//go:build scf

package main

import (
	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/scfedge"
	"github.com/siyuhq/siyu/shared/scfedge/scfapp"
)

func main() {
	scfapp.Start("poster", func(a *app.App) any { return scfedge.Job(a.Dispatch(allowed...)) })
}
