package contactsync

import (
	"context"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/wecom"
)

// readGroups reads every customer group (groupchat/get) and keeps the names
// of new and renamed groups. On a baseline run it also sets each group's
// member count (staff and customers, as group events count both) as the
// group baseline. It reads all groups again when resumed: both writes are
// idempotent.
func (y *Syncer) readGroups(ctx context.Context, st *runState, members []string) (int, error) {
	chats, err := y.listGroups(ctx, nil)
	if wecom.IsCode(err, wecom.CodeTooManyRequested) {
		// Over 1000 visible members WeCom wants an owner filter of ≤100.
		chats, err = nil, nil
		for start := 0; start < len(members) && err == nil; start += wecom.MaxOwnerFilter {
			var some []string
			some, err = y.listGroups(ctx, members[start:min(start+wecom.MaxOwnerFilter, len(members))])
			chats = append(chats, some...)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("sync: list customer groups: %w", err)
	}
	counts := make(map[string]int, len(chats))
	names := make(map[string]string, len(chats))
	for _, id := range chats {
		if _, done := counts[id]; done {
			continue
		}
		g, err := y.WeCom.GroupChatGet(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("sync: read customer group %s: %w", id, err)
		}
		counts[id] = len(g.Members)
		names[id] = g.Name
	}
	if err := y.keepGroupNames(ctx, names); err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	if !st.Baseline {
		return len(counts), nil
	}
	if err := churn.SetGroupBaseline(ctx, y.Store, y.Loc, time.Unix(st.At, 0), counts); err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	return len(counts), nil
}

// listGroups pages groupchat/list, optionally for some owners.
func (y *Syncer) listGroups(ctx context.Context, owners []string) ([]string, error) {
	var out []string
	req := wecom.GroupChatListRequest{OwnerUserIDs: owners, Limit: wecom.MaxGroupListLimit}
	for {
		page, err := y.WeCom.GroupChatList(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Chats {
			out = append(out, c.ChatID)
		}
		if page.NextCursor == "" || page.NextCursor == req.Cursor {
			return out, nil
		}
		req.Cursor = page.NextCursor
	}
}
