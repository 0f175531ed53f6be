package posts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// WeCom is the part of the WeCom API posts use; *wecom.Client has it.
type WeCom interface {
	AddMomentTask(ctx context.Context, t wecom.MomentTask) (string, error)
	GetMomentTaskResult(ctx context.Context, jobID string) (wecom.MomentTaskResult, error)
	CancelMomentTask(ctx context.Context, momentID string) error
	GetMomentList(ctx context.Context, req wecom.MomentListRequest) (wecom.MomentListPage, error)
	AddMsgTemplate(ctx context.Context, t wecom.MsgTemplate) (wecom.MsgTemplateResult, error)
	GetGroupMsgListV2(ctx context.Context, req wecom.GroupMsgListRequest) (wecom.GroupMsgListPage, error)
	CancelGroupMsgSend(ctx context.Context, msgID string) error
	UploadAttachment(ctx context.Context, m wecom.Media) (wecom.UploadedMedia, error)
	UploadMedia(ctx context.Context, m wecom.Media) (wecom.UploadedMedia, error)
}

var _ WeCom = (*wecom.Client)(nil)

// LinkTracker stands a tracked URL (counted on click) in for a link
// attachment's URL; moments implements it. Create checks every URL with
// CheckURL before it calls TrackLink, so a refusal there is never the
// caller's mistake.
type LinkTracker interface {
	// TrackLink stores a tracked link of postID to url under base (empty:
	// the tracker's own base) and returns its URL, or "" to keep url.
	TrackLink(ctx context.Context, base, postID, url string) (string, error)
	// UntrackLinks deletes what TrackLink stored for postID.
	UntrackLinks(ctx context.Context, postID string) error
}

// Defaults of Service's knobs.
const (
	DefaultMomentsPerDay = 3
	DefaultLease         = 2 * time.Minute
	DefaultResolveAfter  = 5 * time.Minute
	DefaultLateAfter     = 2 * time.Minute
	DefaultMaxCatchUp    = 72 * time.Hour
	DefaultMaxAttempts   = 3
	// maxShiftDays bounds the search for a next free slot.
	maxShiftDays = 31
)

// Service stores, lists and cancels posts and runs the poster's ticks.
type Service struct {
	Store store.Store
	// WeCom is nil when no secret is configured: posts can be scheduled,
	// not sent.
	WeCom  WeCom
	Loc    *time.Location
	Now    func() time.Time
	Logger *slog.Logger
	// HTTP fetches media given by URL.
	HTTP *http.Client

	// MomentsPerDay caps the enterprise Moments a customer sees per day.
	MomentsPerDay int
	// GroupMsgsPerMonth caps the group messages a customer (or group)
	// receives in a month; nil means the days in that month (WeCom's rule).
	GroupMsgsPerMonth func(year int, month time.Month) int
	// MomentsPerMinute paces add_moment_task (WeCom: 10/min per corp).
	MomentsPerMinute int

	// Lease is how long a claimed attempt is another tick's to leave alone.
	Lease time.Duration
	// ResolveAfter is how long after an attempt whose answer was lost the
	// poster looks for its result in WeCom's lists (the task is async).
	ResolveAfter time.Duration
	// LateAfter marks a post late when it goes out this long after send_at.
	LateAfter time.Duration
	// MaxCatchUp is how far back a tick looks when it has no cursor, and
	// at most how far behind the cursor may fall.
	MaxCatchUp time.Duration
	// MaxAttempts bounds tries whose outcome stayed unknown and that WeCom
	// turned out not to have (Post.LostAttempts); deferrals do not count.
	MaxAttempts int

	// Links, when set, swaps each link attachment's url for a tracked one.
	Links LinkTracker

	holder string
}

