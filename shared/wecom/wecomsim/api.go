package wecomsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// API paths the simulator serves.
const (
	PathGetToken          = "/cgi-bin/gettoken"
	PathFollowUserList    = "/cgi-bin/externalcontact/get_follow_user_list"
	PathList              = "/cgi-bin/externalcontact/list"
	PathGet               = "/cgi-bin/externalcontact/get"
	PathBatchGetByUser    = "/cgi-bin/externalcontact/batch/get_by_user"
	PathUserBehaviorData  = "/cgi-bin/externalcontact/get_user_behavior_data"
	PathGroupChatList     = "/cgi-bin/externalcontact/groupchat/list"
	PathGroupChatGet      = "/cgi-bin/externalcontact/groupchat/get"
	PathWebhookSend       = "/cgi-bin/webhook/send"
	followUsersPerGetPage = 500
	maxBody               = 1 << 20
)

// apiError is an errcode answer; WeCom answers errors with HTTP 200.
type apiError struct {
	code int
	msg  string
}

func fail(code int, format string, args ...any) *apiError {
	return &apiError{code, fmt.Sprintf(format, args...)}
}

// handler serves one API under s.mu; body is the request body (POST).
type handler func(s *Sim, r *http.Request, body []byte) (map[string]any, *apiError)

type route struct {
	method string
	h      handler
}

var routes = map[string]route{
	PathFollowUserList:   {http.MethodGet, (*Sim).apiFollowUserList},
	PathList:             {http.MethodGet, (*Sim).apiList},
	PathGet:              {http.MethodGet, (*Sim).apiGet},
	PathBatchGetByUser:   {http.MethodPost, (*Sim).apiBatchGetByUser},
	PathUserBehaviorData: {http.MethodPost, (*Sim).apiUserBehaviorData},
	PathGroupChatList:    {http.MethodPost, (*Sim).apiGroupChatList},
	PathGroupChatGet:     {http.MethodPost, (*Sim).apiGroupChatGet},
}

// Handler serves the API, for mounting on another server.
func (s *Sim) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	path := r.URL.Path
	s.mu.Lock()
	ans, apiErr := s.dispatch(path, r, body)
	if apiErr == nil && keptPaths[path] {
		if err := s.saveState(); err != nil {
			s.log.Error("wecomsim: keep state", "file", s.opts.StateFile, "err", err)
		}
	}
	drop := s.takeDrop(path)
	s.mu.Unlock()
	if drop {
		// The work is done; the caller sees a reset connection (DropAnswers).
		panic(http.ErrAbortHandler)
	}
	if ans == nil && apiErr == nil {
		http.NotFound(w, r)
		return
	}
	if apiErr != nil {
		ans = map[string]any{"errcode": apiErr.code, "errmsg": apiErr.msg}
	} else {
		ans["errcode"] = 0
		ans["errmsg"] = "ok"
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(ans)
}

// dispatch runs under s.mu. Both results nil means no such path.
func (s *Sim) dispatch(path string, r *http.Request, body []byte) (map[string]any, *apiError) {
	rt, isAPI := routes[path]
	if !isAPI && path != PathGetToken && path != PathWebhookSend {
		return nil, nil
	}
	s.calls[path]++
	if e := s.takeInjection(path); e != nil {
		return nil, e
	}
	switch path {
	case PathGetToken:
		if e := s.limit(path, s.rateLimit(path)); e != nil {
			return nil, e
		}
		return s.apiGetToken(r)
	case PathWebhookSend:
		return s.apiWebhookSend(r, body)
	}
	if e := s.checkToken(r); e != nil {
		return nil, e
	}
	if r.Method != rt.method {
		return nil, fail(wecom.CodeInvalidParameter, "invalid Request Parameter, %s expected", rt.method)
	}
	if e := s.limit(path, s.rateLimit(path)); e != nil {
		return nil, e
	}
	return rt.h(s, r, body)
}

func (s *Sim) takeInjection(path string) *apiError {
	q := s.injections[path]
	if len(q) == 0 {
		return nil
	}
	in := &q[0]
	in.times--
	code := in.code
	if in.times <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.injections, path)
	} else {
		s.injections[path] = q
	}
	return fail(code, "injected error %d", code)
}

func (s *Sim) rateLimit(path string) int {
	if n, ok := s.opts.RateLimits[path]; ok {
		return n
	}
	return s.opts.RateLimit
}

// limit counts a call in the current clock minute of key.
func (s *Sim) limit(key string, perMinute int) *apiError {
	minute := s.now().Unix() / 60
	w := s.windows[key]
	if w.minute != minute {
		w = window{minute: minute}
	}
	w.n++
	s.windows[key] = w
	if w.n > perMinute {
		return fail(wecom.CodeRateLimited, "api freq out of limit")
	}
	return nil
}

