package storetest_test

import (
	"testing"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
)

func TestMemStorePassesTheConformanceSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
		return storetest.NewMemStore(store.NewOptions(opts...).Now)
	})
}