// New returns a Service with the defaults.
func New(st store.Store, wc WeCom, loc *time.Location, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if loc == nil {
		loc, _ = calendar.Zone("")
	}
	if logger == nil {
		logger = slog.Default()
	}
	if c, ok := wc.(*wecom.Client); ok && c == nil {
		wc = nil // a nil *Client (no secret configured) means no WeCom
	}
	return &Service{
		Store: st, WeCom: wc, Loc: loc, Now: now, Logger: logger,
		HTTP:             &http.Client{Timeout: 30 * time.Second},
		MomentsPerDay:    DefaultMomentsPerDay,
		MomentsPerMinute: wecom.MomentTasksPerMinute,
		Lease:            DefaultLease, ResolveAfter: DefaultResolveAfter, LateAfter: DefaultLateAfter,
		MaxCatchUp: DefaultMaxCatchUp, MaxAttempts: DefaultMaxAttempts,
		holder: randomHex(6),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) groupLimit(t time.Time) int {
	t = t.In(s.Loc)
	if s.GroupMsgsPerMonth != nil {
		return s.GroupMsgsPerMonth(t.Year(), t.Month())
	}
	return time.Date(t.Year(), t.Month()+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// Get returns one post.
func (s *Service) Get(ctx context.Context, id string) (Post, error) {
	it, err := s.Store.Get(ctx, pkPost(id), skPost)
	if errors.Is(err, store.ErrNotFound) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("get post %s: %w", id, err)
	}
	var p Post
	if err := json.Unmarshal(it.Data, &p); err != nil {
		return Post{}, fmt.Errorf("decode post %s: %w", id, err)
	}
	p.version = it.Version
	return p, nil
}

// put writes p under cond and keeps its new version.
func (s *Service) put(ctx context.Context, p *Post, cond store.Cond) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode post %s: %w", p.ID, err)
	}
	it, err := s.Store.Put(ctx, store.Item{PK: pkPost(p.ID), SK: skPost, Data: data}, cond)
	if err != nil {
		return fmt.Errorf("write post %s: %w", p.ID, err)
	}
	p.version = it.Version
	return nil
}

// indexEntry is a post's row in its month index: enough to count caps
// without reading the post.
type indexEntry struct {
	Kind        Kind     `json:"kind"`
	Status      Status   `json:"status"`
	Members     []string `json:"members,omitempty"`
	Departments []int    `json:"departments,omitempty"`
	ChatType    string   `json:"chat_type,omitempty"`
}

func (s *Service) writeIndex(ctx context.Context, p Post) error {
	data, _ := json.Marshal(indexEntry{Kind: p.Kind, Status: p.Status, Members: p.VisibleRange.Members,
		Departments: p.VisibleRange.Departments, ChatType: p.ChatType})
	_, err := s.Store.Put(ctx, store.Item{PK: pkMonth(p.SendAt, s.Loc), SK: skTimed(p.SendAt, p.ID), Data: data}, store.Always)
	if err != nil {
		return fmt.Errorf("index post %s: %w", p.ID, err)
	}
	return nil
}

// indexed is one row read back from a month index.
type indexed struct {
	id     string
	sendAt time.Time
	indexEntry
}

// readIndex lists the index rows with send_at in [from, to).
func (s *Service) readIndex(ctx context.Context, from, to time.Time) ([]indexed, error) {
	var out []indexed
	for m := time.Date(from.In(s.Loc).Year(), from.In(s.Loc).Month(), 1, 0, 0, 0, 0, s.Loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		q := store.Query{PK: pkMonth(m, s.Loc), From: skFrom(from), To: skUntil(to.Add(-time.Second)), Limit: store.MaxLimit}
		items, err := store.QueryAll(ctx, s.Store, q)
		if err != nil {
			return nil, fmt.Errorf("read post index %s: %w", q.PK, err)
		}
		for _, it := range items {
			var row indexed
			var unix int64
			if _, err := fmt.Sscanf(it.SK, "%d#%s", &unix, &row.id); err != nil || json.Unmarshal(it.Data, &row.indexEntry) != nil {
				continue
			}
			row.sendAt = time.Unix(unix, 0).UTC()
			out = append(out, row)
		}
	}
	return out, nil
}

// overlaps reports whether two audiences may share a customer. Without
// customer lists at hand this is conservative: all-members ranges overlap
// everything, departments are assumed to overlap (their members are not
// known here), and shared members overlap whatever the tags (tags narrow
// who sees a post but two tag sets may share customers).
func overlaps(aMembers []string, aDepts []int, bMembers []string, bDepts []int) bool {
	if len(aMembers)+len(aDepts) == 0 || len(bMembers)+len(bDepts) == 0 {
		return true
	}
	if len(aDepts) > 0 || len(bDepts) > 0 {
		return true
	}
	for _, m := range aMembers {
		if slices.Contains(bMembers, m) {
			return true
		}
	}
	return false
}

// counts reports whether an index row still counts against a cap.
func (e indexEntry) counts() bool { return e.Status != Canceled && e.Status != Failed }

