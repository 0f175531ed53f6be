package contactsync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/siyuhq/siyu/shared/store"
)

// pkGroupName holds each customer group's name (sk chat_id), as groupchat/get
// last returned it.
const pkGroupName = "group#name"

type groupName struct {
	Name string `json:"name"`
}

// GroupNames returns the stored name of every customer group the sync has
// read, by chat_id (one partition read). A group the sync has not read yet
// is absent.
func GroupNames(ctx context.Context, s store.Store) (map[string]string, error) {
	items, err := store.QueryAll(ctx, s, store.Query{PK: pkGroupName})
	if err != nil {
		return nil, fmt.Errorf("read group names: %w", err)
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		var g groupName
		if err := json.Unmarshal(it.Data, &g); err != nil {
			return nil, fmt.Errorf("read group name %s: %w", it.SK, err)
		}
		out[it.SK] = g.Name
	}
	return out, nil
}

// keepGroupNames writes the names that differ from the stored ones: one
// write per new or renamed group.
func (y *Syncer) keepGroupNames(ctx context.Context, names map[string]string) error {
	stored, err := GroupNames(ctx, y.Store)
	if err != nil {
		return err
	}
	for chat, name := range names {
		if old, ok := stored[chat]; ok && old == name {
			continue
		}
		data, err := json.Marshal(groupName{Name: name})
		if err != nil {
			return err
		}
		if _, err := y.Store.Put(ctx, store.Item{PK: pkGroupName, SK: chat, Data: data}, store.Always); err != nil {
			return fmt.Errorf("keep name of group %s: %w", chat, err)
		}
	}
	return nil
}
