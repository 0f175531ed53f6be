package contactsync

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	return batchesOf(members, after, wecom.MaxBatchUsers)
}

// batchSize splits members into at least n batches of at most 100, so
// that n cursor chains can run side by side.
func batchSize(members, n int) int {
	return max(1, min(wecom.MaxBatchUsers, (members+n-1)/max(n, 1)))
}

// batchesOf splits the members after the checkpoint into batches of size.
func batchesOf(members []string, after string, size int) [][]string {
	i, _ := slices.BinarySearch(members, after)
	if i < len(members) && members[i] == after {
		i++
	}
	if after == "" {
		i = 0
	}
	var out [][]string
	for rest := members[i:]; len(rest) > 0; {
		n := min(len(rest), size)
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
		var rels []baseRel
		if err := y.WeCom.BatchEachByUser(ctx, batch, func(page []wecom.FollowedPair) error {
			for _, c := range page {
				if c.UserID == "" || c.ExternalUserID == "" {
					continue
				}
				rels = append(rels, baseRel{Member: c.UserID, Customer: c.ExternalUserID, Channel: c.State, Since: c.CreateTime})
			}
			return nil
		}); err != nil {
			return fmt.Errorf("sync: baseline: read customers of %s..%s: %w", batch[0], batch[len(batch)-1], err)
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
	ctx, cancel := context.WithCancel(ctx)
	// Siyu's side is read while WeCom's first pages come in; each batch
	// waits for it before comparing.
	var side liveSide
	side.done = make(chan struct{})
	defer func() {
		cancel()
		<-side.done
	}()
	go func() {
		defer close(side.done)
		side.of, side.err = y.liveByMember(ctx, members, now)
	}()

	// The batches' cursor chains run side by side (WeCom answers each page
	// in ~100 ms; one chain at 10^5 customers is ~1,000 pages), at most
	// Concurrency at once. The checkpoint moves in order, past the batches
	// that are done: a batch redone after a crash finds its differences
	// already written and writes nothing.
	bs := batchesOf(members, st.After, batchSize(len(members), y.concurrency()))
	results := make([]batchResult, len(bs))
	done := make([]chan struct{}, len(bs))
	sem := make(chan struct{}, y.concurrency())
	for i, batch := range bs {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i].err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i] = y.reconcileBatch(ctx, batch, &side, now)
			if results[i].err != nil {
				cancel()
			}
		}()
	}
	for i, batch := range bs {
		<-done[i]
		res := results[i]
		if res.err != nil {
			for _, d := range done[i+1:] {
				<-d
			}
			// The refusal that stopped the chains, not a chain it cancelled.
			for _, r := range results[i:] {
				if r.err != nil && !errors.Is(r.err, context.Canceled) {
					return r.err
				}
			}
			return res.err
		}
		st.Added += res.added
		st.Deleted += res.deleted
		st.OneWay += res.oneWay
		st.Relationships += res.relationships
		st.After = batch[len(batch)-1]
		if err := y.save(ctx, st); err != nil {
			cancel()
			for _, d := range done[i+1:] {
				<-d
			}
			return err
		}
	}
	return nil
}

// liveSide is Siyu's live relationships by member, read once a night
// beside WeCom's pages: of and err are set when done is closed.
type liveSide struct {
	done chan struct{}
	of   map[string][]churn.Relationship
	err  error
}

// liveByMember reads Siyu's live relationships at now by member, and warns
// of those of members WeCom no longer lists (they are not reconciled).
func (y *Syncer) liveByMember(ctx context.Context, members []string, now time.Time) (map[string][]churn.Relationship, error) {
	live, err := churn.Live(ctx, y.Store, y.Loc, now)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
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
	return liveOf, nil
}

// batchResult is what reconciling one batch of members found and wrote.
type batchResult struct {
	added, deleted, oneWay, relationships int64
	err                                   error
}

