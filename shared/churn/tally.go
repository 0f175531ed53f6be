package churn

import (
	"maps"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
)

// The counting rules: how one customer's facts become a day's numbers.

// tally accumulates a day's numbers over its customers.
type tally struct {
	date     string
	daily    Flows
	members  map[string]*Flows
	channels map[string]*Flows
	cohort   Cohort
	// chanCohorts are the day's cohort split by the channel that brought
	// each new customer.
	chanCohorts map[string]*ChannelCohort
}

func newTally(d calendar.Day) *tally {
	return &tally{date: d.String(), daily: Flows{Date: d.String()}, members: map[string]*Flows{},
		channels: map[string]*Flows{}, cohort: Cohort{Date: d.String()}, chanCohorts: map[string]*ChannelCohort{}}
}

// rows returns the brand, member and channel rows one event is charged to.
func (t *tally) rows(member, channel string) [3]*Flows {
	m := t.members[member]
	if m == nil {
		m = &Flows{Date: t.date, Member: member}
		t.members[member] = m
	}
	c := t.channels[channel]
	if c == nil {
		ch := channel
		c = &Flows{Date: t.date, Channel: &ch}
		t.channels[channel] = c
	}
	return [3]*Flows{&t.daily, m, c}
}

type charge struct {
	at              int64
	kind            string
	member, channel string
}

// op is one count a customer adds to a day's numbers: a field of the
// brand, member and channel rows, or of the day's cohort and the cohort of
// channel. A day's numbers are the sum of its customers' ops, so a run can
// keep each customer's ops (summary.go) and refold only the customers whose
// facts changed since.
type op struct {
	field           uint8
	member, channel string
}

// Fields an op counts. Row fields go to the brand, member and channel rows;
// cohort fields to the day's cohort and the channel's (member unused).
const (
	opAdded uint8 = iota
	opDelCust
	opDelMem
	opTransferred
	opReconciled
	opNew
	opLost
	opRemoved
	opCohortNew
	opLost1d
	opLost7d
	opLost30d
	numOps
)

// add counts one op.
func (t *tally) add(o op) {
	if o.field < opCohortNew {
		for _, row := range t.rows(o.member, o.channel) {
			switch o.field {
			case opAdded:
				row.Relationships.Added++
			case opDelCust:
				row.Relationships.DeletedByCustomer++
			case opDelMem:
				row.Relationships.DeletedByMember++
			case opTransferred:
				row.Transferred++
			case opReconciled:
				row.Reconciled++
			case opNew:
				row.NewCustomers++
			case opLost:
				row.LostCustomers++
			case opRemoved:
				row.RemovedCustomers++
			}
		}
		return
	}
	cc := t.chanCohorts[o.channel]
	if cc == nil {
		cc = &ChannelCohort{Cohort: Cohort{Date: t.date}, Channel: o.channel}
		t.chanCohorts[o.channel] = cc
	}
	for _, co := range [2]*Cohort{&t.cohort, &cc.Cohort} {
		switch o.field {
		case opCohortNew:
			co.NewCustomers++
		case opLost1d:
			co.Lost1d++
		case opLost7d:
			co.Lost7d++
		case opLost30d:
			co.Lost30d++
		}
	}
}

// customer folds one customer's facts, adds the day's numbers to t and
// returns the ops it added (appended to ops) and the live relationships
// after all facts.
func (t *tally) customer(ops []op, facts []fact, dayStart, dayEnd int64) ([]op, map[string]pair) {
	from := len(ops)
	ops, live := customerOps(ops, facts, dayStart, dayEnd)
	for _, o := range ops[from:] {
		t.add(o)
	}
	return ops, live
}

