package wecomsim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Enterprise tag paths.
const (
	PathGetCorpTagList = "/cgi-bin/externalcontact/get_corp_tag_list"
	PathAddCorpTag     = "/cgi-bin/externalcontact/add_corp_tag"
	PathEditCorpTag    = "/cgi-bin/externalcontact/edit_corp_tag"
	PathDelCorpTag     = "/cgi-bin/externalcontact/del_corp_tag"
	PathMarkTag        = "/cgi-bin/externalcontact/mark_tag"
)

func init() {
	routes[PathGetCorpTagList] = route{http.MethodPost, (*Sim).apiGetCorpTagList}
	routes[PathAddCorpTag] = route{http.MethodPost, (*Sim).apiAddCorpTag}
	routes[PathEditCorpTag] = route{http.MethodPost, (*Sim).apiEditCorpTag}
	routes[PathDelCorpTag] = route{http.MethodPost, (*Sim).apiDelCorpTag}
	routes[PathMarkTag] = route{http.MethodPost, (*Sim).apiMarkTag}
}

// DefaultTagGroup names the group AddTags and PutRelationship file tags
// under when the library does not know them yet.
const DefaultTagGroup = "Default"

type tagGroup struct {
	id, name string
	created  time.Time
	order    int64
	deleted  bool
	tags     []string // ids, creation order
}

type corpTag struct {
	id, name, group string
	created         time.Time
	order           int64
	deleted         bool
}

// AddTags declares enterprise tags by id (in DefaultTagGroup, named after
// their id) so tests can use ids they chose; known ids are left alone.
func (s *Sim) AddTags(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.declareTags(ids)
}

// declareTags puts unknown ids into the library; callers hold s.mu.
func (s *Sim) declareTags(ids []string) {
	t := s.touch()
	for _, id := range ids {
		if _, ok := t.tags[id]; ok {
			continue
		}
		g := t.groupNamed(DefaultTagGroup)
		if g == nil {
			g = t.newGroup(t.nextID("etgsim"), DefaultTagGroup, 0, s.now())
		}
		t.tags[id] = &corpTag{id: id, name: id, group: g.id, created: s.now()}
		g.tags = append(g.tags, id)
	}
}

// tagKnown reports whether id is a live enterprise tag; callers hold s.mu.
func (s *Sim) tagKnown(id string) bool {
	tag, ok := s.touch().tags[id]
	return ok && !tag.deleted
}

func (t *touchState) groupNamed(name string) *tagGroup {
	for _, id := range t.groupOrd {
		if g := t.groups[id]; !g.deleted && g.name == name {
			return g
		}
	}
	return nil
}

func (t *touchState) newGroup(id, name string, order int64, at time.Time) *tagGroup {
	g := &tagGroup{id: id, name: name, order: order, created: at}
	t.groups[id] = g
	t.groupOrd = append(t.groupOrd, id)
	return g
}

// liveTags are a group's tags not deleted.
func (t *touchState) liveTags(g *tagGroup) []*corpTag {
	var out []*corpTag
	for _, id := range g.tags {
		if tag := t.tags[id]; !tag.deleted {
			out = append(out, tag)
		}
	}
	return out
}

// wire renders a group with tags, larger order first as WeCom sorts.
func wireGroup(g *tagGroup, tags []*corpTag, flagDeleted bool) wecom.CorpTagGroup {
	tags = slices.Clone(tags)
	slices.SortStableFunc(tags, func(a, b *corpTag) int { return cmp.Compare(b.order, a.order) })
	out := wecom.CorpTagGroup{GroupID: g.id, GroupName: g.name, CreateTime: g.created.Unix(), Order: g.order, Tags: []wecom.CorpTag{}}
	if flagDeleted {
		out.Deleted = g.deleted
	}
	for _, tag := range tags {
		wt := wecom.CorpTag{ID: tag.id, Name: tag.name, CreateTime: tag.created.Unix(), Order: tag.order}
		if flagDeleted {
			wt.Deleted = tag.deleted
		}
		out.Tags = append(out.Tags, wt)
	}
	return out
}

