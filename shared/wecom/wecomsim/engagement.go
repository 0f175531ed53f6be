package wecomsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Engagement paths: who published a Moment, whom it reached, who liked or
// commented; who sent a group message and what it did to each customer.
const (
	PathGetMomentTask         = "/cgi-bin/externalcontact/get_moment_task"
	PathGetMomentSendResult   = "/cgi-bin/externalcontact/get_moment_send_result"
	PathGetMomentComments     = "/cgi-bin/externalcontact/get_moment_comments"
	PathGetGroupMsgTask       = "/cgi-bin/externalcontact/get_groupmsg_task"
	PathGetGroupMsgSendResult = "/cgi-bin/externalcontact/get_groupmsg_send_result"
)

func init() {
	routes[PathGetMomentTask] = route{http.MethodPost, (*Sim).apiGetMomentTask}
	routes[PathGetMomentSendResult] = route{http.MethodPost, (*Sim).apiGetMomentSendResult}
	routes[PathGetMomentComments] = route{http.MethodPost, (*Sim).apiGetMomentComments}
	routes[PathGetGroupMsgTask] = route{http.MethodPost, (*Sim).apiGetGroupMsgTask}
	routes[PathGetGroupMsgSendResult] = route{http.MethodPost, (*Sim).apiGetGroupMsgSendResult}
}

// Engagement shapes how members and customers react, deterministically
// from the simulator's seed and the Moment or message id. Percentages are
// 0..100; the defaults are what a typical brand sees.
type Engagement struct {
	// PublishPercent of the targeted members publish a Moment (or send a
	// group message), spread over PublishWithin after creation.
	PublishPercent int
	PublishWithin  time.Duration
	// A customer sees a published Moment within ReachWithin.
	ReachWithin time.Duration
	// LikePercent and CommentPercent of the reached customers react,
	// within ReactWithin of seeing it (two hours when zero).
	LikePercent    int
	CommentPercent int
	ReactWithin    time.Duration
	// CapPercent of a group message's recipients already had their quota
	// (send result status 3).
	CapPercent int
}

// DefaultEngagement is the simulator's engagement unless SetEngagement.
var DefaultEngagement = Engagement{PublishPercent: 85, PublishWithin: 12 * time.Hour, ReachWithin: 24 * time.Hour,
	LikePercent: 10, CommentPercent: 4, ReactWithin: DefaultReactWithin, CapPercent: 5}

// DefaultReactWithin is how long after seeing a Moment customers react
// when Engagement.ReactWithin is zero.
const DefaultReactWithin = 2 * time.Hour

type engagementState struct {
	cfg      Engagement
	personal map[string]*personalMoment
	seq      int
	// seen keeps the last sightings of a few member copies: a copy is
	// read page after page and then for its reactions, all at one instant.
	seen map[string]*seenCopy
}

// seenCopy is a member copy's sightings and what they were drawn from; it
// answers again only while all of that is unchanged.
type seenCopy struct {
	now      time.Time
	pub      time.Time
	cfg      Engagement
	audience []*Relationship
	out      []sighting
}

// maxSeenCopies bounds the cache; the nightly reads four members at once.
const maxSeenCopies = 16

type personalMoment struct {
	id     string
	member string
	at     time.Time
}

var engagements sync.Map // *Sim → *engagementState

// engagement returns s's state; callers hold s.mu.
func (s *Sim) engagement() *engagementState {
	if e, ok := engagements.Load(s); ok {
		return e.(*engagementState)
	}
	e := &engagementState{cfg: DefaultEngagement, personal: map[string]*personalMoment{}}
	engagements.Store(s, e)
	return e
}

// SetEngagement replaces how members and customers react.
func (s *Sim) SetEngagement(e Engagement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.engagement().cfg = e
}

// PublishPersonalMoment makes member publish a Moment of their own at at
// and returns its moment_id (a brand can register it for tracking).
func (s *Sim) PublishPersonalMoment(member string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.engagement()
	e.seq++
	id := "simpmom" + formatUnix(int64(e.seq))
	e.personal[id] = &personalMoment{id: id, member: member, at: at}
	if err := s.saveState(); err != nil {
		s.log.Error("wecomsim: keep state", "file", s.opts.StateFile, "err", err)
	}
	return id
}

