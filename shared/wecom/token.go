package wecom

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// Token cache layout in the KV table.
const (
	tokenPK = "wecom#token"
	// refreshMargin renews a token this long before WeCom expires it.
	refreshMargin = 300 * time.Second
	// leaseFor bounds how long one instance may hold the refresh lease.
	leaseFor = 10 * time.Second
	// leaseWaits × leasePoll is how long others wait for the holder.
	leaseWaits = 10
	leasePoll  = 300 * time.Millisecond
)

// cachedToken is the stored form of an access token.
type cachedToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// RefreshAt is when to renew: refreshMargin before expiry, or half
	// way through a life shorter than twice the margin (so a token handed
	// out near its end is not fetched again on every call).
	RefreshAt time.Time `json:"refresh_at,omitzero"`
}

// fresh reports whether t can be used without refreshing at now.
func (t cachedToken) fresh(now time.Time) bool {
	due := t.RefreshAt
	if due.IsZero() {
		due = t.ExpiresAt.Add(-refreshMargin)
	}
	return t.Token != "" && now.Before(due)
}

// usable reports whether WeCom still accepts t at now.
func (t cachedToken) usable(now time.Time) bool {
	return t.Token != "" && now.Before(t.ExpiresAt)
}

// lease is the refresh lock item's payload.
type lease struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
}

// tokenCache keeps one access token per (corp, secret) in memory and in the
// shared table, refreshed by one instance at a time.
type tokenCache struct {
	c     *Client
	st    store.Store
	sk    string
	id    string        // this instance, as lease holder
	lock  chan struct{} // in-process single flight; a channel so waiting honours ctx
	memMu sync.Mutex
	mem   cachedToken
}

func newTokenCache(c *Client, st store.Store) *tokenCache {
	sum := sha256.Sum256([]byte(c.secret))
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	return &tokenCache{
		c:    c,
		st:   st,
		sk:   c.corpID + ":" + hex.EncodeToString(sum[:])[:8],
		id:   hex.EncodeToString(id),
		lock: make(chan struct{}, 1),
	}
}

func (tc *tokenCache) memGet() cachedToken {
	tc.memMu.Lock()
	defer tc.memMu.Unlock()
	return tc.mem
}

func (tc *tokenCache) memSet(t cachedToken) {
	tc.memMu.Lock()
	defer tc.memMu.Unlock()
	tc.mem = t
}

// get returns a usable access token, refreshing it when due. It never
// returns a token in refused (WeCom refused it in this call): another
// goroutine or instance may have cached it again after it was dropped.
func (tc *tokenCache) get(ctx context.Context, refused ...string) (string, error) {
	now := tc.c.now()
	if t := tc.memGet(); t.fresh(now) && !slices.Contains(refused, t.Token) {
		return t.Token, nil
	}
	select {
	case tc.lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("access token: %w", ctx.Err())
	}
	defer func() { <-tc.lock }()
	// Another goroutine may have refreshed while we waited.
	if t := tc.memGet(); t.fresh(tc.c.now()) && !slices.Contains(refused, t.Token) {
		return t.Token, nil
	}
	t, err := tc.refresh(ctx, refused)
	if err != nil {
		return "", err
	}
	tc.memSet(t)
	return t.Token, nil
}

// refresh reads the shared cache and, when the token there is due, takes
// the lease and fetches a new one. Holding the in-process lock.
func (tc *tokenCache) refresh(ctx context.Context, refused []string) (cachedToken, error) {
	if tc.st == nil {
		return tc.fetch(ctx)
	}
	for wait := 0; ; wait++ {
		stored, err := tc.load(ctx)
		if err != nil {
			return cachedToken{}, err
		}
		if slices.Contains(refused, stored.Token) {
			stored = cachedToken{} // as good as none: fetch past it
		}
		now := tc.c.now()
		if stored.fresh(now) {
			return stored, nil
		}
		version, held, err := tc.acquire(ctx, now)
		if err != nil {
			return cachedToken{}, err
		}
		if !held {
			// Another instance may have saved its token and released the
			// lease between our read and our taking it: use that one.
			if again, err := tc.load(ctx); err == nil && again.fresh(now) && !slices.Contains(refused, again.Token) {
				tc.release(ctx, version)
				return again, nil
			}
			t, err := tc.fetch(ctx)
			if err != nil {
				tc.release(ctx, version)
				return cachedToken{}, err
			}
			if err := tc.save(ctx, t); err != nil {
				// The token is good; other instances will fetch their own.
				tc.c.log.LogAttrs(ctx, slog.LevelWarn, "wecom token cache write failed", slog.String("error", err.Error()))
			}
			tc.release(ctx, version)
			return t, nil
		}
		// Someone else is refreshing. A token WeCom still accepts will do
		// meanwhile; otherwise wait for theirs, then fetch our own.
		if stored.usable(now) {
			return stored, nil
		}
		if wait >= leaseWaits {
			return tc.fetch(ctx)
		}
		if err := tc.c.sleep(ctx, leasePoll); err != nil {
			return cachedToken{}, fmt.Errorf("access token: waiting for refresh: %w", err)
		}
	}
}