// tagIDs is the body of get_corp_tag_list and del_corp_tag.
type tagIDs struct {
	TagID   []string `json:"tag_id"`
	GroupID []string `json:"group_id"`
}

func (s *Sim) apiGetCorpTagList(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req tagIDs
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
		}
	}
	t := s.touch()
	byID := len(req.TagID) > 0 || len(req.GroupID) > 0
	picked := map[string][]*corpTag{} // group id → tags asked for
	var order []string
	pick := func(g *tagGroup, tags []*corpTag) {
		if _, ok := picked[g.id]; !ok {
			order = append(order, g.id)
		}
		for _, tag := range tags {
			if !slices.Contains(picked[g.id], tag) {
				picked[g.id] = append(picked[g.id], tag)
			}
		}
	}
	if !byID {
		for _, id := range t.groupOrd {
			if g := t.groups[id]; !g.deleted {
				pick(g, t.liveTags(g))
			}
		}
	}
	// Asked by id, deleted tags and groups are answered with deleted=true.
	for _, id := range req.GroupID {
		g, ok := t.groups[id]
		if !ok {
			return nil, fail(wecom.CodeInvalidTagID, "invalid group_id %s", id)
		}
		var all []*corpTag
		for _, tid := range g.tags {
			all = append(all, t.tags[tid])
		}
		pick(g, all)
	}
	for _, id := range req.TagID {
		tag, ok := t.tags[id]
		if !ok {
			return nil, fail(wecom.CodeInvalidTagID, "invalid tag_id %s", id)
		}
		pick(t.groups[tag.group], []*corpTag{tag})
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(t.groups[b].order, t.groups[a].order) })
	out := make([]wecom.CorpTagGroup, 0, len(order))
	for _, id := range order {
		out = append(out, wireGroup(t.groups[id], picked[id], byID))
	}
	return map[string]any{"tag_group": out}, nil
}

// checkTagName answers 40072 for an empty name or one over 30 characters.
func checkTagName(name string) *apiError {
	if name == "" || utf8.RuneCountInString(name) > wecom.MaxTagNameChars {
		return fail(wecom.CodeInvalidTagName, "invalid tag name length, 1..%d characters", wecom.MaxTagNameChars)
	}
	return nil
}

func (s *Sim) apiAddCorpTag(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.CorpTagAdd
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if len(req.Tags) == 0 {
		return nil, fail(wecom.CodeInvalidParameter, "tag is empty: no empty tag group")
	}
	t := s.touch()
	var g *tagGroup
	switch {
	case req.GroupID != "":
		// group_name and order are ignored when group_id is set.
		if g = t.groups[req.GroupID]; g == nil || g.deleted {
			return nil, fail(wecom.CodeInvalidTagID, "invalid group_id %s", req.GroupID)
		}
	default:
		if e := checkTagName(req.GroupName); e != nil {
			return nil, e
		}
		g = t.groupNamed(req.GroupName)
	}
	seen := map[string]bool{}
	if g != nil {
		for _, tag := range t.liveTags(g) {
			seen[tag.name] = true
		}
	}
	for _, nt := range req.Tags {
		if e := checkTagName(nt.Name); e != nil {
			return nil, e
		}
		if seen[nt.Name] {
			return nil, fail(wecom.CodeDuplicateTagName, "tag name %s exists in the group", nt.Name)
		}
		seen[nt.Name] = true
	}
	now := s.now()
	if g == nil {
		g = t.newGroup(t.nextID("etgsim"), req.GroupName, req.Order, now)
	}
	var created []*corpTag
	for _, nt := range req.Tags {
		tag := &corpTag{id: t.nextID("etsim"), name: nt.Name, group: g.id, created: now, order: nt.Order}
		t.tags[tag.id] = tag
		g.tags = append(g.tags, tag.id)
		created = append(created, tag)
	}
	return map[string]any{"tag_group": wireGroup(g, created, false)}, nil
}