// reconcileBatch diffs one batch of members' relationships in WeCom
// against Siyu's live side and writes the differences as events dated now.
func (y *Syncer) reconcileBatch(ctx context.Context, batch []string, side *liveSide, now time.Time) batchResult {
	var res batchResult
	// Only what the comparison needs is kept of each page.
	inWeCom := map[churn.Pair]listed{}
	if err := y.WeCom.BatchEachByUser(ctx, batch, func(page []wecom.FollowedPair) error {
		for _, c := range page {
			p := churn.Pair{Member: c.UserID, Customer: c.ExternalUserID}
			if p.Member != "" && p.Customer != "" {
				inWeCom[p] = listed{CreateTime: c.CreateTime, State: c.State}
			}
		}
		return nil
	}); err != nil {
		res.err = fmt.Errorf("sync: read customers of %s..%s: %w", batch[0], batch[len(batch)-1], err)
		return res
	}
	<-side.done
	if side.err != nil {
		res.err = side.err
		return res
	}
	liveOf := side.of
	// Pairs touched recently may have a callback in flight: leave them.
	recent, err := y.recentPairs(ctx, now.Add(-y.Settle))
	if err != nil {
		res.err = err
		return res
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
	// One-way relationships confirmed on earlier nights are known by their
	// add time; only the others are looked up in the customers' facts.
	known, err := y.oneWays(ctx, batch)
	if err != nil {
		res.err = err
		return res
	}
	var unknown []churn.Pair
	for _, p := range missing {
		if t, ok := known[p]; !ok || t != inWeCom[p].CreateTime {
			unknown = append(unknown, p)
		}
	}
	ended, err := churn.CustomerEnded(ctx, y.Store, y.Loc, now, unknown)
	if err != nil {
		res.err = fmt.Errorf("sync: %w", err)
		return res
	}
	var remember []store.Write
	for _, p := range missing {
		info := inWeCom[p]
		if t, ok := known[p]; ok && t == info.CreateTime {
			res.oneWay++ // the customer deleted the member; WeCom keeps listing it
			continue
		}
		if at, ok := ended[p]; ok && info.CreateTime <= at.Unix() {
			res.oneWay++
			remember = append(remember, oneWayWrite(p, info.CreateTime))
			continue
		}
		ev := y.reconciled(wecom.ChangeAddExternalContact, p, now)
		ev.State = info.State
		if res.err = y.append(ctx, ev); res.err != nil {
			return res
		}
		res.added++
	}
	for _, p := range gone {
		if res.err = y.append(ctx, y.reconciled(wecom.ChangeDelExternalContact, p, now)); res.err != nil {
			return res
		}
		res.deleted++
	}
	// Forget the one-way relationships WeCom no longer lists (the member
	// deleted them too) or that are two-way again.
	for p := range known {
		if _, listed := inWeCom[p]; (!listed || inSiyu[p]) && !recent[p] {
			remember = append(remember, store.Write{Item: store.Item{PK: oneWayPK(p.Member), SK: p.Customer}, Delete: true})
		}
	}
	if err := store.WriteMany(ctx, y.Store, remember); err != nil {
		res.err = fmt.Errorf("sync: remember one-way relationships: %w", err)
		return res
	}
	res.relationships = int64(len(inWeCom))
	return res
}

// listed is what the comparison keeps of a relationship WeCom lists.
type listed struct {
	CreateTime int64
	State      string
}

// oneWayPK is the partition of a member's known one-way relationships.
func oneWayPK(member string) string { return "sync#oneway#" + member }

// oneWay is a known one-way relationship: WeCom's add time of the pair,
// which a new add by the customer would change.
type oneWay struct {
	CreateTime int64 `json:"t"`
}

func oneWayWrite(p churn.Pair, createTime int64) store.Write {
	data, _ := json.Marshal(oneWay{CreateTime: createTime}) // cannot fail
	return store.Write{Item: store.Item{PK: oneWayPK(p.Member), SK: p.Customer, Data: data}}
}

// decodeOneWay reads a stored oneWay. What oneWayWrite stores, {"t":N},
// is read without encoding/json (a year's one-way relationships are read
// every night); anything else goes through it.
func decodeOneWay(data []byte) (int64, error) {
	if s, ok := bytes.CutPrefix(data, []byte(`{"t":`)); ok {
		if s, ok = bytes.CutSuffix(s, []byte("}")); ok && plainDigits(s) {
			if t, err := strconv.ParseInt(string(s), 10, 64); err == nil {
				return t, nil
			}
		}
	}
	var w oneWay
	err := json.Unmarshal(data, &w)
	return w.CreateTime, err
}

// plainDigits: a non-negative integer as JSON writes it.
func plainDigits(s []byte) bool {
	if len(s) == 0 || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// oneWays reads the known one-way relationships of members, with the add
// time each was confirmed with.
func (y *Syncer) oneWays(ctx context.Context, members []string) (map[churn.Pair]int64, error) {
	pks := make([]string, len(members))
	for i, m := range members {
		pks[i] = oneWayPK(m)
	}
	parts, err := store.QueryMany(ctx, y.Store, pks)
	if err != nil {
		return nil, fmt.Errorf("sync: read known one-way relationships: %w", err)
	}
	out := map[churn.Pair]int64{}
	for _, m := range members {
		for _, it := range parts[oneWayPK(m)] {
			t, err := decodeOneWay(it.Data)
			if err != nil {
				return nil, fmt.Errorf("sync: decode one-way relationship %s/%s: %w", it.PK, it.SK, err)
			}
			out[churn.Pair{Member: m, Customer: it.SK}] = t
		}
	}
	return out, nil
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
