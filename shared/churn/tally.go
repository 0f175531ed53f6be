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

// customer folds one customer's facts, adds the day's numbers to t and
// returns the live relationships after all facts.
func (t *tally) customer(facts []fact, dayStart, dayEnd int64) map[string]pair {
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
			for _, row := range t.rows(f.Member, st.channel) {
				switch f.Kind {
				case kindAdd, kindHalf:
					row.Relationships.Added++
				case kindDelCust:
					row.Relationships.DeletedByCustomer++
				case kindDelMem:
					row.Relationships.DeletedByMember++
				case kindTransfer:
					row.Transferred++
				}
				if f.Origin == events.OriginReconciled {
					row.Reconciled++
				}
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
		for _, row := range t.rows(firstGain.member, firstGain.channel) {
			row.NewCustomers++
		}
	}
	if isLoss {
		for _, row := range t.rows(lastDrop.member, lastDrop.channel) {
			if lastDrop.kind == kindDelCust {
				row.LostCustomers++
			} else {
				row.RemovedCustomers++
			}
		}
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
		cc := t.chanCohorts[firstGain.channel]
		if cc == nil {
			cc = &ChannelCohort{Cohort: Cohort{Date: t.date}, Channel: firstGain.channel}
			t.chanCohorts[firstGain.channel] = cc
		}
		for _, co := range [2]*Cohort{&t.cohort, &cc.Cohort} {
			co.NewCustomers++
			if d := dropAfterGain; d != nil && d.kind == kindDelCust {
				after := time.Duration(d.at-firstGain.at) * time.Second
				if after < 24*time.Hour {
					co.Lost1d++
				}
				if after < 7*24*time.Hour {
					co.Lost7d++
				}
				if after < CohortDays*24*time.Hour {
					co.Lost30d++
				}
			}
		}
	}
	return c.live
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
