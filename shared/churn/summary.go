package churn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
)

// Day summaries: what each customer added to a day, so that a run re-folds
// only the customers whose facts changed since the day was last computed.
//
// A day's numbers are the sum of its customers' ops (tally.go), and a
// customer's ops depend on nothing but the customer's own facts. So a run
// keeps each day's ops, and every write of facts is preceded by an entry
// naming the customers it is about to change, numbered by a counter. A later
// run of the day reads the entries numbered after the summary's, re-folds
// those of the day's customers, and sums. The nightly run re-runs a month of
// days; without summaries it read every customer of every one of them.
//
//	rel#meta       sk gen                the number of the last entry (a counter)
//	rel#gen        sk %016d              an entry: the customers whose facts a run was about
//	                                     to write (expires after genTTL)
//	rel#sum#<day>  sk h                  the summary's header (JSON: sumHeader)
//	               sk c%05d              its customers and their ops, summaryChunk at a time

const (
	pkGen        = "rel#gen"
	genCounterSK = "gen"
	sumHeaderSK  = "h"
	// summaryFormat changes whenever what ops mean or how they are encoded
	// changes, so that a new version folds every day afresh. 2: facts of
	// one pair within one second are ordered by what each can do
	// (orderTies), which changes the ops of a customer who added and
	// deleted a member within the second.
	summaryFormat = 2
	// summaryChunk customers go in one item (~100 KB with WeCom's ids).
	summaryChunk = 2000
	// summaryMaxCustomers: a day with more customers keeps no summary (its
	// ops would not fit a small function's memory) and is folded in full.
	summaryMaxCustomers = 200_000
	// genTTL is how long entries are kept; a summary older than
	// summaryMaxAge is not used, so the entries since it are always there.
	genTTL        = 120 * 24 * time.Hour
	summaryMaxAge = 90 * 24 * time.Hour
)

func sumPK(d calendar.Day) string { return "rel#sum#" + d.String() }
func genSK(g int64) string        { return fmt.Sprintf("%016d", g) }
func chunkSK(i int) string        { return fmt.Sprintf("c%05d", i) }

// sumHeader is a summary's header.
type sumHeader struct {
	Format int `json:"format"`
	// Gen: every entry up to it was written (its facts too) before the
	// summary's ops were folded.
	Gen int64 `json:"gen"`
	// At is when it was written (unix seconds); Baseline the baseline day
	// then, since baseline facts are written without entries.
	At       int64  `json:"at"`
	Baseline string `json:"baseline,omitempty"`
	Events   int64  `json:"events"`
	// Groups are the day's group tallies: joins, quits by themselves,
	// quits removed, dismissed (1 or 0).
	Groups map[string][4]int64 `json:"groups,omitempty"`
	// Chunks are the hashes of the chunks in order: a run cut between its
	// chunks and its header leaves a summary that is not used.
	Chunks []string `json:"chunks"`
	// Results is the hash of the day's stored results, which a run that
	// finds the same skips writing.
	Results string `json:"results"`
}

// summary is a day's customers and their ops.
type summary struct {
	hdr       sumHeader
	customers []string
	ops       [][]op
	// stored is every item of the partition as read (sk → data).
	stored map[string][]byte
}

// runCtx is what every day of one run shares.
type runCtx struct {
	touched  *touchedLog
	baseline string
	now      time.Time
}

func (r *Rollup) newRunCtx(ctx context.Context) (*runCtx, error) {
	rc := &runCtx{now: r.Now()}
	b, ok, err := readBaseline(ctx, r.Store)
	if err != nil {
		return nil, err
	}
	if ok {
		rc.baseline = b.Day
	}
	var n int64 // the counter, 0 before the first entry
	it, err := r.Store.Get(ctx, pkMeta, genCounterSK)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read the facts' entry counter: %w", err)
	default:
		n = it.N
	}
	rc.touched = &touchedLog{now: n, above: n, byGen: map[int64][]string{}}
	return rc, nil
}

