// Package store is the key-value port every Siyu function uses: one table,
// string keys pk/sk, an opaque payload, a counter, a version for conditional
// writes and an optional expiry enforced in code.
//
// Adapters (sqlstore, dynamostore) register themselves with Register and are
// chosen at start by SIYU_STORE ("sqlite:PATH", "dynamodb:TABLE",
// "mysql:DSN"), so a binary links only the adapters it imports.
package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned by Get when no live item exists.
var ErrNotFound = errors.New("store: item not found")

// ErrConditionFailed is returned when a conditional write's condition does
// not hold (the item exists for IfAbsent, or its version differs).
var ErrConditionFailed = errors.New("store: condition failed")

// Item is one row of the table.
type Item struct {
	PK string
	SK string
	// Data is the payload, usually JSON. Adapters store it as bytes.
	Data []byte
	// N is a counter changed atomically by Incr.
	N int64
	// Version is managed by the store: 1 on first write, +1 on every Put or
	// Incr. Callers pass it back in IfVersion for optimistic concurrency.
	Version int64
	// ExpiresAt, when not zero, makes the item absent from that instant on.
	ExpiresAt time.Time
}

// Live reports whether the item has not expired at now.
func (it Item) Live(now time.Time) bool {
	return it.ExpiresAt.IsZero() || now.Before(it.ExpiresAt)
}

// Cond is the condition of a write.
type Cond struct {
	kind    condKind
	version int64
}

type condKind uint8

const (
	condAlways condKind = iota
	condAbsent
	condVersion
)

// Always writes unconditionally.
var Always = Cond{kind: condAlways}

// IfAbsent writes only when no live item exists at the key. An expired item
// counts as absent.
var IfAbsent = Cond{kind: condAbsent}

// IfVersion writes only when the live item's version is v.
func IfVersion(v int64) Cond { return Cond{kind: condVersion, version: v} }

// IsAbsent, IsVersion and Version let adapters read a condition.
func (c Cond) IsAbsent() bool { return c.kind == condAbsent }

// IsVersion reports whether the condition is IfVersion.
func (c Cond) IsVersion() bool { return c.kind == condVersion }

// Version is the version IfVersion expects.
func (c Cond) Version() int64 { return c.version }

func (c Cond) String() string {
	switch c.kind {
	case condAbsent:
		return "if-absent"
	case condVersion:
		return fmt.Sprintf("if-version=%d", c.version)
	}
	return "always"
}

// Query selects items of one partition. At most one of Prefix or the
// From/To range is used. From and To are inclusive; empty means unbounded.
type Query struct {
	PK     string
	Prefix string
	From   string
	To     string
	Desc   bool
	// Limit is the page size; 0 means DefaultLimit. Expired items are dropped
	// after the page is read, so a page may hold fewer items than Limit while
	// Next is still set.
	Limit int
	// Cursor is Page.Next of the previous page.
	Cursor string
}

// DefaultLimit is the page size of a Query without Limit.
const DefaultLimit = 100

// MaxLimit caps a Query's page size.
const MaxLimit = 1000

// Page is one page of a Query. Next is empty on the last page.
type Page struct {
	Items []Item
	Next  string
}

// Store is the port. Every adapter passes storetest.Run.
type Store interface {
	// Get returns the live item at pk/sk or ErrNotFound.
	Get(ctx context.Context, pk, sk string) (Item, error)
	// Put writes it under cond and returns the stored item with its new
	// Version. It replaces Data, N and ExpiresAt.
	Put(ctx context.Context, it Item, cond Cond) (Item, error)
	// Incr adds delta to the counter N, creating the item when absent (an
	// expired item restarts from 0), and returns the new value. A non-zero
	// expiresAt replaces the item's expiry.
	Incr(ctx context.Context, pk, sk string, delta int64, expiresAt time.Time) (int64, error)
	// Delete removes the item under cond. Deleting an absent item with
	// Always is not an error.
	Delete(ctx context.Context, pk, sk string, cond Cond) error
	// Query reads one page of a partition in sk order.
	Query(ctx context.Context, q Query) (Page, error)
	// Close releases the adapter's resources.
	Close() error
}

// Validate checks a query's shape; adapters call it first.
func (q Query) Validate() error {
	if q.PK == "" {
		return errors.New("store: query needs a pk")
	}
	if q.Prefix != "" && (q.From != "" || q.To != "") {
		return errors.New("store: query takes a prefix or a range, not both")
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return fmt.Errorf("store: query range %q > %q", q.From, q.To)
	}
	if q.Limit < 0 {
		return errors.New("store: negative limit")
	}
	return nil
}

// PageSize is the effective page size of q.
func (q Query) PageSize() int {
	switch {
	case q.Limit == 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// CheckKey validates a key pair; adapters call it on every write.
func CheckKey(pk, sk string) error {
	if pk == "" || sk == "" {
		return errors.New("store: pk and sk must not be empty")
	}
	if len(pk) > 1024 || len(sk) > 1024 {
		return errors.New("store: key longer than 1024 bytes")
	}
	return nil
}

// Options are what every adapter takes besides its own argument.
type Options struct {
	// Now is the clock expiry is judged by; time.Now when nil. A test passes
	// the one clock that drives its domain and simulator, so an item written
	// to live an hour of the test's time is not judged by the wall clock.
	Now func() time.Time
}

// Option sets one of Options.
type Option func(*Options)

// WithClock makes the store judge expiry by now instead of the wall clock.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// NewOptions applies opts over the defaults; adapters call it.
func NewOptions(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Opener opens a store from the part of SIYU_STORE after the colon.
type Opener func(ctx context.Context, arg string, opts ...Option) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes an adapter available to Open under scheme. Adapters call it
// from init, so importing an adapter package is what links it in.
func Register(scheme string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	openers[scheme] = open
}

// Open opens the store named by spec ("scheme:arg").
func Open(ctx context.Context, spec string, opts ...Option) (Store, error) {
	scheme, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		return nil, fmt.Errorf("store: SIYU_STORE %q must look like scheme:argument (sqlite:PATH, dynamodb:TABLE, mysql:DSN)", redact(spec))
	}
	openersMu.RLock()
	open := openers[scheme]
	openersMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("store: scheme %q is not linked into this binary (have %s)", scheme, strings.Join(Schemes(), ", "))
	}
	return open(ctx, arg, opts...)
}

// Schemes lists the registered adapter schemes.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	out := make([]string, 0, len(openers))
	for k := range openers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// redact hides a DSN's password in error messages.
func redact(spec string) string {
	if i := strings.Index(spec, "@"); i >= 0 {
		if j := strings.LastIndex(spec[:i], ":"); j >= 0 && strings.Contains(spec[:j], ":") {
			return spec[:j+1] + "***" + spec[i:]
		}
	}
	return spec
}