// customerOps appends what one customer adds to a day (given the
// customer's every fact in order) and returns the live relationships after
// all facts. It depends on nothing but the facts and the day.
func customerOps(ops []op, facts []fact, dayStart, dayEnd int64) ([]op, map[string]pair) {
	c := newFold()
	i := 0
	for ; i < len(facts) && facts[i].Time < dayStart; i++ {
		c.apply(facts[i])
	}
	startLive := c.customerLive()
	var firstGain, lastDrop, dropAfterGain *charge
	dropped := false
	for ; i < len(facts) && facts[i].Time < dayEnd; i++ {
		f := facts[i]
		st := c.apply(f)
		if st.counted {
			o := op{member: f.Member, channel: st.channel}
			switch f.Kind {
			case kindAdd, kindHalf:
				o.field = opAdded
			case kindDelCust:
				o.field = opDelCust
			case kindDelMem:
				o.field = opDelMem
			case kindTransfer:
				o.field = opTransferred
			}
			ops = append(ops, o)
			if f.Origin == events.OriginReconciled {
				o.field = opReconciled
				ops = append(ops, o)
			}
		}
		ch := &charge{at: f.Time, kind: f.Kind, member: f.Member, channel: st.channel}
		if st.gained && firstGain == nil {
			firstGain = ch
		}
		if st.dropped {
			dropped = true
			lastDrop = ch
			if firstGain != nil && dropAfterGain == nil {
				dropAfterGain = ch
			}
		}
	}
	endLive := c.customerLive()

	// At most one new and one loss per customer and day, chosen so that
	// customers_end = start + new - lost - removed holds: a customer added
	// and lost the same day is new and lost; one lost and won back is lost
	// and new; cycles in between collapse.
	var isNew, isLoss bool
	switch {
	case !startLive && endLive:
		isNew = true
	case startLive && !endLive:
		isLoss = true
	case !startLive && !endLive:
		isNew, isLoss = firstGain != nil, firstGain != nil
	default:
		isNew, isLoss = dropped, dropped
	}
	if isNew {
		ops = append(ops, op{field: opNew, member: firstGain.member, channel: firstGain.channel})
	}
	if isLoss {
		o := op{field: opRemoved, member: lastDrop.member, channel: lastDrop.channel}
		if lastDrop.kind == kindDelCust {
			o.field = opLost
		}
		ops = append(ops, o)
	}

	// Later facts (already stored by later days' runs) close the cohort and
	// give the latest live state.
	for ; i < len(facts); i++ {
		st := c.apply(facts[i])
		if st.dropped && firstGain != nil && dropAfterGain == nil {
			dropAfterGain = &charge{at: facts[i].Time, kind: facts[i].Kind}
		}
	}
	if isNew {
		ops = append(ops, op{field: opCohortNew, channel: firstGain.channel})
		if d := dropAfterGain; d != nil && d.kind == kindDelCust {
			after := time.Duration(d.at-firstGain.at) * time.Second
			for _, w := range [...]struct {
				field  uint8
				within time.Duration
			}{{opLost1d, 24 * time.Hour}, {opLost7d, 7 * 24 * time.Hour}, {opLost30d, CohortDays * 24 * time.Hour}} {
				if after < w.within {
					ops = append(ops, op{field: w.field, channel: firstGain.channel})
				}
			}
		}
	}
	return ops, c.live
}

// rates fills a cohort's shares from its counts.
func (c *Cohort) rates() {
	c.Rate1d = ratio(c.Lost1d, c.NewCustomers)
	c.Rate7d = ratio(c.Lost7d, c.NewCustomers)
	c.Rate30d = ratio(c.Lost30d, c.NewCustomers)
}

// sortedCohorts are the channel cohorts by channel, with their rates.
func sortedCohorts(m map[string]*ChannelCohort) []ChannelCohort {
	out := sortedByKey(m)
	for i := range out {
		out[i].rates()
	}
	return out
}
func sortedFlows(m map[string]*Flows) []Flows { return sortedByKey(m) }

// sortedByKey copies m's values out in the order of their keys.
func sortedByKey[T any](m map[string]*T) []T {
	out := make([]T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, *m[k])
	}
	return out
}
