//go:build scf

package main

import (
	"github.com/siyuhq/siyu/functions/poster/root"
	"github.com/siyuhq/siyu/shared/scfedge"
)

func main() { scfedge.Start("poster", root.New) }
