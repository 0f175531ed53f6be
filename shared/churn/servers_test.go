package churn_test

import (
	"testing"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/dynamostore/dynalitetest"
	"github.com/siyuhq/siyu/shared/store/sqlstore/mysql"
	"github.com/siyuhq/siyu/shared/testutil"
)

// TestRollupOnServerStores plays a history on the stores the clouds use —
// DynamoDB (dynalite: BatchGetItem, concurrent queries and writes) and
// MySQL (MariaDB: multi-row ON DUPLICATE KEY upserts) — and checks every
// number against one run over every event.
func TestRollupOnServerStores(t *testing.T) {
	h := newHistory(6, 40)
	want := h.want(t)

	t.Run("dynamodb", func(t *testing.T) {
		s := dynalitetest.Open(t, store.WithClock(scenarioNow))
		h.play(t, s)
		h.check(t, "dynamodb", s, want)
	})
	t.Run("mysql", func(t *testing.T) {
		s, err := mysql.Open(t.Context(), testutil.MariaDB(t), store.WithClock(scenarioNow))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		h.play(t, s)
		h.check(t, "mysql", s, want)
	})
}