// noteTouched writes an entry naming the customers whose facts are about
// to be written. It comes first: a run cut after it leaves at worst an
// entry whose customers are re-folded for nothing.
func (r *Rollup) noteTouched(ctx context.Context, customers []string) error {
	g, err := r.Store.Incr(ctx, pkMeta, genCounterSK, 1, time.Time{})
	if err != nil {
		return fmt.Errorf("number the facts' entry: %w", err)
	}
	var b []byte
	for _, c := range customers {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	it := store.Item{PK: pkGen, SK: genSK(g), Data: b, ExpiresAt: r.Now().Add(genTTL)}
	if _, err := r.Store.Put(ctx, it, store.Always); err != nil {
		return fmt.Errorf("store the facts' entry: %w", err)
	}
	return nil
}

// touchedLog reads entries once per run.
type touchedLog struct {
	now int64 // the counter when the run started computing
	// above: every entry in (above, now] is in byGen.
	above int64
	byGen map[int64][]string
}

// since returns the customers of the entries after g.
func (tl *touchedLog) since(ctx context.Context, s store.Store, g int64) (map[string]struct{}, error) {
	if g < tl.above {
		q := store.Query{PK: pkGen, From: genSK(g + 1), To: genSK(tl.above), Limit: store.MaxLimit}
		for page, err := range store.Pages(ctx, s, q) {
			if err != nil {
				return nil, fmt.Errorf("read the facts' entries: %w", err)
			}
			for _, it := range page.Items {
				n, err := strconv.ParseInt(it.SK, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("facts' entry %q: %w", it.SK, err)
				}
				cs, err := decodeCustomers(it.Data)
				if err != nil {
					return nil, fmt.Errorf("facts' entry %s: %w", it.SK, err)
				}
				tl.byGen[n] = cs
			}
		}
		tl.above = g
	}
	out := map[string]struct{}{}
	for n, cs := range tl.byGen {
		if n > g {
			for _, c := range cs {
				out[c] = struct{}{}
			}
		}
	}
	return out, nil
}

func decodeCustomers(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return nil, errSummary
		}
		out = append(out, string(b[n:n+int(l)]))
		b = b[n+int(l):]
	}
	return out, nil
}

var errSummary = errors.New("malformed summary")

// loadSummary reads day d's summary. usable is false when there is none or
// it cannot be trusted (another format or baseline, too old, written by a
// run cut short, newer than the counter); the summary is still returned
// with what is stored, so a new one can replace it.
func loadSummary(ctx context.Context, s store.Store, d calendar.Day, rc *runCtx) (sum *summary, usable bool, err error) {
	sum = &summary{stored: map[string][]byte{}}
	items, err := store.QueryAll(ctx, s, store.Query{PK: sumPK(d), Limit: store.MaxLimit})
	if err != nil {
		return nil, false, fmt.Errorf("read the summary of %s: %w", d, err)
	}
	for _, it := range items {
		sum.stored[it.SK] = it.Data
	}
	hdr, ok := sum.stored[sumHeaderSK]
	if !ok {
		return sum, false, nil
	}
	if err := json.Unmarshal(hdr, &sum.hdr); err != nil {
		return sum, false, nil
	}
	h := sum.hdr
	if h.Format != summaryFormat || h.Baseline != rc.baseline || h.Gen > rc.touched.now ||
		rc.now.Sub(time.Unix(h.At, 0)) > summaryMaxAge {
		return sum, false, nil
	}
	for i, want := range h.Chunks {
		data, ok := sum.stored[chunkSK(i)]
		if !ok || chunkHash(data) != want {
			return sum, false, nil
		}
		if sum.customers, sum.ops, err = decodeChunk(data, sum.customers, sum.ops); err != nil {
			return sum, false, nil
		}
	}
	return sum, true, nil
}

// headerRefresh: a summary whose content did not change keeps its header
// (no write) unless it is older than this; an older Gen only makes the next
// run fold a few more customers again.
const headerRefresh = 12 * time.Hour

// save writes next over what was stored (usable: sum was loaded as
// usable): changed chunks, then the header.
func (sum *summary) save(ctx context.Context, s store.Store, d calendar.Day, next *summary, usable bool) error {
	var writes []store.Write
	put := func(sk string, data []byte) {
		if cur, ok := sum.stored[sk]; !ok || !bytes.Equal(cur, data) {
			writes = append(writes, store.Write{Item: store.Item{PK: sumPK(d), SK: sk, Data: data}})
		}
	}
	next.hdr.Chunks = next.hdr.Chunks[:0]
	for i := 0; i*summaryChunk < len(next.customers); i++ {
		lo, hi := i*summaryChunk, min((i+1)*summaryChunk, len(next.customers))
		data := encodeChunk(next.customers[lo:hi], next.ops[lo:hi])
		next.hdr.Chunks = append(next.hdr.Chunks, chunkHash(data))
		put(chunkSK(i), data)
	}
	keep := map[string]bool{sumHeaderSK: true}
	for i := range next.hdr.Chunks {
		keep[chunkSK(i)] = true
	}
	for sk := range sum.stored {
		if !keep[sk] {
			writes = append(writes, store.Write{Item: store.Item{PK: sumPK(d), SK: sk}, Delete: true})
		}
	}
	if err := store.WriteMany(ctx, s, writes); err != nil {
		return fmt.Errorf("store the summary of %s: %w", d, err)
	}
	if usable && time.Unix(next.hdr.At, 0).Sub(time.Unix(sum.hdr.At, 0)) < headerRefresh {
		same := next.hdr
		same.Gen, same.At = sum.hdr.Gen, sum.hdr.At
		if data, err := json.Marshal(same); err == nil && bytes.Equal(data, sum.stored[sumHeaderSK]) {
			return nil
		}
	}
	hdr, err := json.Marshal(next.hdr)
	if err != nil {
		return err
	}
	writes = writes[:0]
	put(sumHeaderSK, hdr)
	if err := store.WriteMany(ctx, s, writes); err != nil {
		return fmt.Errorf("store the summary of %s: %w", d, err)
	}
	return nil
}