// draw is an FNV-1a 64 hash of the seed and some parts, each part
// followed by a zero byte. A draw continues with more parts (with), so
// draws that share a prefix — a Moment and a member, then each customer of
// the member — hash the prefix once. It allocates nothing: a Moment's
// audience is drawn several times per customer on every call.
type draw uint64

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// draw starts a hash with the seed and parts.
func (s *Sim) draw(parts ...string) draw {
	h := draw(fnvOffset64)
	seed := uint64(s.opts.Seed)
	for i := range 8 {
		h = (h ^ draw(byte(seed>>(8*i)))) * fnvPrime64
	}
	for _, p := range parts {
		h = h.with(p)
	}
	return h
}

// with continues the hash with part and its zero byte.
func (h draw) with(part string) draw {
	for i := 0; i < len(part); i++ {
		h = (h ^ draw(part[i])) * fnvPrime64
	}
	return h * fnvPrime64 // the zero byte: h ^ 0 is h
}

// in maps the hash to [0, n).
func (h draw) in(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	return uint64(h) % n
}

// chance hashes the seed and parts to [0, n).
func (s *Sim) chance(n uint64, parts ...string) uint64 { return s.draw(parts...).in(n) }

func spread(d time.Duration, r uint64) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r) * time.Minute
}

func minutes(d time.Duration) uint64 {
	if d < time.Minute {
		return 1
	}
	return uint64(d / time.Minute)
}

// MomentTruth is what the simulator says about a Moment at its clock's now:
// the figures a correct sync reproduces.
type MomentTruth struct {
	Targeted, Published, Reached, Engaged, Likes, Comments int
}

// moment finds an enterprise or personal Moment; callers hold s.mu.
func (s *Sim) moment(id string) (enterprise *SimMoment, personal *personalMoment) {
	for _, m := range s.posting().moments {
		if m.MomentID == id {
			return m, nil
		}
	}
	return nil, s.engagement().personal[id]
}

// momentMembers are the members asked to publish m.
func (s *Sim) momentMembers(m *SimMoment) []string {
	if len(m.Senders) > 0 {
		out := slices.Clone(m.Senders)
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Clone(s.st.memberOrder)
}

// publishedAt is when member publishes the Moment id created at created.
func (s *Sim) publishedAt(id, member string, created time.Time) (time.Time, bool) {
	cfg := s.engagement().cfg
	if s.chance(100, id, member, "publish") >= uint64(cfg.PublishPercent) {
		return time.Time{}, false
	}
	return created.Add(spread(cfg.PublishWithin, s.chance(minutes(cfg.PublishWithin), id, member, "publish-at"))), true
}

// momentPublish is when member published Moment id, if they have by now.
func (s *Sim) momentPublish(id, member string) (time.Time, bool) {
	ent, per := s.moment(id)
	switch {
	case per != nil:
		if per.member != member || s.now().Before(per.at) {
			return time.Time{}, false
		}
		return per.at, true
	case ent == nil || ent.Canceled || !slices.Contains(s.momentMembers(ent), member):
		return time.Time{}, false
	}
	at, ok := s.publishedAt(id, member, ent.CreateTime)
	if !ok || s.now().Before(at) {
		return time.Time{}, false
	}
	return at, true
}

// sighting is a customer who has seen a member's copy of a Moment: who,
// when, and the draws that decide their reactions.
type sighting struct {
	customer string
	at       time.Time
	draws    draw // the hash of seed, Moment, member and customer
}

// sightings lists who has seen member's copy of Moment id by now, in the
// audience's order, in one pass over the audience. The list is kept for
// the next call at the same instant (the copy's next page, its reactions)
// and given again while the clock, the engagement, the publication and
// the member's audience (the very same relationships) are unchanged; a
// Moment narrowed to tags is drawn afresh each time (tags change in place).
// Callers must not change the list.
func (s *Sim) sightings(id, member string) []sighting {
	pub, ok := s.momentPublish(id, member)
	if !ok {
		return nil
	}
	var tags []string
	if ent, _ := s.moment(id); ent != nil {
		tags = ent.Tags
	}
	e := s.engagement()
	now := s.now()
	audience := s.st.twoWayOf(member)
	key := id + "\x00" + member
	if c := e.seen[key]; c != nil && len(tags) == 0 && c.now.Equal(now) && c.pub.Equal(pub) && c.cfg == e.cfg && slices.Equal(c.audience, audience) {
		return c.out
	}
	within := e.cfg.ReachWithin
	slots := minutes(within)
	base := s.draw(id, member)
	out := make([]sighting, 0, len(audience))
	for _, r := range audience {
		if len(tags) > 0 && !slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(r.TagIDs, t) }) {
			continue
		}
		d := base.with(r.ExternalUserID)
		if at := pub.Add(spread(within, d.with("reach").in(slots))); !now.Before(at) {
			out = append(out, sighting{customer: r.ExternalUserID, at: at, draws: d})
		}
	}
	if len(tags) == 0 {
		if e.seen == nil || len(e.seen) >= maxSeenCopies {
			e.seen = map[string]*seenCopy{}
		}
		e.seen[key] = &seenCopy{now: now, pub: pub, cfg: e.cfg, audience: slices.Clone(audience), out: out}
	}
	return out
}

