package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// SaveSettings replaces the brand's settings if they are still at version
// prev (0: none saved yet): two concurrent saves, one wins and the other
// gets a ConflictError. It validates first.
func SaveSettings(ctx context.Context, st store.Store, s Settings, prev int64, now time.Time) (Settings, error) {
	if err := ValidateSettings(s); err != nil {
		return Settings{}, err
	}
	if s.DeletionAlert.Admins == nil {
		s.DeletionAlert.Admins = []string{}
	}
	if s.DefaultWelcome.Empty() {
		s.DefaultWelcome = nil
	}
	s.UpdatedAt = now.UTC()
	data, err := json.Marshal(s)
	if err != nil {
		return Settings{}, err
	}
	cond := store.IfAbsent
	if prev != 0 {
		cond = store.IfVersion(prev)
	}
	it, err := st.Put(ctx, store.Item{PK: pkSettings, SK: skSettings, Data: data}, cond)
	if errors.Is(err, store.ErrConditionFailed) {
		return Settings{}, &ConflictError{Code: "conflict", Msg: "the settings changed meanwhile; read them again"}
	}
	if err != nil {
		return Settings{}, fmt.Errorf("store settings: %w", err)
	}
	s.Version = it.Version
	return s, nil
}