func (tc *tokenCache) load(ctx context.Context) (cachedToken, error) {
	it, err := tc.st.Get(ctx, tokenPK, tc.sk)
	if errors.Is(err, store.ErrNotFound) {
		return cachedToken{}, nil
	}
	if err != nil {
		return cachedToken{}, fmt.Errorf("access token: read cache: %w", err)
	}
	var t cachedToken
	if err := json.Unmarshal(it.Data, &t); err != nil {
		// A corrupt entry is as good as none; it gets overwritten.
		return cachedToken{}, nil
	}
	return t, nil
}

func (tc *tokenCache) save(ctx context.Context, t cachedToken) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = tc.st.Put(ctx, store.Item{PK: tokenPK, SK: tc.sk, Data: data, ExpiresAt: t.ExpiresAt}, store.Always)
	return err
}

// acquire takes the refresh lease. held reports that another live holder
// has it; version is ours to release otherwise.
func (tc *tokenCache) acquire(ctx context.Context, now time.Time) (version int64, held bool, err error) {
	sk := tc.sk + "#lease"
	cond := store.IfAbsent
	it, err := tc.st.Get(ctx, tokenPK, sk)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, false, fmt.Errorf("access token: read lease: %w", err)
	default:
		var l lease
		if json.Unmarshal(it.Data, &l) == nil && now.Before(l.Until) && l.Holder != tc.id {
			return 0, true, nil
		}
		// Expired (the holder died) or ours: take it over.
		cond = store.IfVersion(it.Version)
	}
	data, _ := json.Marshal(lease{Holder: tc.id, Until: now.Add(leaseFor)})
	put, err := tc.st.Put(ctx, store.Item{PK: tokenPK, SK: sk, Data: data, ExpiresAt: now.Add(leaseFor)}, cond)
	if errors.Is(err, store.ErrConditionFailed) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("access token: take lease: %w", err)
	}
	return put.Version, false, nil
}

func (tc *tokenCache) release(ctx context.Context, version int64) {
	if err := tc.st.Delete(ctx, tokenPK, tc.sk+"#lease", store.IfVersion(version)); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		tc.c.log.LogAttrs(ctx, slog.LevelWarn, "wecom token lease release failed", slog.String("error", err.Error()))
	}
}

// invalidate drops bad (rejected by WeCom) from memory and from the shared
// cache, unless another instance has already replaced it.
func (tc *tokenCache) invalidate(ctx context.Context, bad string) error {
	if t := tc.memGet(); t.Token == bad {
		tc.memSet(cachedToken{})
	}
	if tc.st == nil {
		return nil
	}
	it, err := tc.st.Get(ctx, tokenPK, tc.sk)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("access token: read cache: %w", err)
	}
	var t cachedToken
	if json.Unmarshal(it.Data, &t) == nil && t.Token != bad {
		return nil
	}
	err = tc.st.Delete(ctx, tokenPK, tc.sk, store.IfVersion(it.Version))
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("access token: drop cache: %w", err)
	}
	return nil
}

// tokenAnswer is gettoken's answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetch calls gettoken. The secret travels in the query, so the URL is
// never logged and errors are built without it.
func (tc *tokenCache) fetch(ctx context.Context) (cachedToken, error) {
	c := tc.c
	if c.corpID == "" || c.secret == "" {
		return cachedToken{}, errors.New("access token: corp id and secret are required")
	}
	q := url.Values{"corpid": {c.corpID}, "corpsecret": {c.secret}}
	var ans tokenAnswer
	err := c.call(ctx, request{
		op: "gettoken", method: http.MethodGet, out: &ans, idempotent: true,
		rawURL: c.base + "/cgi-bin/gettoken?" + q.Encode(),
	})
	if err != nil {
		return cachedToken{}, fmt.Errorf("access token: %w", err)
	}
	if ans.AccessToken == "" {
		return cachedToken{}, errors.New("access token: gettoken answered no token")
	}
	ttl := time.Duration(ans.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = 7200 * time.Second
	}
	now := c.now()
	c.log.LogAttrs(ctx, slog.LevelInfo, "wecom access token refreshed", slog.Duration("expires_in", ttl))
	t := cachedToken{Token: ans.AccessToken, ExpiresAt: now.Add(ttl), RefreshAt: now.Add(ttl - refreshMargin)}
	if ttl < 2*refreshMargin {
		t.RefreshAt = now.Add(ttl / 2)
	}
	return t, nil
}
