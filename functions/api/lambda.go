//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/shared/app"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/lambdaedge/lambdaapp"
)

func main() {
	lambdaapp.Start("api", func(a *app.App) any { return lambdaedge.HTTP(a.Handler()) })
}
