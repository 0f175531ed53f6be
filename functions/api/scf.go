//go:build scf

package main

import (
	"github.com/siyuhq/siyu/functions/api/root"
	"github.com/siyuhq/siyu/shared/scfedge"
)

func main() { scfedge.Start("api", root.New) }
