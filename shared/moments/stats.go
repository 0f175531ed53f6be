package moments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/store"
)

// Funnel is a post's conversion funnel: members targeted → published →
// customers reached → engaged (liked or commented) → clicks and unique
// clickers on the tracked link → conversions.
type Funnel struct {
	PostID   string `json:"post_id"`
	Kind     string `json:"kind"`
	MomentID string `json:"moment_id,omitempty"`
	MsgID    string `json:"msgid,omitempty"`
	// SentDay is when the post went out; Day is when WeCom's lists were
	// read (empty before the first sync).
	SentDay  string    `json:"sent_day,omitempty"`
	Day      string    `json:"synced_day,omitempty"`
	SyncedAt time.Time `json:"synced_at,omitzero"`

	MembersTargeted  int `json:"members_targeted"`
	MembersPublished int `json:"members_published"`
	CustomersReached int `json:"customers_reached"`
	CustomersEngaged int `json:"customers_engaged"`
	Likes            int `json:"likes"`
	Comments         int `json:"comments"`
	// Group messages: recipients WeCom did not deliver to.
	FailedNotFriend  int     `json:"failed_not_friend,omitempty"`
	FailedCapReached int     `json:"failed_cap_reached,omitempty"`
	Clicks           int     `json:"clicks"`
	UniqueClickers   int     `json:"unique_clickers"`
	Conversions      int     `json:"conversions"`
	ConversionValue  float64 `json:"conversion_value"`

	// Rates, 0 when the denominator is 0.
	PublishRate    float64 `json:"publish_rate"`    // published / targeted
	EngagementRate float64 `json:"engagement_rate"` // engaged / reached
	ClickRate      float64 `json:"click_rate"`      // unique clickers / reached
	ConversionRate float64 `json:"conversion_rate"` // conversions / unique clickers

	Members []MemberFunnel `json:"members,omitempty"`
	// Error is why WeCom's lists could not be read for this post.
	Error string `json:"error,omitempty"`
}

// MemberFunnel is one member's part of a post.
type MemberFunnel struct {
	UserID    string `json:"userid"`
	Published bool   `json:"published"`
	Reached   int    `json:"customers_reached"`
	Engaged   int    `json:"customers_engaged"`
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(float64(a)/float64(b)*10000+0.5)) / 10000
}

func (f *Funnel) rates() {
	f.PublishRate = ratio(f.MembersPublished, f.MembersTargeted)
	f.EngagementRate = ratio(f.CustomersEngaged, f.CustomersReached)
	f.ClickRate = ratio(f.UniqueClickers, f.CustomersReached)
	f.ConversionRate = ratio(f.Conversions, f.UniqueClickers)
}

// latest returns the most recent synced summary of a post.
func (s *Service) latest(ctx context.Context, postID string) (Funnel, bool, error) {
	page, err := s.Store.Query(ctx, store.Query{PK: "mstat#" + postID, Desc: true, Limit: 1})
	if err != nil {
		return Funnel{}, false, fmt.Errorf("read summary of post %s: %w", postID, err)
	}
	if len(page.Items) == 0 {
		return Funnel{}, false, nil
	}
	var f Funnel
	if err := json.Unmarshal(page.Items[0].Data, &f); err != nil {
		return Funnel{}, false, fmt.Errorf("decode summary of post %s: %w", postID, err)
	}
	return f, true, nil
}

// PostStats is a post's funnel: WeCom's part as of the last sync, clicks
// and conversions live.
func (s *Service) PostStats(ctx context.Context, postID string) (Funnel, error) {
	f, ok, err := s.latest(ctx, postID)
	if err != nil {
		return Funnel{}, err
	}
	if !ok {
		if strings.HasPrefix(postID, TrackedPrefix) || s.Posts == nil {
			if _, err := s.Store.Get(ctx, "mtrack", strings.TrimPrefix(postID, TrackedPrefix)); err != nil {
				return Funnel{}, ErrNotFound
			}
			f = Funnel{PostID: postID, Kind: string(posts.Moment), MomentID: strings.TrimPrefix(postID, TrackedPrefix)}
		} else {
			p, err := s.Posts.Get(ctx, postID)
			if errors.Is(err, posts.ErrNotFound) {
				return Funnel{}, ErrNotFound
			}
			if err != nil {
				return Funnel{}, err
			}
			// Not synced yet: the targeted members are the ones named.
			f = Funnel{PostID: p.ID, Kind: string(p.Kind), MomentID: p.MomentID, MsgID: p.MsgID,
				SentDay: calendar.Of(p.SendAt, s.Loc).String(), MembersTargeted: len(p.VisibleRange.Members)}
		}
	}
	if f.Clicks, f.UniqueClickers, err = s.Clicks(ctx, postID); err != nil {
		return Funnel{}, err
	}
	if f.Conversions, f.ConversionValue, err = s.Conversions(ctx, postID); err != nil {
		return Funnel{}, err
	}
	f.rates()
	return f, nil
}

