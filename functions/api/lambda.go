//go:build !scf

package main

import (
	"github.com/siyuhq/siyu/functions/api/root"
	"github.com/siyuhq/siyu/shared/lambdaedge"
)

func main() { lambdaedge.Start("api", root.New) }
