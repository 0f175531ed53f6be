package wecom

import (
	"context"
	"fmt"
	"time"
)

// Beijing is the zone of WeCom's statistics days (UTC+8, no DST). A fixed
// zone needs no tzdata in the runtime.
var Beijing = time.FixedZone("CST", 8*3600)

// Statistics windows (get_user_behavior_data, groupchat/statistic).
const (
	MaxStatSpanDays = 30
	MaxStatAgeDays  = 180
)

// BehaviorQuery asks for daily 「联系客户统计」 between Start and End
// (inclusive days, Beijing time). Several members are summed together.
type BehaviorQuery struct {
	UserIDs  []string
	PartyIDs []int
	Start    time.Time
	End      time.Time
}

// BehaviorData is one Beijing day of a member's customer-contact figures.
type BehaviorData struct {
	// StatTime is 00:00 Beijing of the day, Unix seconds.
	StatTime   int64 `json:"stat_time"`
	ChatCnt    int   `json:"chat_cnt"`
	MessageCnt int   `json:"message_cnt"`
	// ReplyPercentage and AvgReplyTime (minutes) are present only on days
	// with chats.
	ReplyPercentage float64 `json:"reply_percentage,omitempty"`
	AvgReplyTime    int     `json:"avg_reply_time,omitempty"`
	// NegativeFeedbackCnt counts customers who deleted or blocked the member.
	NegativeFeedbackCnt int `json:"negative_feedback_cnt"`
	NewApplyCnt         int `json:"new_apply_cnt"`
	NewContactCnt       int `json:"new_contact_cnt"`
}

// BeijingDay floors t to 00:00 of its Beijing day.
func BeijingDay(t time.Time) time.Time {
	y, m, d := t.In(Beijing).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Beijing)
}

// ValidateBehaviorWindow checks WeCom's rules for a statistics window at
// now: start ≤ end, a span of at most 30 days, and no day older than 180.
func ValidateBehaviorWindow(start, end, now time.Time) error {
	s, e := BeijingDay(start), BeijingDay(end)
	switch {
	case start.IsZero() || end.IsZero():
		return fmt.Errorf("start and end are required")
	case e.Before(s):
		return fmt.Errorf("end %s before start %s", e.Format(time.DateOnly), s.Format(time.DateOnly))
	case e.Sub(s) > MaxStatSpanDays*24*time.Hour:
		return fmt.Errorf("span %s..%s longer than %d days", s.Format(time.DateOnly), e.Format(time.DateOnly), MaxStatSpanDays)
	case s.Before(BeijingDay(now).AddDate(0, 0, -MaxStatAgeDays)):
		return fmt.Errorf("start %s older than %d days", s.Format(time.DateOnly), MaxStatAgeDays)
	}
	return nil
}

// GetUserBehaviorData reads daily customer-contact statistics: new
// customers and customers who deleted the member, per Beijing day.
func (c *Client) GetUserBehaviorData(ctx context.Context, q BehaviorQuery) ([]BehaviorData, error) {
	const op = "externalcontact/get_user_behavior_data"
	switch {
	case len(q.UserIDs) == 0 && len(q.PartyIDs) == 0:
		return nil, fmt.Errorf("wecom %s: userids or partyids are required", op)
	case len(q.UserIDs) > 100 || len(q.PartyIDs) > 100:
		return nil, fmt.Errorf("wecom %s: at most 100 userids and 100 partyids", op)
	}
	if err := ValidateBehaviorWindow(q.Start, q.End, c.now()); err != nil {
		return nil, fmt.Errorf("wecom %s: %w", op, err)
	}
	body := struct {
		UserID    []string `json:"userid,omitempty"`
		PartyID   []int    `json:"partyid,omitempty"`
		StartTime int64    `json:"start_time"`
		EndTime   int64    `json:"end_time"`
	}{q.UserIDs, q.PartyIDs, BeijingDay(q.Start).Unix(), BeijingDay(q.End).Unix()}
	var ans struct {
		BehaviorData []BehaviorData `json:"behavior_data"`
	}
	if err := c.read(ctx, op, body, &ans); err != nil {
		return nil, err
	}
	return ans.BehaviorData, nil
}