func (s *Sim) apiGetToken(r *http.Request) (map[string]any, *apiError) {
	q := r.URL.Query()
	switch {
	case q.Get("corpid") != s.opts.CorpID:
		return nil, fail(40013, "invalid corpid")
	case q.Get("corpsecret") != s.opts.Secret:
		return nil, fail(wecom.CodeInvalidSecret, "invalid credential")
	}
	// "有效期内重复获取返回相同结果，过期后获取会返回新的access_token": within
	// its life the same token comes back, renewed for another TokenTTL.
	now := s.now()
	if exp, ok := s.tokens[s.current]; !ok || !now.Before(exp) {
		s.current = fmt.Sprintf("simtok_%016x%016x%016x", s.noise.Uint64(), s.noise.Uint64(), s.noise.Uint64())
	}
	s.tokens[s.current] = now.Add(TokenTTL)
	return map[string]any{"access_token": s.current, "expires_in": int64(TokenTTL / time.Second)}, nil
}

func (s *Sim) checkToken(r *http.Request) *apiError {
	q := r.URL.Query()
	if !q.Has("access_token") || q.Get("access_token") == "" {
		return fail(wecom.CodeMissingToken, "access_token missing")
	}
	exp, ok := s.tokens[q.Get("access_token")]
	switch {
	case !ok:
		return fail(wecom.CodeInvalidToken, "invalid access_token")
	case !s.now().Before(exp):
		return fail(wecom.CodeTokenExpired, "access_token expired")
	}
	return nil
}

func (s *Sim) apiFollowUserList(*http.Request, []byte) (map[string]any, *apiError) {
	return map[string]any{"follow_user": slices.Clone(s.st.memberOrder)}, nil
}

func (s *Sim) apiList(r *http.Request, _ []byte) (map[string]any, *apiError) {
	member := r.URL.Query().Get("userid")
	if _, ok := s.st.members[member]; !ok {
		return nil, fail(wecom.CodeInvalidUserID, "invalid userid")
	}
	rels := s.st.relsOf(member)
	if len(rels) == 0 {
		return nil, fail(wecom.CodeNoRelationship, "not external contact")
	}
	ids := make([]string, len(rels))
	for i, rel := range rels {
		ids[i] = rel.ExternalUserID
	}
	return map[string]any{"external_userid": ids}, nil
}

func (s *Sim) contact(id string) wecom.ExternalContact {
	c := s.st.customers[id]
	return wecom.ExternalContact{
		ExternalUserID: c.ExternalUserID, Name: c.Name, Type: c.Type, Gender: c.Gender, UnionID: c.UnionID,
		Avatar: "http://wx.qlogo.cn/mmhead/sim/" + c.ExternalUserID + "/0",
	}
}

func (s *Sim) apiGet(r *http.Request, _ []byte) (map[string]any, *apiError) {
	q := r.URL.Query()
	id := q.Get("external_userid")
	if _, ok := s.st.customers[id]; !ok {
		return nil, fail(wecom.CodeInvalidExternalID, "invalid external userid")
	}
	rels := s.st.relsFor(id)
	if len(rels) == 0 {
		return nil, fail(wecom.CodeNoRelationship, "not external contact")
	}
	off, e := parseCursor(q.Get("cursor"))
	if e != nil {
		return nil, e
	}
	page, next := pageOf(rels, off, followUsersPerGetPage)
	fus := make([]wecom.FollowUser, len(page))
	for i, rel := range page {
		fus[i] = wecom.FollowUser{
			UserID: rel.UserID, Remark: rel.Remark, CreateTime: rel.CreateTime.Unix(),
			OperUserID: rel.ExternalUserID, AddWay: rel.AddWay, State: rel.State, Tags: s.followTags(rel),
		}
	}
	return map[string]any{"external_contact": s.contact(id), "follow_user": fus, "next_cursor": next}, nil
}

