package posts_test

import (
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore/dynalitetest"
)

// openDynalite starts dynalite for the test (skipped with an install hint
// when absent, fatal under CI) and returns a store over a fresh table.
func openDynalite(t testing.TB, now func() time.Time) store.Store {
	return dynalitetest.Open(t, store.WithClock(now))
}
