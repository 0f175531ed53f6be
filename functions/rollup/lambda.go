//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/lambdaedge"
)

func main() { lambdaedge.Start("rollup", root.New) }
