package lambdaedge

import (
	"runtime/debug"
	"strconv"
)

// memoryShare is the part of the function's memory the Go heap may use
// before the collector works harder; the rest is the runtime, stacks and the
// binary itself.
const memoryShare = 0.8

// SetMemoryLimit gives the Go runtime a soft memory limit of 80 % of the
// function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB), unless
// GOMEMLIMIT already sets one. Without it the collector lets the heap grow
// to twice what is live, which a 128 MB function does not have; with it a
// big rollup collects more often instead of being killed. It returns the
// limit set, 0 when none.
func SetMemoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return 0
	}
	limit := int64(float64(int64(mb)<<20) * memoryShare)
	debug.SetMemoryLimit(limit)
	return limit
}