// collisions lists the posts that fill p's cap if it were sent at at, and
// the cap; none means p fits.
func (s *Service) collisions(ctx context.Context, p Post, at time.Time) ([]string, int, string, error) {
	var from, to time.Time
	var limit int
	var span string
	if p.Kind == Moment {
		day := calendar.Of(at, s.Loc)
		from, to, limit, span = day.Start(s.Loc), day.End(s.Loc), s.MomentsPerDay, day.String()
	} else {
		l := at.In(s.Loc)
		from = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, s.Loc)
		to, limit, span = from.AddDate(0, 1, 0), s.groupLimit(at), l.Format("2006-01")
	}
	if limit <= 0 {
		return nil, limit, span, nil
	}
	rows, err := s.readIndex(ctx, from, to)
	if err != nil {
		return nil, 0, "", err
	}
	var hit []string
	for _, r := range rows {
		if r.id == p.ID || r.Kind != p.Kind || !r.counts() || (p.Kind == GroupMessage && r.ChatType != p.ChatType) {
			continue
		}
		if overlaps(r.Members, r.Departments, p.VisibleRange.Members, p.VisibleRange.Departments) {
			hit = append(hit, r.id)
		}
	}
	if len(hit) < limit {
		return nil, limit, span, nil
	}
	// A placement whose post never appeared is a creation that failed and
	// could not be undone: past placementGrace it no longer counts.
	now := s.Now()
	live := hit[:0]
	for _, id := range hit {
		gone, err := s.abandoned(ctx, id, now)
		if err != nil {
			return nil, 0, "", err
		}
		if !gone {
			live = append(live, id)
		}
	}
	if len(live) < limit {
		return nil, limit, span, nil
	}
	return live, limit, span, nil
}

// placementGrace is how long a creation may take between its cap placement
// and its post (media chunks included).
const placementGrace = 10 * time.Minute

// abandoned reports whether id's placement is older than placementGrace
// and its post does not exist. Post ids begin with their creation time.
func (s *Service) abandoned(ctx context.Context, id string, now time.Time) (bool, error) {
	if len(id) < 11 {
		return false, nil
	}
	ms, err := strconv.ParseInt(id[:11], 16, 64)
	if err != nil || now.Sub(time.UnixMilli(ms)) < placementGrace {
		return false, nil
	}
	_, err = s.Store.Get(ctx, pkPost(id), skPost)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("check post %s: %w", id, err)
	}
	return false, nil
}

// gate reads the month's cap gate: its version, 0 when absent.
func (s *Service) gate(ctx context.Context, at time.Time) (int64, error) {
	it, err := s.Store.Get(ctx, pkGate, at.In(s.Loc).Format("2006-01"))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cap gate: %w", err)
	}
	return it.Version, nil
}

// passGate bumps the gate if nobody else did since version was read.
func (s *Service) passGate(ctx context.Context, at time.Time, version int64) error {
	cond := store.IfAbsent
	if version > 0 {
		cond = store.IfVersion(version)
	}
	_, err := s.Store.Put(ctx, store.Item{PK: pkGate, SK: at.In(s.Loc).Format("2006-01"), Data: []byte("{}")}, cond)
	return err
}

// Create validates d, applies the cap and stores the post. A post whose
// send_at has passed (by less than a day) goes out on the next tick.
//
// Everything the caller can get wrong is checked before the first write. A
// creation that fails after its cap placement undoes what it wrote, so it
// neither counts against the cap nor leaves links or media behind; should
// the undo fail too, collisions skips the placement once it is old enough
// to be abandoned (placementGrace).
func (s *Service) Create(ctx context.Context, d Draft) (Post, error) {
	now := s.Now()
	p, err := d.validate(now)
	if err != nil {
		return Post{}, err
	}
	p.ID = fmt.Sprintf("%011x%s", now.UnixMilli(), randomHex(4))
	p.Status = Scheduled
	p.CreatedAt = now.UTC()
	requested := p.SendAt
	if err := s.place(ctx, &p, d.IfFull); err != nil {
		return Post{}, err
	}
	if !p.SendAt.Equal(requested) {
		r := requested
		p.RequestedSendAt = &r
	}
	if err := s.store(ctx, &p, d.PublicURL, now); err != nil {
		s.undo(ctx, p, now)
		return Post{}, err
	}
	return p, nil
}

// place finds p's send time under the cap and writes its month index row,
// the post's placement. With ifFull "next_free_slot" a full day moves the
// post to the same time on the next day with room.
func (s *Service) place(ctx context.Context, p *Post, ifFull string) error {
	requested := p.SendAt
	for try := 0; try < 8; try++ {
		at := requested
		var gv int64
		var err error
		for shift := 0; ; shift++ {
			if gv, err = s.gate(ctx, at); err != nil {
				return err
			}
			hit, limit, span, err := s.collisions(ctx, *p, at)
			if err != nil {
				return err
			}
			if len(hit) == 0 {
				break
			}
			if ifFull != IfFullNextFreeSlot || shift >= maxShiftDays {
				return &CapError{Day: span, Limit: limit, Colliding: hit}
			}
			at = at.In(s.Loc).AddDate(0, 0, 1).UTC()
		}
		p.SendAt = at
		if err := s.writeIndex(ctx, *p); err != nil {
			return err
		}
		switch err := s.passGate(ctx, at, gv); {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrConditionFailed):
			// Another post was placed meanwhile: count again.
			_ = s.Store.Delete(ctx, pkMonth(at, s.Loc), skTimed(at, p.ID), store.Always)
		default:
			_ = s.Store.Delete(ctx, pkMonth(at, s.Loc), skTimed(at, p.ID), store.Always)
			return fmt.Errorf("pass cap gate: %w", err)
		}
	}
	return errors.New("create post: too much contention on the cap gate; retry")
}

