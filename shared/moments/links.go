package moments

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
)

// TokenLen is the length of a link token: 16 random bytes, base64url
// without padding.
const TokenLen = 22

// VisitorCookie is the first-party cookie that tells clickers apart. It
// holds a random id and nothing else.
const VisitorCookie = "siyu_vid"

// ErrNoPublicURL means SIYU_PUBLIC_URL is not set: a link cannot be
// tracked, and the post keeps its original URL.
var ErrNoPublicURL = errors.New("SIYU_PUBLIC_URL is not set: links cannot be tracked")

// Link is a tracked link.
type Link struct {
	Token     string    `json:"-"`
	PostID    string    `json:"post_id"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

// NewLink makes a tracked link of a post's link attachment under s's
// PublicURL: the post sends trackedURL instead of originalURL.
func (s *Service) NewLink(ctx context.Context, postID, originalURL string) (token, trackedURL string, err error) {
	return newLink(ctx, s.Store, strings.TrimRight(s.PublicURL, "/"), postID, originalURL, s.Now())
}

var _ posts.LinkTracker = (*Service)(nil)

// TrackLink is posts.LinkTracker: a tracked link under base, or under
// PublicURL when base is empty. Without either the link stays untracked, and
// says so in the log.
func (s *Service) TrackLink(ctx context.Context, base, postID, originalURL string) (string, error) {
	if base == "" {
		base = s.PublicURL
	}
	_, tracked, err := newLink(ctx, s.Store, strings.TrimRight(base, "/"), postID, originalURL, s.Now())
	if errors.Is(err, ErrNoPublicURL) {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "link not tracked: no public base URL (set SIYU_PUBLIC_URL)", slog.String("post", postID))
		return "", nil
	}
	return tracked, err
}

// UntrackLinks is posts.LinkTracker: it deletes the links of a post whose
// creation failed.
func (s *Service) UntrackLinks(ctx context.Context, postID string) error {
	page, err := s.Store.Query(ctx, store.Query{PK: "plink#" + postID, Limit: store.MaxLimit})
	if err != nil {
		return fmt.Errorf("read links of post %s: %w", postID, err)
	}
	for _, it := range page.Items {
		if err := s.Store.Delete(ctx, "link#"+it.SK, "link", store.Always); err != nil {
			return fmt.Errorf("delete link of post %s: %w", postID, err)
		}
		if err := s.Store.Delete(ctx, it.PK, it.SK, store.Always); err != nil {
			return fmt.Errorf("delete link of post %s: %w", postID, err)
		}
	}
	return nil
}

// CheckTarget accepts only absolute http and https URLs with a host and no
// user info, spaces or backslashes: the redirect's target comes from here
// and nowhere else. It is posts.CheckURL, so a post is refused at creation
// for any URL this would refuse.
func CheckTarget(raw string) error {
	if err := posts.CheckURL(raw); err != nil {
		return fmt.Errorf("link url: %w", err)
	}
	return nil
}

func newLink(ctx context.Context, st store.Store, base, postID, originalURL string, now time.Time) (string, string, error) {
	if base == "" {
		return "", "", ErrNoPublicURL
	}
	if postID == "" {
		return "", "", errors.New("new link: post id is empty")
	}
	if err := CheckTarget(originalURL); err != nil {
		return "", "", err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", fmt.Errorf("new link token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	data, _ := json.Marshal(Link{PostID: postID, URL: originalURL, CreatedAt: now.UTC()})
	if _, err := st.Put(ctx, store.Item{PK: "link#" + token, SK: "link", Data: data}, store.IfAbsent); err != nil {
		return "", "", fmt.Errorf("store link for post %s: %w", postID, err)
	}
	if _, err := st.Put(ctx, store.Item{PK: "plink#" + postID, SK: token, Data: data}, store.Always); err != nil {
		return "", "", fmt.Errorf("index link for post %s: %w", postID, err)
	}
	return token, base + "/r/" + token, nil
}

// ValidToken reports whether t has a token's shape (22 base64url
// characters); anything else is refused before the store is read.
func ValidToken(t string) bool {
	if len(t) != TokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Resolve returns the link of token, or ErrNotFound.
func (s *Service) Resolve(ctx context.Context, token string) (Link, error) {
	if !ValidToken(token) {
		return Link{}, ErrNotFound
	}
	it, err := s.Store.Get(ctx, "link#"+token, "link")
	if errors.Is(err, store.ErrNotFound) {
		return Link{}, ErrNotFound
	}
	if err != nil {
		return Link{}, fmt.Errorf("read link: %w", err)
	}
	var l Link
	if err := json.Unmarshal(it.Data, &l); err != nil {
		return Link{}, fmt.Errorf("decode link: %w", err)
	}
	if CheckTarget(l.URL) != nil {
		return Link{}, ErrNotFound
	}
	l.Token = token
	return l, nil
}

// NewVisitor returns a fresh visitor id for the cookie.
func NewVisitor() string {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// ValidVisitor reports whether a cookie value looks like NewVisitor's.
func ValidVisitor(v string) bool {
	if len(v) != 16 {
		return false
	}
	return ValidToken(v + "aaaaaa")
}

// RecordClick stores one click on l by visitor vid at t: exactly one
// store write. Uniqueness is counted when stats are read. The key ends in
// a random part so two clicks in the same clock tick stay two.
func (s *Service) RecordClick(ctx context.Context, l Link, vid string, t time.Time) error {
	day := calendar.Of(t, s.Loc).String()
	var r [4]byte
	_, _ = rand.Read(r[:])
	sk := fmt.Sprintf("%019d#%s#%x", t.UnixNano(), vid, r)
	_, err := s.Store.Put(ctx, store.Item{PK: clickPK(l.PostID, day), SK: sk, Data: []byte(l.Token)}, store.IfAbsent)
	if errors.Is(err, store.ErrConditionFailed) {
		return nil // the same visitor in the same nanosecond: one click
	}
	if err != nil {
		return fmt.Errorf("record click on post %s: %w", l.PostID, err)
	}
	return nil
}

func clickPK(postID, day string) string { return "click#" + postID + "#" + day }

// Clicks counts a post's clicks and distinct visitors over its link days.
func (s *Service) Clicks(ctx context.Context, postID string) (clicks, unique int, err error) {
	first, ok, err := s.firstLinkDay(ctx, postID)
	if err != nil || !ok {
		return 0, 0, err
	}
	today := s.today()
	if first.DaysUntil(today) > ClickDays {
		first = today.AddDays(-ClickDays)
	}
	seen := map[string]bool{}
	for d := first; !d.After(today); d = d.AddDays(1) {
		for page, err := range store.Pages(ctx, s.Store, store.Query{PK: clickPK(postID, d.String()), Limit: store.MaxLimit}) {
			if err != nil {
				return 0, 0, fmt.Errorf("read clicks of post %s on %s: %w", postID, d, err)
			}
			for _, it := range page.Items {
				clicks++
				if _, rest, ok := strings.Cut(it.SK, "#"); ok {
					vid, _, _ := strings.Cut(rest, "#")
					seen[vid] = true
				}
			}
		}
	}
	return clicks, len(seen), nil
}

func (s *Service) firstLinkDay(ctx context.Context, postID string) (calendar.Day, bool, error) {
	page, err := s.Store.Query(ctx, store.Query{PK: "plink#" + postID, Limit: store.MaxLimit})
	if err != nil {
		return calendar.Day{}, false, fmt.Errorf("read links of post %s: %w", postID, err)
	}
	var first time.Time
	for _, it := range page.Items {
		var l Link
		if json.Unmarshal(it.Data, &l) == nil && (first.IsZero() || l.CreatedAt.Before(first)) {
			first = l.CreatedAt
		}
	}
	if first.IsZero() {
		return calendar.Day{}, false, nil
	}
	return calendar.Of(first, s.Loc), true, nil
}

// Conversion is what a click turned into (an order).
type Conversion struct {
	Token   string    `json:"token,omitempty"`
	PostID  string    `json:"post_id,omitempty"`
	Value   float64   `json:"value"`
	OrderID string    `json:"order_id"`
	At      time.Time `json:"at"`
}

// RecordConversion stores c once per post and order id; recorded is false
// when the order was already counted.
func (s *Service) RecordConversion(ctx context.Context, c Conversion) (recorded bool, err error) {
	if c.OrderID == "" {
		return false, bad("order_id is required (it makes a repeated report count once)")
	}
	if c.Value < 0 {
		return false, bad("value must not be negative")
	}
	if c.Token != "" {
		l, err := s.Resolve(ctx, c.Token)
		if err != nil {
			return false, fmt.Errorf("token: %w", err)
		}
		if c.PostID != "" && c.PostID != l.PostID {
			return false, bad("token and post_id name different posts")
		}
		c.PostID = l.PostID
	}
	if c.PostID == "" {
		return false, bad("token or post_id is required")
	}
	if c.Token == "" {
		if err := s.postExists(ctx, c.PostID); err != nil {
			return false, err
		}
	}
	if c.At.IsZero() {
		c.At = s.Now().UTC()
	}
	data, _ := json.Marshal(c)
	_, err = s.Store.Put(ctx, store.Item{PK: "conv#" + c.PostID, SK: c.OrderID, Data: data}, store.IfAbsent)
	if errors.Is(err, store.ErrConditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record conversion %s: %w", c.OrderID, err)
	}
	return true, nil
}

// InputError is a tracked-link, conversion or tracking request the caller
// must fix (the API answers 400 with Msg).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// BadRequest is what the caller is told.
func (e *InputError) BadRequest() string { return e.Msg }

func bad(msg string) error { return &InputError{Msg: msg} }

// postExists is nil for a known post or tracked Moment, else ErrNotFound.
func (s *Service) postExists(ctx context.Context, postID string) error {
	if strings.HasPrefix(postID, TrackedPrefix) || s.Posts == nil {
		_, err := s.Store.Get(ctx, "mtrack", strings.TrimPrefix(postID, TrackedPrefix))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	}
	_, err := s.Posts.Get(ctx, postID)
	if errors.Is(err, posts.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// Conversions counts a post's conversions and their total value.
func (s *Service) Conversions(ctx context.Context, postID string) (n int, value float64, err error) {
	for page, err := range store.Pages(ctx, s.Store, store.Query{PK: "conv#" + postID, Limit: store.MaxLimit}) {
		if err != nil {
			return 0, 0, fmt.Errorf("read conversions of post %s: %w", postID, err)
		}
		for _, it := range page.Items {
			var c Conversion
			if json.Unmarshal(it.Data, &c) == nil {
				n++
				value += c.Value
			}
		}
	}
	// Keep money to cents despite float sums.
	value, _ = strconv.ParseFloat(strconv.FormatFloat(value, 'f', 2, 64), 64)
	return n, value, nil
}
