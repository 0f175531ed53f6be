package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
)

// queryAll reads every item of one partition range and decodes it.
func queryAll[T any](ctx context.Context, s store.Store, q store.Query) ([]T, error) {
	q.Limit = store.MaxLimit
	items, err := store.QueryAll(ctx, s, q)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", q.PK, err)
	}
	var out []T
	for _, it := range items {
		var v T
		if err := json.Unmarshal(it.Data, &v); err != nil {
			return nil, fmt.Errorf("decode %s/%s: %w", it.PK, it.SK, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// dayRange is the sk range of from..to in a partition keyed by day or by
// "day#key".
func dayRange(pk string, from, to calendar.Day) store.Query {
	return store.Query{PK: pk, From: from.String(), To: to.String() + "#\uffff"}
}

// everyDay reads a partition keyed by day and returns one row per day
// from..to, made by zero(day) where nothing is stored.
func everyDay[T any](ctx context.Context, s store.Store, pk string, from, to calendar.Day, date func(T) string, zero func(string) T) ([]T, error) {
	rows, err := queryAll[T](ctx, s, store.Query{PK: pk, From: from.String(), To: to.String()})
	if err != nil {
		return nil, err
	}
	byDay := make(map[string]T, len(rows))
	for _, r := range rows {
		byDay[date(r)] = r
	}
	out := make([]T, 0, from.DaysUntil(to)+1)
	for d := from; !d.After(to); d = d.AddDays(1) {
		r, ok := byDay[d.String()]
		if !ok {
			r = zero(d.String())
		}
		out = append(out, r)
	}
	return out, nil
}

// DailyRange returns one row per day from..to, with zeros for days that
// have no stored stats.
func DailyRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]Daily, error) {
	return everyDay(ctx, s, pkDaily, from, to, func(r Daily) string { return r.Date }, func(d string) Daily { return Daily{Date: d} })
}

// MemberRange returns the per-member rows from..to, by day then member.
// Members without activity on a day have no row.
func MemberRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]Flows, error) {
	return queryAll[Flows](ctx, s, dayRange(pkMember, from, to))
}

// ChannelRange returns the per-channel rows from..to, by day then channel.
func ChannelRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]Flows, error) {
	return queryAll[Flows](ctx, s, dayRange(pkChannel, from, to))
}

// CohortRange returns one cohort per day from..to, zeros where none is stored.
func CohortRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]Cohort, error) {
	return everyDay(ctx, s, pkCohort, from, to, func(r Cohort) string { return r.Date }, func(d string) Cohort { return Cohort{Date: d} })
}

// ChannelCohortRange returns the per-channel cohorts from..to, by day then
// channel; a channel has a row on the days it brought new customers.
func ChannelCohortRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]ChannelCohort, error) {
	return queryAll[ChannelCohort](ctx, s, dayRange(pkChanCoh, from, to))
}

// GroupRange returns the per-group rows from..to, by day then chat; a group
// has a row on the days it had events.
func GroupRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]GroupDay, error) {
	return queryAll[GroupDay](ctx, s, dayRange(pkGroup, from, to))
}

// GetDaily reads one stored day.
func GetDaily(ctx context.Context, s store.Store, d calendar.Day) (Daily, bool, error) {
	var out Daily
	it, err := s.Get(ctx, pkDaily, d.String())
	if errors.Is(err, store.ErrNotFound) {
		return out, false, nil
	}
	if err != nil {
		return out, false, fmt.Errorf("read stats of %s: %w", d, err)
	}
	if err := json.Unmarshal(it.Data, &out); err != nil {
		return out, false, fmt.Errorf("decode stats of %s: %w", d, err)
	}
	return out, true, nil
}
