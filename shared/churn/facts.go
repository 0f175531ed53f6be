package churn

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Kinds of relationship facts.
const (
	kindAdd      = "add"      // add_external_contact
	kindHalf     = "half"     // add_half_external_contact
	kindBaseline = "baseline" // found by the first sync of the follow lists
	kindDelCust  = "del_cust" // del_follow_user: the customer deleted the member
	kindDelMem   = "del_mem"  // del_external_contact: the member deleted the customer
	kindTransfer = "transfer" // del_external_contact with Source=DELETE_BY_TRANSFER
)

// fact is one relationship event of one customer, stored under cust#<customer>.
type fact struct {
	Member  string `json:"m"`
	Time    int64  `json:"t"`
	Kind    string `json:"k"`
	Channel string `json:"ch,omitempty"`
	// Origin is events.OriginCallback or OriginReconciled ("" for baseline).
	Origin string `json:"o,omitempty"`
	Key    string `json:"key"`
}

func (f fact) sk() string {
	return f.Member + "#" + strconv.FormatInt(f.Time, 10) + "#" + f.Key
}

// factOf maps a contact event to its fact; ok is false for events that do not
// start or end a relationship (edits, transfer failures, groups, tags, and
// Siyu's own actions, whatever they carry).
func factOf(rec events.Record) (customer string, f fact, ok bool) {
	e := rec.Event
	if rec.Origin == events.OriginSiyu || e.Event != wecom.EventExternalContact || e.UserID == "" || e.ExternalUserID == "" {
		return "", fact{}, false
	}
	switch e.ChangeType {
	case wecom.ChangeAddExternalContact:
		f.Kind = kindAdd
	case wecom.ChangeAddHalfExternalContact:
		f.Kind = kindHalf
	case wecom.ChangeDelFollowUser:
		f.Kind = kindDelCust
	case wecom.ChangeDelExternalContact:
		f.Kind = kindDelMem
		if e.Source == wecom.SourceDeleteByTransfer {
			f.Kind = kindTransfer
		}
	default:
		return "", fact{}, false
	}
	f.Member, f.Time, f.Channel, f.Origin, f.Key = e.UserID, e.CreateTime, e.State, rec.Origin, rec.Key
	if f.Key == "" {
		f.Key = events.Key(e, rec.Origin)
	}
	return e.ExternalUserID, f, true
}

func (f fact) item(customer string) (store.Item, error) {
	return store.Item{PK: custPK(customer), SK: f.sk(), Data: f.encode()}, nil
}

// factV2 starts a fact in the compact encoding: the time as a varint, then
// member, kind, channel, origin and key, each a uvarint length and bytes. A
// fact is written once per relationship event and read by every run of every
// day its customer is touched, so it is kept small and cheap to decode.
// Facts stored as JSON (first byte '{') by earlier versions are still read.
const factV2 = 0x02

func (f fact) encode() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+5+len(f.Member)+len(f.Kind)+len(f.Channel)+len(f.Origin)+len(f.Key))
	b = append(b, factV2)
	b = binary.AppendVarint(b, f.Time)
	for _, s := range [...]string{f.Member, f.Kind, f.Channel, f.Origin, f.Key} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errFact = errors.New("malformed fact")

func decodeFact(data []byte) (fact, error) {
	var f fact
	if len(data) > 0 && data[0] == '{' {
		err := json.Unmarshal(data, &f)
		return f, err
	}
	if len(data) == 0 || data[0] != factV2 {
		return f, errFact
	}
	b := data[1:]
	t, n := binary.Varint(b)
	if n <= 0 {
		return f, errFact
	}
	f.Time, b = t, b[n:]
	for _, dst := range [...]*string{&f.Member, &f.Kind, &f.Channel, &f.Origin, &f.Key} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return f, errFact
		}
		*dst, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	if len(b) != 0 {
		return f, errFact
	}
	return f, nil
}

// change is one wanted state of an item: Data to store, or absent when del.
type change struct {
	key  store.Key
	data []byte
	del  bool
}

// applyChanges brings items to the wanted states, writing only those that
// differ: a re-run finds the same bytes, and a read is much cheaper than a
// write (a transaction on SQL, a write unit on DynamoDB). Reads and writes
// go a batch at a time (store.GetMany, store.WriteMany).
func applyChanges(ctx context.Context, s store.Store, changes []change) error {
	writes, err := pendingWrites(ctx, s, changes)
	if err != nil {
		return err
	}
	return store.WriteMany(ctx, s, writes)
}

// pendingWrites are the writes that bring items to the wanted states: none
// for those already there (read in one batch).
func pendingWrites(ctx context.Context, s store.Store, changes []change) ([]store.Write, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	keys := make([]store.Key, len(changes))
	for i, c := range changes {
		keys[i] = c.key
	}
	cur, err := store.GetMany(ctx, s, keys)
	if err != nil {
		return nil, err
	}
	var writes []store.Write
	for _, c := range changes {
		it, exists := cur[c.key]
		switch {
		case c.del && !exists:
		case c.del:
			writes = append(writes, store.Write{Item: store.Item{PK: c.key.PK, SK: c.key.SK}, Delete: true})
			delete(cur, c.key)
		case exists && bytes.Equal(it.Data, c.data):
		default:
			writes = append(writes, store.Write{Item: store.Item{PK: c.key.PK, SK: c.key.SK, Data: c.data}})
			cur[c.key] = store.Item{Data: c.data}
		}
	}
	return writes, nil
}

