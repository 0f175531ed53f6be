// Package memlimit gives the Go runtime a soft memory limit sized to the
// function it runs in. Without one the collector lets the heap grow to
// twice what is live, which a 128 MB function does not have; with one a
// big rollup collects more often instead of being killed.
package memlimit

import (
	"runtime/debug"
	"strconv"
)

// Where the platforms say how much memory the function has, in MB.
const (
	// Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
	Lambda = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
	// SCF sets FUNCTION_MEMORY_SIZE (what scf-go-lib's functioncontext reads).
	SCF = "FUNCTION_MEMORY_SIZE"
)

// share is the part of the function's memory the Go heap may use before the
// collector works harder; the rest is the runtime, stacks and the binary.
const share = 0.8

// Set sets the limit to 80 % of the memory named by the variable sizeVar,
// unless GOMEMLIMIT already sets one or the size is unknown. It returns the
// limit set, 0 when none.
func Set(getenv func(string) string, sizeVar string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.Atoi(getenv(sizeVar))
	if err != nil || mb <= 0 {
		return 0
	}
	limit := int64(float64(int64(mb)<<20) * share)
	debug.SetMemoryLimit(limit)
	return limit
}
