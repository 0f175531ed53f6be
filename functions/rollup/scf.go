//go:build scf

package main

import (
	"github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/scfedge"
)

func main() { scfedge.Start("rollup", root.New) }
