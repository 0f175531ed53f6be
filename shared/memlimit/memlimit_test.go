package memlimit_test

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/siyuhq/siyu/shared/memlimit"
)

func TestSet(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	for _, v := range []string{memlimit.Lambda, memlimit.SCF} {
		debug.SetMemoryLimit(math.MaxInt64)
		if got := memlimit.Set(env(map[string]string{v: "128"}), v); got != 107374182 {
			t.Errorf("128 MB function (%s): limit %d, want 80 %% of 128 MiB", v, got)
		}
		if cur := debug.SetMemoryLimit(-1); cur != 107374182 {
			t.Errorf("runtime limit = %d, want it set", cur)
		}
	}
	for name, e := range map[string]map[string]string{
		"GOMEMLIMIT given":     {"GOMEMLIMIT": "90MiB", memlimit.Lambda: "128"},
		"not on the platform":  {},
		"the other platform's": {memlimit.SCF: "128"},
		"unreadable size":      {memlimit.Lambda: "lots"},
		"zero-sized function":  {memlimit.Lambda: "0"},
	} {
		if got := memlimit.Set(env(e), memlimit.Lambda); got != 0 {
			t.Errorf("%s: limit %d, want none", name, got)
		}
	}
}