func (s *Sim) apiEditCorpTag(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.CorpTagEdit
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	t := s.touch()
	if req.Name != "" {
		if e := checkTagName(req.Name); e != nil {
			return nil, e
		}
	}
	if g, ok := t.groups[req.ID]; ok && !g.deleted {
		if req.Name != "" && req.Name != g.name && t.groupNamed(req.Name) != nil {
			return nil, fail(wecom.CodeDuplicateTagName, "tag group name %s exists", req.Name)
		}
		if req.Name != "" {
			g.name = req.Name
		}
		if req.Order != 0 {
			g.order = req.Order
		}
		return map[string]any{}, nil
	}
	tag, ok := t.tags[req.ID]
	if !ok || tag.deleted {
		return nil, fail(wecom.CodeInvalidTagID, "invalid id %s", req.ID)
	}
	if req.Name != "" && req.Name != tag.name {
		for _, other := range t.liveTags(t.groups[tag.group]) {
			if other.name == req.Name {
				return nil, fail(wecom.CodeDuplicateTagName, "tag name %s exists in the group", req.Name)
			}
		}
		tag.name = req.Name
	}
	if req.Order != 0 {
		tag.order = req.Order
	}
	return map[string]any{}, nil
}

func (s *Sim) apiDelCorpTag(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req tagIDs
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if len(req.TagID) == 0 && len(req.GroupID) == 0 {
		return nil, fail(wecom.CodeInvalidParameter, "tag_id and group_id are both empty")
	}
	t := s.touch()
	// Check everything first: a bad id deletes nothing.
	for _, id := range req.GroupID {
		if g, ok := t.groups[id]; !ok || g.deleted {
			return nil, fail(wecom.CodeInvalidTagID, "invalid group_id %s", id)
		}
	}
	for _, id := range req.TagID {
		if tag, ok := t.tags[id]; !ok || tag.deleted {
			return nil, fail(wecom.CodeInvalidTagID, "invalid tag_id %s", id)
		}
	}
	gone := map[string]bool{}
	for _, id := range req.GroupID {
		t.groups[id].deleted = true
		for _, tag := range t.liveTags(t.groups[id]) {
			tag.deleted, gone[tag.id] = true, true
		}
	}
	for _, id := range req.TagID {
		tag := t.tags[id]
		tag.deleted, gone[id] = true, true
		// A group whose last tag goes is deleted with it.
		if g := t.groups[tag.group]; len(t.liveTags(g)) == 0 {
			g.deleted = true
		}
	}
	for _, r := range s.st.rels {
		r.TagIDs = slices.DeleteFunc(r.TagIDs, func(id string) bool { return gone[id] })
	}
	return map[string]any{}, nil
}

func (s *Sim) apiMarkTag(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MarkTagRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if _, ok := s.st.members[req.UserID]; !ok {
		return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", req.UserID)
	}
	if _, ok := s.st.customers[req.ExternalUserID]; !ok {
		return nil, fail(wecom.CodeInvalidExternalID, "invalid external userid")
	}
	r, ok := s.st.rels[relKey{req.UserID, req.ExternalUserID}]
	if !ok {
		return nil, fail(wecom.CodeNoRelationship, "not external contact")
	}
	if len(req.AddTag) == 0 && len(req.RemoveTag) == 0 {
		return nil, fail(wecom.CodeInvalidParameter, "add_tag and remove_tag are both empty")
	}
	for _, id := range slices.Concat(req.AddTag, req.RemoveTag) {
		if !s.tagKnown(id) {
			return nil, fail(wecom.CodeInvalidTagID, "invalid tagid %s", id)
		}
	}
	for _, id := range req.AddTag {
		if !slices.Contains(r.TagIDs, id) {
			r.TagIDs = append(r.TagIDs, id)
		}
	}
	r.TagIDs = slices.DeleteFunc(r.TagIDs, func(id string) bool { return slices.Contains(req.RemoveTag, id) })
	return map[string]any{}, nil
}

// followTags renders a relationship's tags as externalcontact/get does.
func (s *Sim) followTags(r *Relationship) []wecom.FollowTag {
	t := s.touch()
	var out []wecom.FollowTag
	for _, id := range r.TagIDs {
		tag, ok := t.tags[id]
		if !ok || tag.deleted {
			continue
		}
		out = append(out, wecom.FollowTag{GroupName: t.groups[tag.group].name, TagName: tag.name, TagID: id, Type: 1})
	}
	return out
}
