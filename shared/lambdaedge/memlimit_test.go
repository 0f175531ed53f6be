package lambdaedge_test

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/siyuhq/siyu/shared/lambdaedge"
)

func TestSetMemoryLimit(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	if got := lambdaedge.SetMemoryLimit(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})); got != 107374182 {
		t.Errorf("128 MB function: limit %d, want 80 %% of 128 MiB", got)
	}
	if cur := debug.SetMemoryLimit(-1); cur != 107374182 {
		t.Errorf("runtime limit = %d, want it set", cur)
	}
	for name, e := range map[string]map[string]string{
		"GOMEMLIMIT given":   {"GOMEMLIMIT": "90MiB", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"},
		"not on Lambda":      {},
		"unreadable size":    {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"},
		"zero-sized runtime": {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"},
	} {
		if got := lambdaedge.SetMemoryLimit(env(e)); got != 0 {
			t.Errorf("%s: limit %d, want none", name, got)
		}
	}
}
