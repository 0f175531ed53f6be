//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/lambdaedge/lambdaapp"
)

func main() {
	lambdaapp.Start("rollup", func(a *app.App) any { return lambdaedge.Job(a.Dispatch(allowed...)) })
}