// DaySummaries returns the funnels synced on day, by post id.
func DaySummaries(ctx context.Context, st store.Store, day calendar.Day) ([]Funnel, error) {
	items, err := store.QueryAll(ctx, st, store.Query{PK: "mday#" + day.String(), Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("read moments summaries of %s: %w", day, err)
	}
	var out []Funnel
	for _, it := range items {
		var f Funnel
		if json.Unmarshal(it.Data, &f) == nil {
			out = append(out, f)
		}
	}
	return out, nil
}

// BestWorst picks the day's best and worst post among those that reached
// anyone, by click rate, then engagement rate. Both are nil when no post
// reached a customer. For the daily report.
func BestWorst(ctx context.Context, st store.Store, day calendar.Day) (best, worst *Funnel, err error) {
	all, err := DaySummaries(ctx, st, day)
	if err != nil {
		return nil, nil, err
	}
	var rows []Funnel
	for _, f := range all {
		if f.CustomersReached > 0 {
			rows = append(rows, f)
		}
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ClickRate != b.ClickRate {
			return a.ClickRate > b.ClickRate
		}
		if a.EngagementRate != b.EngagementRate {
			return a.EngagementRate > b.EngagementRate
		}
		return a.PostID < b.PostID
	})
	b, w := rows[0], rows[len(rows)-1]
	b.Members, w.Members = nil, nil
	return &b, &w, nil
}

// Range is GET /api/stats/moments: each post's latest funnel synced within
// from..to, summed by the day the post went out, by member and by post.
type Range struct {
	From    string         `json:"from"`
	To      string         `json:"to"`
	Days    []Funnel       `json:"days"`
	Members []MemberFunnel `json:"members"`
	Posts   []Funnel       `json:"posts"`
}

// MaxRangeDays bounds a stats range.
const MaxRangeDays = 92

// RangeStats aggregates the summaries synced between from and to.
func (s *Service) RangeStats(ctx context.Context, from, to calendar.Day) (Range, error) {
	if to.Before(from) || from.DaysUntil(to) >= MaxRangeDays {
		return Range{}, fmt.Errorf("from..to must be an ordered range of at most %d days", MaxRangeDays)
	}
	latest := map[string]Funnel{}
	for d := from; !d.After(to); d = d.AddDays(1) {
		fs, err := DaySummaries(ctx, s.Store, d)
		if err != nil {
			return Range{}, err
		}
		for _, f := range fs {
			latest[f.PostID] = f // later days replace earlier ones
		}
	}
	out := Range{From: from.String(), To: to.String(), Days: []Funnel{}, Members: []MemberFunnel{}, Posts: []Funnel{}}
	byDay := map[string]*Funnel{}
	byMember := map[string]*MemberFunnel{}
	for _, f := range latest {
		d := byDay[f.SentDay]
		if d == nil {
			d = &Funnel{SentDay: f.SentDay}
			byDay[f.SentDay] = d
		}
		d.add(f)
		for _, m := range f.Members {
			mm := byMember[m.UserID]
			if mm == nil {
				mm = &MemberFunnel{UserID: m.UserID}
				byMember[m.UserID] = mm
			}
			if m.Published {
				mm.Published = true
			}
			mm.Reached += m.Reached
			mm.Engaged += m.Engaged
		}
		f.Members = nil
		out.Posts = append(out.Posts, f)
	}
	for _, d := range byDay {
		d.rates()
		out.Days = append(out.Days, *d)
	}
	for _, m := range byMember {
		out.Members = append(out.Members, *m)
	}
	sort.Slice(out.Days, func(i, j int) bool { return out.Days[i].SentDay < out.Days[j].SentDay })
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].UserID < out.Members[j].UserID })
	sort.Slice(out.Posts, func(i, j int) bool { return out.Posts[i].PostID < out.Posts[j].PostID })
	return out, nil
}

// add sums g's counts into f (rates are recomputed by the caller).
func (f *Funnel) add(g Funnel) {
	f.MembersTargeted += g.MembersTargeted
	f.MembersPublished += g.MembersPublished
	f.CustomersReached += g.CustomersReached
	f.CustomersEngaged += g.CustomersEngaged
	f.Likes += g.Likes
	f.Comments += g.Comments
	f.FailedNotFriend += g.FailedNotFriend
	f.FailedCapReached += g.FailedCapReached
	f.Clicks += g.Clicks
	f.UniqueClickers += g.UniqueClickers
	f.Conversions += g.Conversions
	f.ConversionValue += g.ConversionValue
}
