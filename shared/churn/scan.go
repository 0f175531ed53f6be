package churn

import (
	"hash/maphash"

	"github.com/siyuhq/siyu/shared/events"
)

// keptBytes bounds the memory a run spends keeping the customers of the
// days whose facts it applied: about 36 bytes a customer with WeCom's
// 32-byte ids, so some 1.3 million customers a run. Past it a day's
// customers are not kept and computing the day reads its events again.
// A day of a million distinct customers peaks at ~94 MiB of heap under the
// soft memory limit a 128 MB Lambda sets (memlimit.Set).
var keptBytes = 48 << 20

// budget is what is left of keptBytes in one run.
type budget struct{ left int }

func newBudget() *budget { return &budget{left: keptBytes} }

// dayScan is one pass over a day's events: every customer once, in the
// order first seen, the day's group tallies and the number of events.
// While its budget lasts it keeps the customers (in one byte arena), so
// the day can be folded without reading its events a second time.
type dayScan struct {
	seed   maphash.Seed
	done   map[uint64]struct{} // 8-byte hashes of the customers seen
	groups map[string]*groupTally
	events int64
	digest digest

	budget *budget
	keep   bool
	arena  []byte
	ends   []uint32
}

// newDayScan returns a scan that keeps customers while b lasts and digests
// the events; with a nil b it does neither (a day folded from its events).
func newDayScan(b *budget) *dayScan {
	return &dayScan{seed: maphash.MakeSeed(), done: map[uint64]struct{}{},
		groups: map[string]*groupTally{}, budget: b, keep: b != nil}
}

// add scans one page of events and returns the customers first seen on it.
func (s *dayScan) add(recs []events.Record) []string {
	var fresh []string
	for _, rec := range recs {
		s.events++
		if s.budget != nil { // applying facts: the run records what it saw
			s.digest.add(events.SK(rec.CreateTime, rec.Key))
		}
		customer, _, ok := factOf(rec)
		if !ok {
			addGroupEvent(s.groups, rec)
			continue
		}
		h := maphash.String(s.seed, customer)
		if _, ok := s.done[h]; ok {
			continue
		}
		s.done[h] = struct{}{}
		fresh = append(fresh, customer)
		s.remember(customer)
	}
	return fresh
}

func (s *dayScan) remember(customer string) {
	if !s.keep {
		return
	}
	cost := len(customer) + 4
	if s.budget.left < cost || len(s.arena)+len(customer) > 1<<32-1 {
		s.keep, s.arena, s.ends = false, nil, nil // too many: read the events again
		return
	}
	s.budget.left -= cost
	s.arena = append(s.arena, customer...)
	s.ends = append(s.ends, uint32(len(s.arena)))
}

// each calls fn with the kept customers, n at a time, in the order first
// seen.
func (s *dayScan) each(n int, fn func([]string) error) error {
	batch := make([]string, 0, n)
	start := uint32(0)
	for i, end := range s.ends {
		batch = append(batch, string(s.arena[start:end]))
		start = end
		if len(batch) == n || i == len(s.ends)-1 {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}
