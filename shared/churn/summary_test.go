package churn_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/wecom"
)

// factReads counts the customers whose facts a rollup reads.
type factReads struct {
	store.Store
	customers atomic.Int64
}

func (f *factReads) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if strings.HasPrefix(q.PK, "cust#") && q.Cursor == "" {
		f.customers.Add(1)
	}
	return f.Store.Query(ctx, q)
}

// steadyDays is a brand's month as the nightly run sees it: each day new
// customers arrive, and some of those of the last days leave.
func steadyDays(days int) [][]wecom.Event {
	out := make([][]wecom.Event, days)
	for d := range days {
		for i := range 30 {
			out[d] = append(out[d], add(fmt.Sprintf("m%d", i%4), fmt.Sprintf("d%02d-c%02d", d, i), fmt.Sprintf("ch%d", i%3), at(d, 9, i)))
		}
		for back := 1; back <= 3 && back <= d; back++ {
			c := fmt.Sprintf("d%02d-c%02d", d-back, d%30)
			out[d] = append(out[d], delByCustomer(fmt.Sprintf("m%d", (d%30)%4), c, at(d, 20, back)))
		}
	}
	return out
}

// TestANightFoldsOnlyTheCustomersThatChanged runs the nightly job night
// after night: each night re-runs the month before yesterday, but reads the
// facts of yesterday's customers only (and of the earlier days' customers
// they are), and its numbers equal one run over everything.
func TestANightFoldsOnlyTheCustomersThatChanged(t *testing.T) {
	const days = 40
	scenario := steadyDays(days)
	counted := &factReads{Store: storetest.NewMemStore(scenarioNow)}
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	log := events.NewLog(counted, shanghai, now)
	r := churn.New(counted, shanghai, slog.New(slog.DiscardHandler), now)
	r.Log = log
	for d := range days {
		clock.Store(at(d, 9, 0).Unix())
		appendTo(t, log, scenario[d])
		clock.Store(at(d+1, 0, 5).Unix())
		counted.customers.Store(0)
		res, err := r.Run(t.Context(), jobs.Request{})
		if err != nil {
			t.Fatal(err)
		}
		read := counted.customers.Load()
		// Yesterday's 30 new customers and the 3 who left are folded; each
		// who left is folded again on the day they came. A full refold of
		// the window would read every one of its ~30 days' customers.
		if d >= churn.CohortDays && read > 40 {
			t.Errorf("night after day %d (%v..%v) read the facts of %d customers, want yesterday's 33 and the 3 earlier days' who left", d, res["from"], res["to"], read)
		}
	}

	fresh := storetest.NewMemStore(scenarioNow)
	flog, fr := over(fresh)
	for d := range days {
		appendTo(t, flog, scenario[d])
	}
	runRange(t, fr, 0, days-1)
	from, to := day0.AddDays(days-churn.CohortDays-1), day0.AddDays(days-1)
	for name, read := range map[string]func(store.Store) (any, error){
		"daily":   func(s store.Store) (any, error) { return churn.DailyRange(t.Context(), s, from, to) },
		"members": func(s store.Store) (any, error) { return churn.MemberRange(t.Context(), s, from, to) },
		"channels": func(s store.Store) (any, error) {
			return churn.ChannelRange(t.Context(), s, from, to)
		},
		"cohorts": func(s store.Store) (any, error) { return churn.CohortRange(t.Context(), s, from, to) },
		"channel cohorts": func(s store.Store) (any, error) {
			return churn.ChannelCohortRange(t.Context(), s, from, to)
		},
	} {
		got, err := read(counted)
		if err != nil {
			t.Fatal(err)
		}
		want, err := read(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s after %d nights differ from one run over everything:\ngot  %+v\nwant %+v", name, days, got, want)
		}
	}
}

// TestADamagedSummaryIsFoldedAfresh: a summary that cannot be read, or
// whose chunks are not those its header names, is not trusted; the day is
// folded from its facts again.
func TestADamagedSummaryIsFoldedAfresh(t *testing.T) {
	h := newHistory(6, 60)
	// Late events on the first days: every later day then folds some of
	// its customers again from its summary, and the changed days apply
	// new facts.
	extra := []wecom.Event{add("m9", "late-x", "ch1", at(0, 13, 0)), delByCustomer("m1", "c001", at(2, 13, 0))}
	for name, damage := range map[string]func(*testing.T, store.Store, string){
		"garbage chunk": func(t *testing.T, s store.Store, pk string) {
			if _, err := s.Put(t.Context(), store.Item{PK: pk, SK: "c00000", Data: []byte{1, 200, 7}}, store.Always); err != nil {
				t.Fatal(err)
			}
		},
		"chunk gone": func(t *testing.T, s store.Store, pk string) {
			if err := s.Delete(t.Context(), pk, "c00000", store.Always); err != nil {
				t.Fatal(err)
			}
		},
		"chunk of another day": func(t *testing.T, s store.Store, pk string) {
			// Well formed, but not the chunk the header names.
			other, err := s.Get(t.Context(), "rel#sum#"+day0.AddDays(3).String(), "c00000")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(t.Context(), store.Item{PK: pk, SK: "c00000", Data: other.Data}, store.Always); err != nil {
				t.Fatal(err)
			}
		},
		"garbage header": func(t *testing.T, s store.Store, pk string) {
			if _, err := s.Put(t.Context(), store.Item{PK: pk, SK: "h", Data: []byte("{")}, store.Always); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := storetest.NewMemStore(scenarioNow)
			h.play(t, s)
			for d := range h.days {
				if d != 3 {
					damage(t, s, "rel#sum#"+day0.AddDays(d).String())
				}
			}
			log, r := over(s)
			appendTo(t, log, extra)
			runRange(t, r, 0, h.days-1)
			fresh := storetest.NewMemStore(scenarioNow)
			flog, fr := over(fresh)
			for d := range h.days {
				appendTo(t, flog, h.scenario[d])
				appendTo(t, flog, h.late[d])
			}
			appendTo(t, flog, extra)
			runRange(t, fr, 0, h.days-1)
			want := readEverything(t, fresh, h.days, allPairs())
			h.check(t, name, s, want)
		})
	}
}
