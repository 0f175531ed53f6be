package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/contactsync"
	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/store"
)

// Thresholds of the report's sections.
const (
	// TrendDays is how many days before the report's day the trend shows.
	TrendDays = 7
	// ChannelDays is the window of the channel section.
	ChannelDays = 7
	// MinChannelNew keeps channels with too few new customers out of the
	// ranking (one loss of two new customers is not a signal).
	MinChannelNew = 3
	// MinMemberDeletions is the least deletions by customers of a day that
	// can make a member unusual.
	MinMemberDeletions = 3
)

// Data is everything one day's report says.
type Data struct {
	Day   calendar.Day
	Daily churn.Daily
	// Trend is the TrendDays days before Day, oldest first.
	Trend []churn.Daily
	// Channels ranks channels by their share of new customers lost over the
	// ChannelDays days ending Day, worst first.
	Channels []ChannelChurn
	// Members lists members with unusual deletions on Day.
	Members []MemberAlert
	// BestPost and WorstPost are the day's posts with the highest and lowest
	// click rate among those that reached anyone (nil when none did; the
	// same post when only one did, then WorstPost is nil).
	BestPost, WorstPost *moments.Funnel
}

// ChannelChurn is a channel's losses against its new customers.
type ChannelChurn struct {
	Channel string
	// Name is the channel's name (empty when the state has no named
	// channel: the report shows the state).
	Name string
	New  int64
	Lost int64
	Rate float64
}

// MemberAlert is a member whose deletions by customers on the day are well
// above their own average, or disagree with WeCom's own count.
type MemberAlert struct {
	Member string
	// DeletedByCustomer is Siyu's count of the day (relationships).
	DeletedByCustomer int64
	// Average is the member's daily average over the TrendDays before.
	Average float64
	// High: at least MinMemberDeletions and more than twice Average.
	High bool
	// WeCom is WeCom's negative_feedback_cnt of the day, when the sync
	// read it; Mismatch is set when it differs from DeletedByCustomer.
	WeCom    int64
	HasWeCom bool
	Mismatch bool
}

// ErrNoStats means the rollup has not stored the day yet.
var ErrNoStats = errors.New("the day's stats are not computed yet (run the rollup first)")

// Build reads the stored stats of day d and what the report says about them.
func Build(ctx context.Context, s store.Store, d calendar.Day) (Data, error) {
	data := Data{Day: d}
	daily, ok, err := churn.GetDaily(ctx, s, d)
	if err != nil {
		return data, err
	}
	if !ok {
		return data, fmt.Errorf("report %s: %w", d, ErrNoStats)
	}
	data.Daily = daily
	best, worst, err := moments.BestWorst(ctx, s, d)
	if err != nil {
		return data, fmt.Errorf("report %s: best and worst posts: %w", d, err)
	}
	data.BestPost = best
	if worst != nil && best != nil && worst.PostID != best.PostID {
		data.WorstPost = worst
	}
	if data.Trend, err = churn.DailyRange(ctx, s, d.AddDays(-TrendDays), d.AddDays(-1)); err != nil {
		return data, err
	}

	chans, err := churn.ChannelRange(ctx, s, d.AddDays(1-ChannelDays), d)
	if err != nil {
		return data, err
	}
	names, err := channels.Names(ctx, s)
	if err != nil {
		return data, err
	}
	byChan := map[string]*ChannelChurn{}
	for _, f := range chans {
		name := ""
		if f.Channel != nil {
			name = *f.Channel
		}
		c := byChan[name]
		if c == nil {
			c = &ChannelChurn{Channel: name, Name: names[name]}
			byChan[name] = c
		}
		c.New += f.NewCustomers
		c.Lost += f.LostCustomers
	}
	for _, c := range byChan {
		if c.New >= MinChannelNew && c.Lost > 0 {
			c.Rate = float64(c.Lost) / float64(c.New)
			data.Channels = append(data.Channels, *c)
		}
	}
	slices.SortFunc(data.Channels, func(a, b ChannelChurn) int {
		return cmp.Or(cmp.Compare(b.Rate, a.Rate), cmp.Compare(b.Lost, a.Lost), cmp.Compare(a.Channel, b.Channel))
	})

	rows, err := churn.MemberRange(ctx, s, d.AddDays(-TrendDays), d)
	if err != nil {
		return data, err
	}
	today := map[string]int64{}
	before := map[string]int64{}
	for _, f := range rows {
		if f.Date == d.String() {
			today[f.Member] += f.Relationships.DeletedByCustomer
		} else {
			before[f.Member] += f.Relationships.DeletedByCustomer
		}
	}
	wecomRows, err := contactsync.BehaviorFor(ctx, s, d)
	if err != nil {
		return data, err
	}
	wecomNeg := map[string]int64{}
	for _, b := range wecomRows {
		wecomNeg[b.Member] = b.NegativeFeedbackCnt
	}
	members := map[string]bool{}
	for m := range today {
		members[m] = true
	}
	for m := range wecomNeg {
		members[m] = true
	}
	for m := range members {
		a := MemberAlert{Member: m, DeletedByCustomer: today[m], Average: float64(before[m]) / TrendDays}
		a.High = a.DeletedByCustomer >= MinMemberDeletions && float64(a.DeletedByCustomer) > 2*a.Average
		a.WeCom, a.HasWeCom = wecomNeg[m]
		a.Mismatch = a.HasWeCom && a.WeCom != a.DeletedByCustomer
		if a.High || a.Mismatch {
			data.Members = append(data.Members, a)
		}
	}
	slices.SortFunc(data.Members, func(a, b MemberAlert) int {
		return cmp.Or(cmp.Compare(max(b.DeletedByCustomer, b.WeCom), max(a.DeletedByCustomer, a.WeCom)), cmp.Compare(a.Member, b.Member))
	})
	return data, nil
}