func (s *Sim) apiBatchGetByUser(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		UserIDList []string `json:"userid_list"`
		Cursor     string   `json:"cursor"`
		Limit      int      `json:"limit"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	switch {
	case len(req.UserIDList) == 0 || len(req.UserIDList) > wecom.MaxBatchUsers:
		return nil, fail(wecom.CodeInvalidParameter, "userid_list size must be 1..%d", wecom.MaxBatchUsers)
	case req.Limit < 0 || req.Limit > wecom.MaxBatchLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxBatchLimit)
	case req.Limit == 0:
		req.Limit = wecom.DefaultBatchLimit
	}
	lists := make([][]*Relationship, len(req.UserIDList))
	for i, id := range req.UserIDList {
		if _, ok := s.st.members[id]; !ok {
			return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", id)
		}
		lists[i] = s.st.relsOf(id)
	}
	off, e := parseCursor(req.Cursor)
	if e != nil {
		return nil, e
	}
	page, next := pageOfLists(lists, off, req.Limit)
	out := make([]wecom.FollowedContact, len(page))
	for i, rel := range page {
		out[i] = wecom.FollowedContact{
			ExternalContact: s.contact(rel.ExternalUserID),
			FollowInfo: wecom.FollowInfo{
				UserID: rel.UserID, Remark: rel.Remark, CreateTime: rel.CreateTime.Unix(), TagIDs: rel.TagIDs,
				OperUserID: rel.ExternalUserID, AddWay: rel.AddWay, State: rel.State,
			},
		}
	}
	return map[string]any{"external_contact_list": out, "next_cursor": next}, nil
}

func (s *Sim) apiUserBehaviorData(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		UserID    []string `json:"userid"`
		PartyID   []int    `json:"partyid"`
		StartTime int64    `json:"start_time"`
		EndTime   int64    `json:"end_time"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	switch {
	case len(req.UserID) == 0 && len(req.PartyID) == 0:
		return nil, fail(wecom.CodeInvalidParameter, "userid and partyid both empty")
	case len(req.UserID) > 100 || len(req.PartyID) > 100:
		return nil, fail(wecom.CodeInvalidParameter, "userid or partyid over 100")
	}
	start, end := time.Unix(req.StartTime, 0), time.Unix(req.EndTime, 0)
	if err := wecom.ValidateBehaviorWindow(start, end, s.now()); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid time range: %v", err)
	}
	who := map[string]bool{}
	for _, id := range req.UserID {
		if _, ok := s.st.members[id]; !ok {
			return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", id)
		}
		who[id] = true
	}
	for _, m := range s.st.members {
		for _, d := range m.Departments {
			if slices.Contains(req.PartyID, d) {
				who[m.UserID] = true
			}
		}
	}
	return map[string]any{"behavior_data": s.behavior(who, wecom.BeijingDay(start), wecom.BeijingDay(end))}, nil
}

// behavior derives daily figures from the event history: adds give
// new_contact_cnt, customer deletions negative_feedback_cnt; chats are a
// stable pseudo-random function of member, day and seed.
func (s *Sim) behavior(who map[string]bool, first, last time.Time) []wecom.BehaviorData {
	type counts struct{ add, neg int }
	per := map[string]map[int64]*counts{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		for _, h := range s.st.history[d.Unix()] {
			if !who[h.member] {
				continue
			}
			if per[h.member] == nil {
				per[h.member] = map[int64]*counts{}
			}
			c := per[h.member][d.Unix()]
			if c == nil {
				c = &counts{}
				per[h.member][d.Unix()] = c
			}
			switch h.kind {
			case histAdd:
				c.add++
			case histNegative:
				c.neg++
			}
		}
	}
	members := make([]string, 0, len(who))
	for m := range who {
		members = append(members, m)
	}
	slices.Sort(members)
	var out []wecom.BehaviorData
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		row := wecom.BehaviorData{StatTime: day.Unix()}
		var replySum float64
		var replyTime, withChats int
		for _, m := range members {
			var c counts
			if p := per[m][day.Unix()]; p != nil {
				c = *p
			}
			h := s.hash(m, day.Unix())
			chats := 0
			if c.add > 0 || h%3 != 0 {
				chats = c.add + int(h%6)
			}
			row.NewContactCnt += c.add
			row.NewApplyCnt += c.add + int(h>>8%2)
			row.NegativeFeedbackCnt += c.neg
			row.ChatCnt += chats
			row.MessageCnt += chats*3 + int(h>>16%5)
			if chats > 0 {
				withChats++
				replySum += 55 + float64(h>>24%4500)/100
				replyTime += 1 + int(h>>40%30)
			}
		}
		if withChats > 0 {
			row.ReplyPercentage = float64(int(replySum/float64(withChats)*100)) / 100
			row.AvgReplyTime = replyTime / withChats
		}
		out = append(out, row)
	}
	return out
}

func (s *Sim) hash(member string, day int64) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d", s.opts.Seed, member, day)
	return h.Sum64()
}

