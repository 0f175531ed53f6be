package churn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// groupCarry is a group's member count at the end of Day (sk = Day), or its
// baseline at the start of Day (sk = groupBaseSK).
type groupCarry struct {
	Day     string `json:"day"`
	Members int64  `json:"members"`
}

// groupBaseSK sorts after every date, so a date-range query never sees it.
const groupBaseSK = "base"

// groupStart is a group's member count at 00:00 of d: the end of its last
// stored day before d, or its baseline when that is newer; 0 when neither
// exists (a group seen first through events is counted from its events).
func groupStart(ctx context.Context, s store.Store, chat string, d calendar.Day) (int64, error) {
	var last *groupCarry
	page, err := s.Query(ctx, store.Query{PK: chatPK(chat), To: d.AddDays(-1).String(), Desc: true, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("read members of group %s: %w", chat, err)
	}
	if len(page.Items) > 0 {
		var c groupCarry
		if err := json.Unmarshal(page.Items[0].Data, &c); err != nil {
			return 0, fmt.Errorf("decode members of group %s: %w", chat, err)
		}
		last = &c
	}
	it, err := s.Get(ctx, chatPK(chat), groupBaseSK)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, fmt.Errorf("read baseline of group %s: %w", chat, err)
	default:
		var b groupCarry
		if err := json.Unmarshal(it.Data, &b); err != nil {
			return 0, fmt.Errorf("decode baseline of group %s: %w", chat, err)
		}
		if b.Day <= d.String() && (last == nil || last.Day < b.Day) {
			return b.Members, nil
		}
	}
	if last == nil {
		return 0, nil
	}
	return last.Members, nil
}

func groupCarryChange(chat string, d calendar.Day, members int64) change {
	data, _ := json.Marshal(groupCarry{Day: d.String(), Members: members}) // cannot fail
	return change{key: store.Key{PK: chatPK(chat), SK: d.String()}, data: data}
}

// groupTally accumulates one group's day from its events.
type groupTally struct {
	joins, quitsSelf, quitsRemoved int64
	dismissed                      bool
}

// changeCount is how many members an add_member/del_member event moved.
func changeCount(e wecom.Event) int64 {
	switch {
	case e.MemChangeCnt > 0:
		return int64(e.MemChangeCnt)
	case len(e.MemChangeList) > 0:
		return int64(len(e.MemChangeList))
	}
	return 1
}

// addGroupEvent folds one change_external_chat event into tallies.
func addGroupEvent(tallies map[string]*groupTally, rec events.Record) {
	e := rec.Event
	if e.Event != wecom.EventExternalChat || e.ChatID == "" {
		return
	}
	t := tallies[e.ChatID]
	if t == nil {
		t = &groupTally{}
		tallies[e.ChatID] = t
	}
	switch {
	case e.ChangeType == wecom.ChangeChatUpdate && e.UpdateDetail == wecom.DetailAddMember:
		t.joins += changeCount(e)
	case e.ChangeType == wecom.ChangeChatUpdate && e.UpdateDetail == wecom.DetailDelMember:
		if e.QuitScene == 1 {
			t.quitsRemoved += changeCount(e)
		} else {
			t.quitsSelf += changeCount(e)
		}
	case e.ChangeType == wecom.ChangeChatDismiss:
		t.dismissed = true
	}
}

// groupDays turns the day's tallies into rows and stores each group's carry.
func groupDays(ctx context.Context, s store.Store, d calendar.Day, tallies map[string]*groupTally) ([]GroupDay, error) {
	out := make([]GroupDay, 0, len(tallies))
	carries := make([]change, 0, len(tallies))
	for chat, t := range tallies {
		start, err := groupStart(ctx, s, chat, d)
		if err != nil {
			return nil, err
		}
		g := GroupDay{Date: d.String(), ChatID: chat, MembersStart: start, Joins: t.joins,
			QuitsSelf: t.quitsSelf, QuitsRemoved: t.quitsRemoved, Dismissed: t.dismissed}
		g.MembersEnd = start + t.joins - t.quitsSelf - t.quitsRemoved
		if t.dismissed {
			g.MembersEnd = 0
		}
		g.QuitRate = ratio(t.quitsSelf+t.quitsRemoved, start+t.joins)
		carries = append(carries, groupCarryChange(chat, d, g.MembersEnd))
		out = append(out, g)
	}
	if err := applyChanges(ctx, s, carries); err != nil {
		return nil, fmt.Errorf("store members of groups: %w", err)
	}
	return out, nil
}
