// Package churntest holds test helpers for the churn rollup and its readers.
package churntest

import (
	"time"

	"github.com/siyuhq/siyu/shared/store/storetest"
)

// MemStore is the in-memory store the churn tests run on.
type MemStore = storetest.MemStore

// NewMemStore returns an empty in-memory store on the real clock.
func NewMemStore() *MemStore { return storetest.NewMemStore(time.Now) }