// reached lists the customers who have seen member's copy by now.
func (s *Sim) reached(id, member string) []string {
	seen := s.sightings(id, member)
	out := make([]string, len(seen))
	for i, v := range seen {
		out[i] = v.customer
	}
	return out
}

// reactions lists the likes and comments on member's copy by now.
func (s *Sim) reactions(id, member string) (likes, comments []wecom.MomentInteraction) {
	cfg := s.engagement().cfg
	react := cfg.ReactWithin
	if react <= 0 {
		react = DefaultReactWithin
	}
	slots := minutes(react)
	now := s.now()
	for _, v := range s.sightings(id, member) {
		if v.draws.with("like").in(100) < uint64(cfg.LikePercent) {
			if at := v.at.Add(spread(react, v.draws.with("like-at").in(slots))); !now.Before(at) {
				likes = append(likes, wecom.MomentInteraction{ExternalUserID: v.customer, CreateTime: at.Unix()})
			}
		}
		if v.draws.with("comment").in(100) < uint64(cfg.CommentPercent) {
			if at := v.at.Add(spread(react, v.draws.with("comment-at").in(slots))); !now.Before(at) {
				comments = append(comments, wecom.MomentInteraction{ExternalUserID: v.customer, CreateTime: at.Unix()})
			}
		}
	}
	return likes, comments
}

// MomentTruth computes a Moment's funnel at the simulator's now.
func (s *Sim) MomentTruth(id string) MomentTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t MomentTruth
	ent, per := s.moment(id)
	var members []string
	switch {
	case ent != nil:
		members = s.momentMembers(ent)
	case per != nil:
		members = []string{per.member}
	}
	t.Targeted = len(members)
	reached, engaged := map[string]bool{}, map[string]bool{}
	for _, m := range members {
		if _, ok := s.momentPublish(id, m); !ok {
			continue
		}
		t.Published++
		for _, c := range s.reached(id, m) {
			reached[c] = true
		}
		likes, comments := s.reactions(id, m)
		t.Likes += len(likes)
		t.Comments += len(comments)
		for _, x := range append(likes, comments...) {
			engaged[x.ExternalUserID] = true
		}
	}
	t.Reached, t.Engaged = len(reached), len(engaged)
	return t
}

func pageLimit(limit, def, maxLimit int) (int, *apiError) {
	switch {
	case limit < 0 || limit > maxLimit:
		return 0, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", maxLimit)
	case limit == 0:
		return def, nil
	}
	return limit, nil
}

func (s *Sim) apiGetMomentTask(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MomentTaskRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	limit, e := pageLimit(req.Limit, 500, wecom.MaxMomentTaskLimit)
	if e != nil {
		return nil, e
	}
	ent, _ := s.moment(req.MomentID)
	if ent == nil {
		// Personal Moments have no task list: enterprise Moments only.
		return nil, fail(41060, "invalid moment id")
	}
	var rows []wecom.MomentPublisher
	for _, m := range s.momentMembers(ent) {
		st := wecom.MomentUnpublished
		if _, ok := s.momentPublish(req.MomentID, m); ok {
			st = wecom.MomentPublished
		}
		rows = append(rows, wecom.MomentPublisher{UserID: m, PublishStatus: st})
	}
	return listPage(rows, req.Cursor, limit, "task_list")
}

func (s *Sim) apiGetMomentSendResult(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MomentSendResultRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	limit, e := pageLimit(req.Limit, 3000, wecom.MaxMomentSendResultLimit)
	if e != nil {
		return nil, e
	}
	if ent, per := s.moment(req.MomentID); ent == nil && per == nil {
		return nil, fail(41060, "invalid moment id")
	}
	if _, ok := s.st.members[req.UserID]; !ok {
		return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", req.UserID)
	}
	off, e := parseCursor(req.Cursor)
	if e != nil {
		return nil, e
	}
	seen, next := pageOf(s.sightings(req.MomentID, req.UserID), off, limit)
	rows := make([]wecom.ExternalRef, len(seen))
	for i, v := range seen {
		rows[i] = wecom.ExternalRef{ExternalUserID: v.customer}
	}
	return map[string]any{"customer_list": rows, "next_cursor": next}, nil
}