// putFacts stores facts; the same event always produces the same item, so
// a re-run writes nothing.
func putFacts(ctx context.Context, s store.Store, items []store.Item) error {
	changes := make([]change, len(items))
	for i, it := range items {
		changes[i] = change{key: store.Key{PK: it.PK, SK: it.SK}, data: it.Data}
	}
	if err := applyChanges(ctx, s, changes); err != nil {
		return fmt.Errorf("store facts: %w", err)
	}
	return nil
}

// loadFacts reads every fact of each customer (one batch read), each
// customer's in time order (then member, then key, so the order is the same
// on every run).
func loadFacts(ctx context.Context, s store.Store, customers []string) (map[string][]fact, error) {
	pks := make([]string, len(customers))
	for i, c := range customers {
		pks[i] = custPK(c)
	}
	parts, err := store.QueryMany(ctx, s, pks)
	if err != nil {
		return nil, fmt.Errorf("read facts of %d customers: %w", len(customers), err)
	}
	out := make(map[string][]fact, len(customers))
	for _, c := range customers {
		items := parts[custPK(c)]
		facts := make([]fact, 0, len(items))
		for _, it := range items {
			f, err := decodeFact(it.Data)
			if err != nil {
				return nil, fmt.Errorf("decode fact %s/%s: %w", it.PK, it.SK, err)
			}
			facts = append(facts, f)
		}
		sortFacts(facts)
		out[c] = facts
	}
	return out, nil
}

func sortFacts(facts []fact) {
	sort.SliceStable(facts, func(i, j int) bool {
		a, b := facts[i], facts[j]
		if a.Time != b.Time {
			return a.Time < b.Time
		}
		if a.Member != b.Member {
			return a.Member < b.Member
		}
		return a.Key < b.Key
	})
	orderTies(facts)
}

// orderTies puts the facts of one pair within one second (WeCom's times
// are whole seconds) in the only order in which each does something: a
// customer who adds a member and deletes them within the second was added
// first, and one who deletes and adds again within the second deleted
// first. Starting from the pair's state before the second, adds and
// deletes alternate (each kind in key order); extra ones follow. Sorting
// by key alone would let a delete that hashes lower pass before its add,
// leaving a lost customer live.
func orderTies(facts []fact) {
	live := map[string]bool{}
	for i := 0; i < len(facts); {
		j := i + 1
		for j < len(facts) && facts[j].Time == facts[i].Time && facts[j].Member == facts[i].Member {
			j++
		}
		m := facts[i].Member
		if j-i > 1 {
			var adds, dels []fact
			for _, f := range facts[i:j] {
				if isAdd(f.Kind) {
					adds = append(adds, f)
				} else {
					dels = append(dels, f)
				}
			}
			k, addNext := i, !live[m]
			for len(adds) > 0 || len(dels) > 0 {
				if addNext && len(adds) > 0 || len(dels) == 0 {
					facts[k], adds = adds[0], adds[1:]
				} else {
					facts[k], dels = dels[0], dels[1:]
				}
				k++
				addNext = !addNext
			}
		}
		live[m] = isAdd(facts[j-1].Kind)
		i = j
	}
}

// isAdd reports whether a fact of kind starts a relationship (the others
// end one).
func isAdd(kind string) bool { return kind == kindAdd || kind == kindHalf || kind == kindBaseline }

// pair is a live relationship during a fold.
type pair struct {
	start   int64
	channel string
}

// fold replays one customer's facts in order. A relationship is live from
// the add that started it to the delete that ended it; adds of a live pair
// (half then full add, replays, reconciled copies) and deletes of a dead
// pair change nothing. The customer is live while any relationship is, and
// also after a transfer ended their last one, until the receiving member's
// add arrives (WeCom may deliver the two in either order or minutes apart).
type fold struct {
	live    map[string]pair
	seen    map[string]bool // members with any earlier fact
	pending bool            // transferred, waiting for the new member's add
}

func newFold() *fold { return &fold{live: map[string]pair{}, seen: map[string]bool{}} }

func (c *fold) customerLive() bool { return len(c.live) > 0 || c.pending }

// step is what one fact did.
type step struct {
	// counted: the fact started or ended a relationship (or deleted one Siyu
	// never knew, which WeCom counts too).
	counted bool
	// gained/dropped: the customer went from not live to live, or back.
	gained, dropped bool
	// channel of the relationship started or ended.
	channel string
}

func (c *fold) apply(f fact) step {
	var st step
	before := c.customerLive()
	known := c.seen[f.Member]
	c.seen[f.Member] = true
	switch f.Kind {
	case kindAdd, kindHalf, kindBaseline:
		if p, ok := c.live[f.Member]; ok {
			if p.channel == "" && f.Channel != "" {
				p.channel = f.Channel
				c.live[f.Member] = p
			}
			st.channel = p.channel
			break
		}
		c.live[f.Member] = pair{start: f.Time, channel: f.Channel}
		c.pending = false
		st.counted = f.Kind != kindBaseline
		st.channel = f.Channel
	case kindDelCust, kindDelMem, kindTransfer:
		p, ok := c.live[f.Member]
		if !ok {
			// A relationship from before Siyu (no baseline yet): WeCom counts the
			// delete, so do we, but no customer was known live.
			st.counted = !known && f.Kind != kindTransfer
			break
		}
		delete(c.live, f.Member)
		st.counted = true
		st.channel = p.channel
		if f.Kind == kindTransfer && len(c.live) == 0 {
			c.pending = true
		}
	}
	after := c.customerLive()
	st.gained = !before && after
	st.dropped = before && !after
	return st
}
