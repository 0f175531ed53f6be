package contactsync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Behavior is WeCom's own 「联系客户统计」 of one member and day, stored
// beside Siyu's per-member counts so that disagreements show: a
// negative_feedback_cnt above Siyu's deleted_by_customer points at lost
// del_follow_user callbacks, which the follow lists cannot reveal.
type Behavior struct {
	// Date is the Beijing day WeCom buckets by (the same as Siyu's days with
	// the default SIYU_TZ).
	Date   string `json:"date"`
	Member string `json:"member"`
	// NewContactCnt: 新增客户数.
	NewContactCnt int64 `json:"new_contact_cnt"`
	// NegativeFeedbackCnt: 删除/拉黑成员的客户数 (customers who deleted or
	// blocked the member).
	NegativeFeedbackCnt int64 `json:"negative_feedback_cnt"`
	NewApplyCnt         int64 `json:"new_apply_cnt"`
	ChatCnt             int64 `json:"chat_cnt"`
	MessageCnt          int64 `json:"message_cnt"`
	// FetchedAt is when the sync read it (unix seconds).
	FetchedAt int64 `json:"fetched_at"`
}

func behaviorPK(day string) string { return "wecomstat#member#" + day }

// BehaviorFor returns WeCom's behaviour data of every member on day d,
// sorted by member; members the sync has not read have no row.
func BehaviorFor(ctx context.Context, s store.Store, d calendar.Day) ([]Behavior, error) {
	items, err := store.QueryAll(ctx, s, store.Query{PK: behaviorPK(d.String()), Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("read WeCom behaviour data of %s: %w", d, err)
	}
	var out []Behavior
	for _, it := range items {
		var b Behavior
		if err := json.Unmarshal(it.Data, &b); err != nil {
			return nil, fmt.Errorf("decode WeCom behaviour data %s/%s: %w", it.PK, it.SK, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// BehaviorRange is BehaviorFor over from..to, by day then member (one
// partition read per day).
func BehaviorRange(ctx context.Context, s store.Store, from, to calendar.Day) ([]Behavior, error) {
	var out []Behavior
	for d := from; !d.After(to); d = d.AddDays(1) {
		rows, err := BehaviorFor(ctx, s, d)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// pullBehavior reads get_user_behavior_data for each member (one call per
// member and window of ≤30 days: several userids would be summed) and
// stores a row per member and day. The checkpoint moves after each member.
func (y *Syncer) pullBehavior(ctx context.Context, st *runState, members []string, days []calendar.Day) error {
	if len(days) == 0 {
		return nil
	}
	for _, batch := range batches(members, st.After) {
		for _, m := range batch {
			for start := 0; start < len(days); start += wecom.MaxStatSpanDays {
				win := days[start:min(start+wecom.MaxStatSpanDays, len(days))]
				rows, err := y.WeCom.GetUserBehaviorData(ctx, wecom.BehaviorQuery{UserIDs: []string{m},
					Start: win[0].Start(wecom.Beijing), End: win[len(win)-1].Start(wecom.Beijing)})
				if err != nil {
					return fmt.Errorf("sync: behaviour data of %s %s..%s: %w", m, win[0], win[len(win)-1], err)
				}
				fetched := y.Now().Unix()
				for _, r := range rows {
					b := Behavior{Date: time.Unix(r.StatTime, 0).In(wecom.Beijing).Format(time.DateOnly), Member: m,
						NewContactCnt: int64(r.NewContactCnt), NegativeFeedbackCnt: int64(r.NegativeFeedbackCnt),
						NewApplyCnt: int64(r.NewApplyCnt), ChatCnt: int64(r.ChatCnt), MessageCnt: int64(r.MessageCnt),
						FetchedAt: fetched}
					data, _ := json.Marshal(b)
					if _, err := y.Store.Put(ctx, store.Item{PK: behaviorPK(b.Date), SK: m, Data: data}, store.Always); err != nil {
						return fmt.Errorf("sync: store behaviour data of %s %s: %w", m, b.Date, err)
					}
					st.BehaviorRows++
				}
			}
			st.After = m
			if err := y.save(ctx, st); err != nil {
				return err
			}
		}
	}
	return nil
}
