//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/functions/poster/root"
	"github.com/siyuhq/siyu/shared/lambdaedge"
)

func main() { lambdaedge.Start("poster", root.New) }