func (s *Sim) apiGetMomentComments(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		MomentID string `json:"moment_id"`
		UserID   string `json:"userid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if ent, per := s.moment(req.MomentID); ent == nil && per == nil {
		return nil, fail(41060, "invalid moment id")
	}
	likes, comments := s.reactions(req.MomentID, req.UserID)
	if likes == nil {
		likes = []wecom.MomentInteraction{}
	}
	if comments == nil {
		comments = []wecom.MomentInteraction{}
	}
	return map[string]any{"like_list": likes, "comment_list": comments}, nil
}

func (s *Sim) groupMsg(id string) *SimGroupMsg {
	for _, m := range s.posting().msgs {
		if m.MsgID == id {
			return m
		}
	}
	return nil
}

// groupMsgMembers are the members asked to send m.
func (s *Sim) groupMsgMembers(m *SimGroupMsg) []string {
	t := m.Template
	switch {
	case t.Sender != "":
		return []string{t.Sender}
	case len(t.ExternalUserID) > 0:
		seen := map[string]bool{}
		for _, c := range t.ExternalUserID {
			for _, r := range s.st.relsFor(c) {
				seen[r.UserID] = true
			}
		}
		var out []string
		for _, u := range s.st.memberOrder {
			if seen[u] {
				out = append(out, u)
			}
		}
		return out
	}
	return slices.Clone(s.st.memberOrder)
}

// groupMsgSentAt is when member sent m, if they have by now.
func (s *Sim) groupMsgSentAt(m *SimGroupMsg, member string) (time.Time, bool) {
	if m.Canceled || !slices.Contains(s.groupMsgMembers(m), member) {
		return time.Time{}, false
	}
	at, ok := s.publishedAt(m.MsgID, member, m.CreateTime)
	if !ok || s.now().Before(at) {
		return time.Time{}, false
	}
	return at, true
}

func (s *Sim) apiGetGroupMsgTask(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.GroupMsgTaskRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	limit, e := pageLimit(req.Limit, 500, wecom.MaxGroupMsgTaskLimit)
	if e != nil {
		return nil, e
	}
	m := s.groupMsg(req.MsgID)
	if m == nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid msgid")
	}
	var rows []wecom.GroupMsgTask
	for _, u := range s.groupMsgMembers(m) {
		row := wecom.GroupMsgTask{UserID: u, Status: wecom.GroupMsgUnsent}
		if at, ok := s.groupMsgSentAt(m, u); ok {
			row.Status, row.SendTime = wecom.GroupMsgMemberSent, at.Unix()
		}
		rows = append(rows, row)
	}
	return listPage(rows, req.Cursor, limit, "task_list")
}

func (s *Sim) apiGetGroupMsgSendResult(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.GroupMsgSendResultRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	limit, e := pageLimit(req.Limit, 500, wecom.MaxGroupMsgSendResultLimit)
	if e != nil {
		return nil, e
	}
	m := s.groupMsg(req.MsgID)
	if m == nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid msgid")
	}
	sentAt, sent := s.groupMsgSentAt(m, req.UserID)
	var rows []wecom.GroupMsgSend
	if m.Template.ChatType == wecom.ChatTypeGroup {
		if sent {
			for _, id := range s.st.groupOrder {
				if g := s.st.groups[id]; g.Owner == req.UserID && (len(m.Template.ChatIDList) == 0 || slices.Contains(m.Template.ChatIDList, id)) {
					rows = append(rows, wecom.GroupMsgSend{ChatID: id, UserID: req.UserID, Status: wecom.GroupMsgSent, SendTime: sentAt.Unix()})
				}
			}
		}
	} else {
		cfg := s.engagement().cfg
		for _, r := range s.st.relsOf(req.UserID) {
			if len(m.Template.ExternalUserID) > 0 && !slices.Contains(m.Template.ExternalUserID, r.ExternalUserID) {
				continue
			}
			row := wecom.GroupMsgSend{ExternalUserID: r.ExternalUserID, UserID: req.UserID, Status: wecom.GroupMsgUnsent}
			switch {
			case !sent:
			case r.OneWay:
				row.Status = wecom.GroupMsgNotFriend
			case s.chance(100, m.MsgID, r.ExternalUserID, "cap") < uint64(cfg.CapPercent):
				row.Status = wecom.GroupMsgCapReached
			default:
				row.Status, row.SendTime = wecom.GroupMsgSent, sentAt.Unix()
			}
			rows = append(rows, row)
		}
	}
	return listPage(rows, req.Cursor, limit, "send_list")
}
