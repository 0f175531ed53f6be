package churn_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/metered"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/wecom"
)

// scenarioNow is the clock of every history: after its last day.
func scenarioNow() time.Time { return at(90, 12, 0) }

// over returns a log and a rollup over s with the scenario clock.
func over(s store.Store) (*events.Log, *churn.Rollup) {
	now := scenarioNow
	log := events.NewLog(s, shanghai, nil)
	log.Now = now
	r := churn.New(s, shanghai, slog.New(slog.DiscardHandler), nil)
	r.Log, r.Now = log, now
	return log, r
}

func appendTo(t *testing.T, log *events.Log, evs []wecom.Event) {
	t.Helper()
	for _, ev := range evs {
		if _, _, err := log.Append(t.Context(), ev, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
}

func rollDays(t *testing.T, r *churn.Rollup, from, to int) {
	t.Helper()
	for n := from; n <= to; n++ {
		if _, err := r.Day(t.Context(), day0.AddDays(n)); err != nil {
			t.Fatalf("rollup day %d: %v", n, err)
		}
	}
}

// runRange is the rollup job over days from..to: every day's facts first,
// then each day, so cohorts see the losses of later days.
func runRange(t *testing.T, r *churn.Rollup, from, to int) {
	t.Helper()
	if _, err := r.Run(t.Context(), jobs.Request{From: day0.AddDays(from).String(), To: day0.AddDays(to).String()}); err != nil {
		t.Fatal(err)
	}
}

// everything is what readers can see: every stats range and the live
// relationships.
type everything struct {
	Daily              []churn.Daily
	Members, Channels  []churn.Flows
	Cohorts            []churn.Cohort
	Groups             []churn.GroupDay
	Live               []churn.Relationship
	CustomerEndedPairs map[churn.Pair]time.Time
}

func readEverything(t *testing.T, s store.Store, days int, pairs []churn.Pair) everything {
	t.Helper()
	ctx := t.Context()
	from, to := day0, day0.AddDays(days-1)
	var e everything
	var err error
	if e.Daily, err = churn.DailyRange(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
	if e.Members, err = churn.MemberRange(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
	if e.Channels, err = churn.ChannelRange(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
	if e.Cohorts, err = churn.CohortRange(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
	if e.Groups, err = churn.GroupRange(ctx, s, from, to); err != nil {
		t.Fatal(err)
	}
	if e.Live, err = churn.Live(ctx, s, shanghai, at(days, 0, 0).Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range e.Live {
		e.Live[i].Since = e.Live[i].Since.UTC()
	}
	if e.CustomerEndedPairs, err = churn.CustomerEnded(ctx, s, shanghai, at(days, 0, 0).Add(-time.Second), pairs); err != nil {
		t.Fatal(err)
	}
	return e
}

// randomDays makes a busy scenario over days: members, customers and groups
// drawn at random, every kind of relationship event, in any order a real
// corp produces (adds of live pairs, deletes of dead ones, transfers).
func randomDays(seed uint64, days, perDay int) [][]wecom.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]wecom.Event, days)
	for d := range days {
		for i := range perDay {
			when := at(d, 0, 0).Add(time.Duration(rng.IntN(86400)) * time.Second)
			member := fmt.Sprintf("m%d", rng.IntN(6))
			customer := fmt.Sprintf("c%03d", rng.IntN(120))
			channel := fmt.Sprintf("ch%d", rng.IntN(4))
			var ev wecom.Event
			switch k := rng.IntN(12); {
			case k < 4:
				ev = add(member, customer, channel, when)
			case k < 5:
				ev = halfAdd(member, customer, channel, when)
			case k < 7:
				ev = delByCustomer(member, customer, when)
			case k < 9:
				ev = delByMember(member, customer, when)
			case k < 10:
				ev = transferAway(member, customer, when)
			case k < 11:
				ev = groupEvent(fmt.Sprintf("g%d", i%3), wecom.DetailAddMember, 0, 1+rng.IntN(3), when)
			default:
				ev = groupEvent(fmt.Sprintf("g%d", i%3), wecom.DetailDelMember, rng.IntN(2), 1, when)
			}
			out[d] = append(out[d], ev)
		}
	}
	return out
}

func allPairs() []churn.Pair {
	var out []churn.Pair
	for m := range 6 {
		for c := range 120 {
			out = append(out, churn.Pair{Member: fmt.Sprintf("m%d", m), Customer: fmt.Sprintf("c%03d", c)})
		}
	}
	return out
}

// history is a scenario played the way production sees it: days rolled as
// they end, late callbacks three days back picked up by a backfill, the
// last days' late events and a full-range run at the end, then unchanged
// re-runs that must not move anything.
type history struct {
	days           int
	scenario, late [][]wecom.Event
}

func newHistory(days, perDay int) history {
	return history{days: days, scenario: randomDays(42, days, perDay), late: randomDays(43, days, perDay/10+1)}
}

func (h history) play(t *testing.T, s store.Store) {
	t.Helper()
	log, r := over(s)
	for d := range h.days {
		appendTo(t, log, h.scenario[d])
		rollDays(t, r, d, d)
		if d >= 3 {
			appendTo(t, log, h.late[d-3])
			if _, err := r.Run(t.Context(), jobs.Request{Date: day0.AddDays(d - 3).String()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for d := max(h.days-3, 0); d < h.days; d++ {
		appendTo(t, log, h.late[d])
	}
	runRange(t, r, 0, h.days-1)
	rollDays(t, r, 0, h.days-1)
}

// want is every number after one run over every event of the history.
func (h history) want(t *testing.T) everything {
	t.Helper()
	fresh := storetest.NewMemStore(scenarioNow)
	log, r := over(fresh)
	for d := range h.days {
		appendTo(t, log, h.scenario[d])
		appendTo(t, log, h.late[d])
	}
	runRange(t, r, 0, h.days-1)
	w := readEverything(t, fresh, h.days, allPairs())
	if w.Daily[h.days-1].CustomersEnd == 0 || len(w.Live) == 0 || len(w.Groups) == 0 {
		t.Fatalf("the scenario is too quiet to prove anything: %+v", w.Daily[h.days-1])
	}
	return w
}

func (h history) check(t *testing.T, name string, s store.Store, want everything) {
	t.Helper()
	got := readEverything(t, s, h.days, allPairs())
	for field, pair := range map[string][2]any{
		"daily": {got.Daily, want.Daily}, "members": {got.Members, want.Members},
		"channels": {got.Channels, want.Channels}, "cohorts": {got.Cohorts, want.Cohorts},
		"groups": {got.Groups, want.Groups}, "live": {got.Live, want.Live},
		"customer ended": {got.CustomerEndedPairs, want.CustomerEndedPairs},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s store: %s differ from a single run over every event:\ngot  %+v\nwant %+v", name, field, pair[0], pair[1])
		}
	}
}

// TestBatchedStoresAgree plays a busy history on the in-memory store (one
// call per key), on SQLite (batched reads, multi-row upserts) and on a store
// whose runs keep almost none of the customers they saw (so days are folded
// from their events again, some after keeping a few). All must show what one
// run over every event shows.
func TestBatchedStoresAgree(t *testing.T) {
	h := newHistory(12, 90)
	want := h.want(t)

	mem := storetest.NewMemStore(scenarioNow)
	h.play(t, mem)
	h.check(t, "memory", mem, want)

	sql, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "churn.db"), store.WithClock(scenarioNow))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sql.Close() })
	h.play(t, sql)
	h.check(t, "sqlite", sql, want)

	tight := storetest.NewMemStore(scenarioNow)
	restore := churn.SetKeptBytes(200)
	h.play(t, tight)
	restore()
	h.check(t, "memory, little kept", tight, want)
}

func TestUnchangedRerunWritesNothing(t *testing.T) {
	s := metered.Wrap(storetest.NewMemStore(scenarioNow))
	log, r := over(s)
	for _, day := range randomDays(7, 5, 60) {
		appendTo(t, log, day)
	}
	runRange(t, r, 0, 4) // every fact first, so cohorts are complete
	s.Reset()
	rollDays(t, r, 0, 4)
	if _, err := r.Run(t.Context(), jobs.Request{From: day0.String(), To: day0.AddDays(4).String()}); err != nil {
		t.Fatal(err)
	}
	if c := s.Counts(); c.Writes != 0 {
		t.Errorf("re-running unchanged days made %d writes, want 0", c.Writes)
	}

	// One late event: the re-run writes its fact and the rows it changed,
	// not the day again.
	appendTo(t, log, []wecom.Event{add("m9", "late-customer", "", at(2, 12, 0))})
	s.Reset()
	rollDays(t, r, 2, 4)
	if c := s.Counts(); c.Writes == 0 || c.Writes > 20 {
		t.Errorf("re-running after one late event made %d writes, want a handful", c.Writes)
	}
}

// failing fails every write after the first n, as a function killed or a
// store gone mid-run would leave things.
type failing struct {
	store.Store
	left atomic.Int64
}

var errDown = errors.New("store down")

func (f *failing) spend() error {
	if f.left.Add(-1) < 0 {
		return errDown
	}
	return nil
}

func (f *failing) Put(ctx context.Context, it store.Item, c store.Cond) (store.Item, error) {
	if err := f.spend(); err != nil {
		return store.Item{}, err
	}
	return f.Store.Put(ctx, it, c)
}

func (f *failing) Delete(ctx context.Context, pk, sk string, c store.Cond) error {
	if err := f.spend(); err != nil {
		return err
	}
	return f.Store.Delete(ctx, pk, sk, c)
}

func (f *failing) Incr(ctx context.Context, pk, sk string, d int64, exp time.Time) (int64, error) {
	if err := f.spend(); err != nil {
		return 0, err
	}
	return f.Store.Incr(ctx, pk, sk, d, exp)
}

// TestInterruptedRunIsFinishedByTheNext cuts a run after every possible
// number of writes; the next full run must leave exactly what an
// uninterrupted one does.
func TestInterruptedRunIsFinishedByTheNext(t *testing.T) {
	scenario := randomDays(11, 3, 40)
	late := randomDays(12, 3, 5)
	reference := storetest.NewMemStore(scenarioNow)
	{
		log, r := over(reference)
		for d := range 3 {
			appendTo(t, log, scenario[d])
			appendTo(t, log, late[d])
		}
		runRange(t, r, 0, 2)
	}
	want := readEverything(t, reference, 3, allPairs())

	for cut := int64(0); ; cut += 7 {
		mem := storetest.NewMemStore(scenarioNow)
		f := &failing{Store: mem}
		f.left.Store(1 << 40)
		log, r := over(f)
		for d := range 3 {
			appendTo(t, log, scenario[d])
		}
		rollDays(t, r, 0, 2)
		for d := range 3 {
			appendTo(t, log, late[d])
		}
		f.left.Store(cut)
		_, err := r.Run(t.Context(), jobs.Request{From: day0.String(), To: day0.AddDays(2).String()})
		finished := err == nil
		if err != nil && !errors.Is(err, errDown) {
			t.Fatalf("cut after %d writes: %v", cut, err)
		}
		f.left.Store(1 << 40)
		if _, err := r.Run(t.Context(), jobs.Request{From: day0.String(), To: day0.AddDays(2).String()}); err != nil {
			t.Fatal(err)
		}
		if got := readEverything(t, mem, 3, allPairs()); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a run cut at %d writes and a full one:\ngot  %+v\nwant %+v", cut, got, want)
		}
		if finished {
			return // the cut came after the last write
		}
	}
}