func (s *Sim) apiGroupChatList(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		StatusFilter int `json:"status_filter"`
		OwnerFilter  struct {
			UserIDList []string `json:"userid_list"`
		} `json:"owner_filter"`
		Cursor string `json:"cursor"`
		Limit  int    `json:"limit"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	owners := req.OwnerFilter.UserIDList
	switch {
	case req.Limit < 1 || req.Limit > wecom.MaxGroupListLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxGroupListLimit)
	case len(owners) > wecom.MaxOwnerFilter:
		return nil, fail(wecom.CodeInvalidParameter, "owner_filter.userid_list over %d", wecom.MaxOwnerFilter)
	case len(owners) == 0 && len(s.st.members) > 1000:
		return nil, fail(wecom.CodeTooManyRequested, "owner_filter required over 1000 members")
	}
	var refs []wecom.GroupChatRef
	if req.StatusFilter == wecom.GroupStatusNormal {
		for _, id := range s.st.groupOrder {
			if len(owners) == 0 || slices.Contains(owners, s.st.groups[id].Owner) {
				refs = append(refs, wecom.GroupChatRef{ChatID: id, Status: wecom.GroupStatusNormal})
			}
		}
	}
	return listPage(refs, req.Cursor, req.Limit, "group_chat_list")
}

func (s *Sim) apiGroupChatGet(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		ChatID   string `json:"chat_id"`
		NeedName int    `json:"need_name"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	g, ok := s.st.groups[req.ChatID]
	if !ok {
		return nil, fail(40050, "chatid not found")
	}
	members := slices.Clone(g.Members)
	for i := range members {
		if req.NeedName != 1 {
			members[i].Name = ""
			continue
		}
		if c, ok := s.st.customers[members[i].UserID]; ok {
			members[i].Name = c.Name
		} else if m, ok := s.st.members[members[i].UserID]; ok {
			members[i].Name = m.Name
		}
	}
	return map[string]any{"group_chat": wecom.GroupChat{
		ChatID: g.ChatID, Name: g.Name, Owner: g.Owner, CreateTime: g.CreateTime.Unix(), Notice: g.Notice,
		Members: members, Admins: []wecom.GroupAdmin{}, MemberVersion: g.MemberVersion,
	}}, nil
}

func (s *Sim) apiWebhookSend(r *http.Request, body []byte) (map[string]any, *apiError) {
	key := r.URL.Query().Get("key")
	if key == "" || (len(s.opts.RobotKeys) > 0 && !slices.Contains(s.opts.RobotKeys, key)) {
		return nil, fail(wecom.CodeBadWebhook, "invalid webhook url")
	}
	if r.Method != http.MethodPost {
		return nil, fail(wecom.CodeInvalidParameter, "POST expected")
	}
	var req struct {
		MsgType  string                   `json:"msgtype"`
		Text     struct{ Content string } `json:"text"`
		Markdown struct{ Content string } `json:"markdown"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	var content string
	switch req.MsgType {
	case "markdown":
		content = req.Markdown.Content
		if len(content) > wecom.MaxRobotMarkdownBytes {
			return nil, fail(wecom.CodeInvalidParameter, "markdown.content exceed max length %d", wecom.MaxRobotMarkdownBytes)
		}
	case "text":
		content = req.Text.Content
		if len(content) > 2048 {
			return nil, fail(wecom.CodeInvalidParameter, "text.content exceed max length 2048")
		}
	default:
		return nil, fail(wecom.CodeInvalidParameter, "invalid message type %q", req.MsgType)
	}
	if content == "" || !utf8.ValidString(content) {
		return nil, fail(wecom.CodeInvalidParameter, "empty or invalid content")
	}
	if e := s.limit("robot#"+key, wecom.RobotPerMinute); e != nil {
		return nil, e
	}
	s.robot = append(s.robot, RobotMessage{Key: key, MsgType: req.MsgType, Content: content, At: s.now()})
	return map[string]any{}, nil
}

// Cursors are opaque to clients: an offset, encoded.
func parseCursor(c string) (int, *apiError) {
	if c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(raw), "off:") {
		if n, err := strconv.Atoi(string(raw[4:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, fail(wecom.CodeInvalidParameter, "invalid cursor")
}

func pageOf[T any](all []T, off, limit int) ([]T, string) {
	if off >= len(all) {
		return nil, ""
	}
	end := min(off+limit, len(all))
	next := ""
	if end < len(all) {
		next = base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(end)))
	}
	return all[off:end], next
}

// pageOfLists is pageOf over the lists one after another, without joining
// them: a page costs its own size plus one step per list, so walking every
// page of a large brand stays linear.
func pageOfLists[T any](lists [][]T, off, limit int) ([]T, string) {
	var page []T
	pos, total := 0, 0
	for _, l := range lists {
		total += len(l)
		if len(page) == limit || pos+len(l) <= off {
			pos += len(l)
			continue
		}
		from := max(off-pos, 0)
		take := min(len(l)-from, limit-len(page))
		page = append(page, l[from:from+take]...)
		pos += len(l)
	}
	next := ""
	if end := off + len(page); end < total {
		next = base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(end)))
	}
	return page, next
}

// listPage answers one cursor page of rows under key, with next_cursor, as
// WeCom's list APIs do (an empty list, never null).
func listPage[T any](rows []T, cursor string, limit int, key string) (map[string]any, *apiError) {
	off, e := parseCursor(cursor)
	if e != nil {
		return nil, e
	}
	page, next := pageOf(rows, off, limit)
	if page == nil {
		page = []T{}
	}
	return map[string]any{key: page, "next_cursor": next}, nil
}
