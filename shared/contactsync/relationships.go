package contactsync

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

const (
	pkBaseline = "sync#baseline"
	// chunkSize bounds one stored chunk of baseline relationships (~100
	// bytes each, far below any adapter's item size limit).
	chunkSize = 500
)

// batches splits the members after the checkpoint into calls of ≤100.
func batches(members []string, after string) [][]string {
	i, _ := slices.BinarySearch(members, after)
	if i < len(members) && members[i] == after {
		i++
	}
	if after == "" {
		i = 0
	}
	var out [][]string
	for rest := members[i:]; len(rest) > 0; {
		n := min(len(rest), wecom.MaxBatchUsers)
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

// baseRel is a stored baseline relationship.
type baseRel struct {
	Member   string `json:"m"`
	Customer string `json:"c"`
	Channel  string `json:"ch,omitempty"`
	Since    int64  `json:"since"`
}

// importBaseline fetches every member's relationships, a batch at a time,
// storing each batch before moving the checkpoint past it; once all are
// stored it sets the baseline from them.
func (y *Syncer) importBaseline(ctx context.Context, st *runState, members []string) error {
	for _, batch := range batches(members, st.After) {
		contacts, err := y.WeCom.BatchGetAllByUser(ctx, batch)
		if err != nil {
			return fmt.Errorf("sync: baseline: read customers of %s..%s: %w", batch[0], batch[len(batch)-1], err)
		}
		rels := make([]baseRel, 0, len(contacts))
		for _, c := range contacts {
			if c.FollowInfo.UserID == "" || c.ExternalContact.ExternalUserID == "" {
				continue
			}
			rels = append(rels, baseRel{Member: c.FollowInfo.UserID, Customer: c.ExternalContact.ExternalUserID,
				Channel: c.FollowInfo.State, Since: c.FollowInfo.CreateTime})
		}
		for i := 0; i*chunkSize < len(rels); i++ {
			data, err := json.Marshal(rels[i*chunkSize : min((i+1)*chunkSize, len(rels))])
			if err != nil {
				return fmt.Errorf("sync: baseline: encode: %w", err)
			}
			sk := fmt.Sprintf("%s#%04d", batch[0], i)
			if _, err := y.Store.Put(ctx, store.Item{PK: pkBaseline, SK: sk, Data: data}, store.Always); err != nil {
				return fmt.Errorf("sync: baseline: store fetched relationships: %w", err)
			}
		}
		st.After = batch[len(batch)-1]
		st.Relationships += int64(len(rels))
		if err := y.save(ctx, st); err != nil {
			return err
		}
	}

	seen := map[churn.Pair]bool{}
	var all []churn.Relationship
	for page, err := range store.Pages(ctx, y.Store, store.Query{PK: pkBaseline, Limit: store.MaxLimit}) {
		if err != nil {
			return fmt.Errorf("sync: baseline: read fetched relationships: %w", err)
		}
		for _, it := range page.Items {
			var rels []baseRel
			if err := json.Unmarshal(it.Data, &rels); err != nil {
				return fmt.Errorf("sync: baseline: decode %s: %w", it.SK, err)
			}
			for _, r := range rels {
				p := churn.Pair{Member: r.Member, Customer: r.Customer}
				if seen[p] {
					continue
				}
				seen[p] = true
				all = append(all, churn.Relationship{Member: r.Member, Customer: r.Customer, Channel: r.Channel, Since: time.Unix(r.Since, 0)})
			}
		}
	}
	at := time.Unix(st.At, 0)
	if err := churn.SetBaseline(ctx, y.Store, y.Loc, at, all); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	st.Relationships = int64(len(all))
	y.Logger.LogAttrs(ctx, slog.LevelInfo, "sync baseline set", slog.String("day", calendar.Of(at, y.Loc).String()),
		slog.Int("relationships", len(all)))
	return y.clearBaselineChunks(ctx)
}

func (y *Syncer) clearBaselineChunks(ctx context.Context) error {
	for {
		page, err := y.Store.Query(ctx, store.Query{PK: pkBaseline, Limit: store.MaxLimit})
		if err != nil {
			return fmt.Errorf("sync: read fetched relationships: %w", err)
		}
		for _, it := range page.Items {
			if err := y.Store.Delete(ctx, pkBaseline, it.SK, store.Always); err != nil {
				return fmt.Errorf("sync: drop fetched relationships: %w", err)
			}
		}
		if page.Next == "" {
			return nil
		}
	}
}

// reconcile diffs each batch of members against Siyu's live relationships
// at now and writes the differences as reconciled events dated now.
func (y *Syncer) reconcile(ctx context.Context, st *runState, members []string, now time.Time) error {
	live, err := churn.Live(ctx, y.Store, y.Loc, now)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	liveOf := map[string][]churn.Relationship{}
	for _, r := range live {
		liveOf[r.Member] = append(liveOf[r.Member], r)
	}
	listed := map[string]bool{}
	for _, m := range members {
		listed[m] = true
	}
	var unlisted int
	for m, rs := range liveOf {
		if !listed[m] {
			unlisted += len(rs)
		}
	}
	if unlisted > 0 {
		y.Logger.LogAttrs(ctx, slog.LevelWarn, "sync: live relationships of members WeCom no longer lists are not reconciled",
			slog.Int("relationships", unlisted))
	}

	for _, batch := range batches(members, st.After) {
		contacts, err := y.WeCom.BatchGetAllByUser(ctx, batch)
		if err != nil {
			return fmt.Errorf("sync: read customers of %s..%s: %w", batch[0], batch[len(batch)-1], err)
		}
		// Pairs touched recently may have a callback in flight: leave them.
		recent, err := y.recentPairs(ctx, now.Add(-y.Settle))
		if err != nil {
			return err
		}
		inWeCom := map[churn.Pair]wecom.FollowInfo{}
		for _, c := range contacts {
			p := churn.Pair{Member: c.FollowInfo.UserID, Customer: c.ExternalContact.ExternalUserID}
			if p.Member != "" && p.Customer != "" {
				inWeCom[p] = c.FollowInfo
			}
		}
		inSiyu := map[churn.Pair]bool{}
		for _, m := range batch {
			for _, r := range liveOf[m] {
				inSiyu[churn.Pair{Member: r.Member, Customer: r.Customer}] = true
			}
		}
		var missing, gone []churn.Pair
		for p := range inWeCom {
			if !inSiyu[p] && !recent[p] {
				missing = append(missing, p)
			}
		}
		for p := range inSiyu {
			if _, ok := inWeCom[p]; !ok && !recent[p] {
				gone = append(gone, p)
			}
		}
		sortPairs(missing)
		sortPairs(gone)
		ended, err := churn.CustomerEnded(ctx, y.Store, y.Loc, now, missing)
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		for _, p := range missing {
			info := inWeCom[p]
			if at, ok := ended[p]; ok && info.CreateTime <= at.Unix() {
				st.OneWay++ // the customer deleted the member; WeCom keeps listing it
				continue
			}
			ev := y.reconciled(wecom.ChangeAddExternalContact, p, now)
			ev.State = info.State
			if err := y.append(ctx, ev); err != nil {
				return err
			}
			st.Added++
		}
		for _, p := range gone {
			if err := y.append(ctx, y.reconciled(wecom.ChangeDelExternalContact, p, now)); err != nil {
				return err
			}
			st.Deleted++
		}
		st.Relationships += int64(len(inWeCom))
		st.After = batch[len(batch)-1]
		if err := y.save(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

func sortPairs(ps []churn.Pair) {
	slices.SortFunc(ps, func(a, b churn.Pair) int {
		return cmp.Or(cmp.Compare(a.Customer, b.Customer), cmp.Compare(a.Member, b.Member))
	})
}

// reconciled builds the event a difference is written as, dated at the
// moment it was found.
func (y *Syncer) reconciled(change string, p churn.Pair, at time.Time) wecom.Event {
	return wecom.Event{ToUserName: y.CorpID, FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event",
		Event: wecom.EventExternalContact, ChangeType: change, UserID: p.Member, ExternalUserID: p.Customer, Known: true}
}

func (y *Syncer) append(ctx context.Context, ev wecom.Event) error {
	if _, _, err := y.Log.Append(ctx, ev, events.OriginReconciled); err != nil {
		return fmt.Errorf("sync: write reconciled %s %s/%s: %w", ev.ChangeType, ev.UserID, ev.ExternalUserID, err)
	}
	y.Logger.LogAttrs(ctx, slog.LevelInfo, "sync reconciled", slog.String("change", ev.ChangeType),
		slog.String("member", ev.UserID), slog.String("customer", ev.ExternalUserID))
	return nil
}

// recentPairs lists the relationships with an event stored since since
// (read from the tail of the event log's day partitions).
func (y *Syncer) recentPairs(ctx context.Context, since time.Time) (map[churn.Pair]bool, error) {
	out := map[churn.Pair]bool{}
	today := calendar.Of(y.Now(), y.Loc)
	for d := calendar.Of(since, y.Loc); !d.After(today); d = d.AddDays(1) {
		q := store.Query{PK: events.PK(d), From: fmt.Sprintf("%010d", since.Unix()), Limit: store.MaxLimit}
		for page, err := range store.Pages(ctx, y.Store, q) {
			if err != nil {
				return nil, fmt.Errorf("sync: read recent events: %w", err)
			}
			for _, it := range page.Items {
				var rec events.Record
				if err := json.Unmarshal(it.Data, &rec); err != nil {
					return nil, fmt.Errorf("sync: decode event %s/%s: %w", it.PK, it.SK, err)
				}
				// Siyu's own events (welcomes, tags) say nothing of WeCom's state.
				if rec.Origin != events.OriginSiyu && rec.Event.Event == wecom.EventExternalContact && rec.UserID != "" && rec.ExternalUserID != "" {
					out[churn.Pair{Member: rec.UserID, Customer: rec.ExternalUserID}] = true
				}
			}
		}
	}
	return out, nil
}