// store writes a placed post: its media, its tracked links, the post, and
// last its due entry (the poster finds nothing before the post is whole).
func (s *Service) store(ctx context.Context, p *Post, linkBase string, now time.Time) error {
	if err := s.storeMedia(ctx, p); err != nil {
		return err
	}
	if err := s.trackLinks(ctx, p, linkBase); err != nil {
		return err
	}
	if err := s.put(ctx, p, store.IfAbsent); err != nil {
		return err
	}
	return s.putDue(ctx, *p, now)
}

// undo deletes what a failed creation wrote. It runs even when the request
// was canceled; what it cannot delete, collisions and List skip.
func (s *Service) undo(ctx context.Context, p Post, now time.Time) {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if s.Links != nil {
		errs = append(errs, s.Links.UntrackLinks(ctx, p.ID))
	}
	errs = append(errs,
		s.Store.Delete(ctx, dueBucket(p.SendAt, now), skTimed(p.SendAt, p.ID), store.Always),
		s.deletePost(ctx, p.ID),
		s.Store.Delete(ctx, pkMonth(p.SendAt, s.Loc), skTimed(p.SendAt, p.ID), store.Always))
	if err := errors.Join(errs...); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "failed post creation not fully undone; its placement stops counting after a while",
			slog.String("post", p.ID), slog.String("error", err.Error()))
	}
}

// deletePost deletes the post item and its media chunks.
func (s *Service) deletePost(ctx context.Context, id string) error {
	for page, err := range store.Pages(ctx, s.Store, store.Query{PK: pkPost(id), Limit: store.MaxLimit}) {
		if err != nil {
			return fmt.Errorf("read post %s: %w", id, err)
		}
		for _, it := range page.Items {
			if err := s.Store.Delete(ctx, it.PK, it.SK, store.Always); err != nil {
				return fmt.Errorf("delete post %s: %w", id, err)
			}
		}
	}
	return nil
}

// trackLinks swaps each link attachment's URL for a tracked one (clicks are
// then counted by GET /r/{token}), keeping the original beside it.
func (s *Service) trackLinks(ctx context.Context, p *Post, base string) error {
	if s.Links == nil {
		return nil
	}
	for i := range p.Attachments {
		a := &p.Attachments[i]
		if a.Type != Link || a.URL == "" {
			continue
		}
		tracked, err := s.Links.TrackLink(ctx, base, p.ID, a.URL)
		if err != nil {
			return fmt.Errorf("track link of attachment %d: %w", i, err)
		}
		if tracked != "" {
			a.OriginalURL, a.URL = a.URL, tracked
		}
	}
	return nil
}

// dueBucket is the bucket a scheduled post waits in: its send hour, or the
// current hour when send_at has passed (the tick cursor may be past it).
func dueBucket(sendAt, now time.Time) string {
	if sendAt.Before(now) {
		return pkDue(now)
	}
	return pkDue(sendAt)
}

func (s *Service) putDue(ctx context.Context, p Post, now time.Time) error {
	_, err := s.Store.Put(ctx, store.Item{PK: dueBucket(p.SendAt, now), SK: skTimed(p.SendAt, p.ID), Data: []byte(p.ID)}, store.Always)
	if err != nil {
		return fmt.Errorf("schedule post %s: %w", p.ID, err)
	}
	return nil
}

// storeMedia moves uploaded bytes out of the post into chunks.
func (s *Service) storeMedia(ctx context.Context, p *Post) error {
	for i := range p.Attachments {
		a := &p.Attachments[i]
		if len(a.Data) == 0 {
			continue
		}
		a.Size, a.ContentType, a.Chunks = len(a.Data), sniff(a.Data), 0
		for off := 0; off < len(a.Data); off += ChunkSize {
			end := min(off+ChunkSize, len(a.Data))
			if _, err := s.Store.Put(ctx, store.Item{PK: pkPost(p.ID), SK: skChunk(i, a.Chunks), Data: a.Data[off:end]}, store.Always); err != nil {
				return fmt.Errorf("store media of post %s: %w", p.ID, err)
			}
			a.Chunks++
		}
		a.Data = nil
	}
	return nil
}

