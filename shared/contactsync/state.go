package contactsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/store"
)

const (
	pkState = "sync#state"
	skRun   = "run"
)

// runState is the checkpoint of a run, rewritten after every batch.
type runState struct {
	// Day is the business day the run started on.
	Day string `json:"day"`
	// At is when the run started (the baseline's instant).
	At       int64  `json:"at"`
	Baseline bool   `json:"baseline"`
	Phase    string `json:"phase"`
	// After is the last member (or member batch) whose work in Phase is
	// stored; members sort, so the next attempt starts after it.
	After string `json:"after,omitempty"`

	Relationships int64 `json:"relationships"`
	Added         int64 `json:"reconciled_added"`
	Deleted       int64 `json:"reconciled_deleted"`
	OneWay        int64 `json:"one_way_kept"`
	BehaviorRows  int64 `json:"behavior_rows"`

	version int64
}

// startState resumes an unfinished run — a baseline import whenever it was
// started, a nightly run when it started the same day — or starts a new one.
func (y *Syncer) startState(ctx context.Context, now time.Time) (*runState, bool, error) {
	today := calendar.Of(now, y.Loc)
	it, err := y.Store.Get(ctx, pkState, skRun)
	var version int64
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, false, fmt.Errorf("sync: read checkpoint: %w", err)
	default:
		var st runState
		if err := json.Unmarshal(it.Data, &st); err != nil {
			return nil, false, fmt.Errorf("sync: decode checkpoint: %w", err)
		}
		st.version = it.Version
		version = it.Version
		if st.Phase != phaseDone && (st.Baseline || st.Day == today.String()) {
			return &st, true, nil
		}
	}
	_, hasBaseline, err := churn.BaselineDay(ctx, y.Store)
	if err != nil {
		return nil, false, fmt.Errorf("sync: %w", err)
	}
	st := &runState{Day: today.String(), At: now.Unix(), Baseline: !hasBaseline, Phase: phaseRelationships, version: version}
	if st.Baseline {
		if err := y.clearBaselineChunks(ctx); err != nil {
			return nil, false, err
		}
	}
	if err := y.save(ctx, st); err != nil {
		return nil, false, err
	}
	return st, false, nil
}

// save writes the checkpoint. The version check makes two overlapping runs
// fail loudly instead of interleaving their progress.
func (y *Syncer) save(ctx context.Context, st *runState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sync: encode checkpoint: %w", err)
	}
	cond := store.IfAbsent
	if st.version != 0 {
		cond = store.IfVersion(st.version)
	}
	it, err := y.Store.Put(ctx, store.Item{PK: pkState, SK: skRun, Data: data}, cond)
	if errors.Is(err, store.ErrConditionFailed) {
		return errors.New("sync: another sync run moved the checkpoint; this one stops")
	}
	if err != nil {
		return fmt.Errorf("sync: store checkpoint: %w", err)
	}
	st.version = it.Version
	return nil
}

// advance moves to the next phase.
func (y *Syncer) advance(ctx context.Context, st *runState, phase string) error {
	st.Phase, st.After = phase, ""
	return y.save(ctx, st)
}