// drop deletes a summary's header, so it is not used again.
func (sum *summary) drop(ctx context.Context, s store.Store, d calendar.Day) error {
	if _, ok := sum.stored[sumHeaderSK]; !ok {
		return nil
	}
	if err := s.Delete(ctx, sumPK(d), sumHeaderSK, store.Always); err != nil {
		return fmt.Errorf("drop the summary of %s: %w", d, err)
	}
	return nil
}

func chunkHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:8])
}

// chunkV1 starts a chunk: a table of the member and channel strings, then
// each customer (length-prefixed) with its ops (field byte, member and
// channel as indexes into the table), all counts and indexes uvarints.
const chunkV1 = 0x01

func encodeChunk(customers []string, ops [][]op) []byte {
	index := map[string]uint64{}
	var table []string
	ref := func(s string) uint64 {
		i, ok := index[s]
		if !ok {
			i = uint64(len(table))
			index[s] = i
			table = append(table, s)
		}
		return i
	}
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(customers)))
	for i, c := range customers {
		body = binary.AppendUvarint(body, uint64(len(c)))
		body = append(body, c...)
		body = binary.AppendUvarint(body, uint64(len(ops[i])))
		for _, o := range ops[i] {
			body = append(body, o.field)
			body = binary.AppendUvarint(body, ref(o.member))
			body = binary.AppendUvarint(body, ref(o.channel))
		}
	}
	out := []byte{chunkV1}
	out = binary.AppendUvarint(out, uint64(len(table)))
	for _, s := range table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, body...)
}

// decodeChunk appends a chunk's customers and ops to customers and ops.
func decodeChunk(b []byte, customers []string, ops [][]op) ([]string, [][]op, error) {
	if len(b) == 0 || b[0] != chunkV1 {
		return customers, ops, errSummary
	}
	b = b[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	str := func() (string, bool) {
		l, ok := uv()
		if !ok || l > uint64(len(b)) {
			return "", false
		}
		s := string(b[:l])
		b = b[l:]
		return s, true
	}
	n, ok := uv()
	if !ok || n > uint64(len(b)) {
		return customers, ops, errSummary
	}
	table := make([]string, n)
	for i := range table {
		if table[i], ok = str(); !ok {
			return customers, ops, errSummary
		}
	}
	if n, ok = uv(); !ok || n > uint64(len(b)) {
		return customers, ops, errSummary
	}
	for range n {
		c, ok := str()
		if !ok {
			return customers, ops, errSummary
		}
		k, ok := uv()
		if !ok || k > uint64(len(b)) {
			return customers, ops, errSummary
		}
		cops := make([]op, k)
		for j := range cops {
			if len(b) == 0 || b[0] >= numOps {
				return customers, ops, errSummary
			}
			cops[j].field = b[0]
			b = b[1:]
			m, ok1 := uv()
			ch, ok2 := uv()
			if !ok1 || !ok2 || m >= uint64(len(table)) || ch >= uint64(len(table)) {
				return customers, ops, errSummary
			}
			cops[j].member, cops[j].channel = table[m], table[ch]
		}
		customers, ops = append(customers, c), append(ops, cops)
	}
	if len(b) != 0 {
		return customers, ops, errSummary
	}
	return customers, ops, nil
}

// groupsOf and groupsFrom move a day's group tallies in and out of a header.
func groupsOf(m map[string]*groupTally) map[string][4]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][4]int64, len(m))
	for chat, t := range m {
		var dismissed int64
		if t.dismissed {
			dismissed = 1
		}
		out[chat] = [4]int64{t.joins, t.quitsSelf, t.quitsRemoved, dismissed}
	}
	return out
}

func groupsFrom(m map[string][4]int64) map[string]*groupTally {
	out := make(map[string]*groupTally, len(m))
	for chat, v := range m {
		out[chat] = &groupTally{joins: v[0], quitsSelf: v[1], quitsRemoved: v[2], dismissed: v[3] == 1}
	}
	return out
}

// resultsHash names a day's results as stored (Events is not stored).
func resultsHash(res DayResult) string {
	res.Events = 0
	data, _ := json.Marshal(res) // cannot fail: plain structs
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:16])
}