// loadMedia reads an attachment's stored bytes back.
func (s *Service) loadMedia(ctx context.Context, id string, att int, a Attachment) ([]byte, error) {
	data := make([]byte, 0, a.Size)
	for c := 0; c < a.Chunks; c++ {
		it, err := s.Store.Get(ctx, pkPost(id), skChunk(att, c))
		if err != nil {
			return nil, fmt.Errorf("load media %d of post %s: %w", att, id, err)
		}
		data = append(data, it.Data...)
	}
	return data, nil
}

// Cancel stops a post: before sending it is simply canceled; a Moment or
// group message already created in WeCom is canceled there too.
func (s *Service) Cancel(ctx context.Context, id string) (Post, error) {
	for try := 0; try < 5; try++ {
		p, err := s.Get(ctx, id)
		if err != nil {
			return Post{}, err
		}
		switch p.Status {
		case Scheduled:
			p.Status = Canceled
		case Sending:
			if p.Kind != Moment || p.JobID == "" {
				return p, &ConflictError{"post " + id + " is being sent; try again in a minute"}
			}
			// The Moment exists once its job finishes; the poster cancels
			// it then.
			p.CancelRequested = true
		case Sent:
			if s.WeCom == nil {
				return p, errors.New("cancel post: WeCom is not configured")
			}
			if p.Kind == Moment {
				err = s.WeCom.CancelMomentTask(ctx, p.MomentID)
			} else {
				err = s.WeCom.CancelGroupMsgSend(ctx, p.MsgID)
			}
			if err != nil {
				return p, fmt.Errorf("cancel post %s in WeCom: %w", id, err)
			}
			p.Status = Canceled
		default:
			return p, &ConflictError{fmt.Sprintf("post %s is already %s", id, p.Status)}
		}
		err = s.put(ctx, &p, store.IfVersion(p.version))
		if errors.Is(err, store.ErrConditionFailed) {
			continue
		}
		if err != nil {
			return p, err
		}
		if p.Status == Canceled {
			s.settled(ctx, p)
		}
		return p, nil
	}
	return Post{}, &ConflictError{"post " + id + " changed repeatedly; try again"}
}

// settled tidies the keys of a post that reached a final state: its due
// and pending entries go, its index row stops counting for caps if it
// failed or was canceled. Leftovers are harmless (a tick skips them).
func (s *Service) settled(ctx context.Context, p Post) {
	now := s.Now()
	for _, pk := range []string{pkDue(p.SendAt), pkDue(now)} {
		_ = s.Store.Delete(ctx, pk, skTimed(p.SendAt, p.ID), store.Always)
	}
	_ = s.Store.Delete(ctx, pkPending, p.ID, store.Always)
	if err := s.writeIndex(ctx, p); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelWarn, "post index update failed", slog.String("post", p.ID), slog.String("error", err.Error()))
	}
}

// ListQuery filters List: posts sending between From and To (inclusive
// days) and, when Status is set, in that status.
type ListQuery struct {
	Status Status
	From   calendar.Day
	To     calendar.Day
}

// CapUsage is one day's Moments against the cap.
type CapUsage struct {
	Moments int `json:"moments"`
	Limit   int `json:"limit"`
}

// Listing is List's answer.
type Listing struct {
	Posts []Post              `json:"posts"`
	Cap   map[string]CapUsage `json:"cap"`
}

// List returns the posts of a day range with each day's cap usage.
func (s *Service) List(ctx context.Context, q ListQuery) (Listing, error) {
	rows, err := s.readIndex(ctx, q.From.Start(s.Loc), q.To.End(s.Loc))
	if err != nil {
		return Listing{}, err
	}
	out := Listing{Posts: []Post{}, Cap: map[string]CapUsage{}}
	for _, r := range rows {
		if r.Kind == Moment && r.counts() {
			day := calendar.Of(r.sendAt, s.Loc).String()
			u := out.Cap[day]
			u.Moments++
			u.Limit = s.MomentsPerDay
			out.Cap[day] = u
		}
		if q.Status != "" && r.Status.Terminal() && r.Status != q.Status {
			continue
		}
		p, err := s.Get(ctx, r.id)
		if errors.Is(err, ErrNotFound) {
			continue // a placement that never completed
		}
		if err != nil {
			return Listing{}, err
		}
		if q.Status != "" && p.Status != q.Status {
			continue
		}
		out.Posts = append(out.Posts, p)
	}
	return out, nil
}
