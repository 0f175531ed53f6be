package wecomsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Channel paths: 「联系我」 contact ways and 获客助手 acquisition links.
const (
	PathAddContactWay    = "/cgi-bin/externalcontact/add_contact_way"
	PathGetContactWay    = "/cgi-bin/externalcontact/get_contact_way"
	PathListContactWay   = "/cgi-bin/externalcontact/list_contact_way"
	PathUpdateContactWay = "/cgi-bin/externalcontact/update_contact_way"
	PathDelContactWay    = "/cgi-bin/externalcontact/del_contact_way"
	PathCreateLink       = "/cgi-bin/externalcontact/customer_acquisition/create_link"
	PathUpdateLink       = "/cgi-bin/externalcontact/customer_acquisition/update_link"
	PathDeleteLink       = "/cgi-bin/externalcontact/customer_acquisition/delete_link"
	PathListLink         = "/cgi-bin/externalcontact/customer_acquisition/list_link"
	PathGetLink          = "/cgi-bin/externalcontact/customer_acquisition/get"
)

func init() {
	routes[PathAddContactWay] = route{http.MethodPost, (*Sim).apiAddContactWay}
	routes[PathGetContactWay] = route{http.MethodPost, (*Sim).apiGetContactWay}
	routes[PathListContactWay] = route{http.MethodPost, (*Sim).apiListContactWay}
	routes[PathUpdateContactWay] = route{http.MethodPost, (*Sim).apiUpdateContactWay}
	routes[PathDelContactWay] = route{http.MethodPost, (*Sim).apiDelContactWay}
	routes[PathCreateLink] = route{http.MethodPost, (*Sim).apiCreateLink}
	routes[PathUpdateLink] = route{http.MethodPost, (*Sim).apiUpdateLink}
	routes[PathDeleteLink] = route{http.MethodPost, (*Sim).apiDeleteLink}
	routes[PathListLink] = route{http.MethodPost, (*Sim).apiListLink}
	routes[PathGetLink] = route{http.MethodPost, (*Sim).apiGetLink}
}

type contactWay struct {
	way     wecom.ContactWay
	created time.Time
}

type acquisitionLink struct {
	link wecom.AcquisitionLink
	rng  wecom.AcquisitionRange
}

// Error codes WeCom documents for contact ways (global error code page).
// Where it names none (state or remark too long, a single way with other
// than one user, a multi way with nobody), the sim answers 40058, the
// generic 不合法的参数 for lengths and counts: an assumption.
const (
	codeMissingWayType = 41037
	codeMissingScene   = 41038
	codeInvalidWayType = 41039
	codeInvalidScene   = 41040
	codeInvalidParty   = 40066
)

// expandUsers checks users and departments and returns everyone they
// name, in order, once each.
func (s *Sim) expandUsers(users []string, parties []int) ([]string, *apiError) {
	var out []string
	for _, u := range users {
		if _, ok := s.st.members[u]; !ok {
			return nil, fail(wecom.CodeInvalidUserID, "invalid userid %s", u)
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, p := range parties {
		found := false
		for _, id := range s.st.memberOrder {
			if slices.Contains(s.st.members[id].Departments, p) {
				found = true
				if !slices.Contains(out, id) {
					out = append(out, id)
				}
			}
		}
		if !found {
			return nil, fail(codeInvalidParty, "invalid party %d", p)
		}
	}
	return out, nil
}

// checkWay validates a contact way as add_contact_way and
// update_contact_way do.
func (s *Sim) checkWay(w wecom.ContactWay) *apiError {
	switch {
	case w.Type == 0:
		return fail(codeMissingWayType, "missing contact way type")
	case w.Type != wecom.ContactWaySingle && w.Type != wecom.ContactWayMulti:
		return fail(codeInvalidWayType, "invalid contact way type")
	case w.Scene == 0:
		return fail(codeMissingScene, "missing contact way scene")
	case w.Scene != wecom.ContactWaySceneMiniProgram && w.Scene != wecom.ContactWaySceneQRCode:
		return fail(codeInvalidScene, "invalid contact way scene")
	case utf8.RuneCountInString(w.State) > wecom.MaxContactWayStateChars:
		return fail(wecom.CodeInvalidParameter, "state exceed max length %d", wecom.MaxContactWayStateChars)
	case utf8.RuneCountInString(w.Remark) > wecom.MaxContactWayRemarkChars:
		return fail(wecom.CodeInvalidParameter, "remark exceed max length %d", wecom.MaxContactWayRemarkChars)
	case w.Type == wecom.ContactWaySingle && len(w.User) != 1:
		return fail(wecom.CodeInvalidParameter, "contact way type 1 takes exactly one user")
	case w.Type == wecom.ContactWayMulti && len(w.User) == 0 && len(w.Party) == 0:
		return fail(wecom.CodeInvalidParameter, "user and party are both empty")
	}
	parties := w.Party
	if w.Type == wecom.ContactWaySingle {
		parties = nil // party only counts for type 2
	}
	users, e := s.expandUsers(w.User, parties)
	if e != nil {
		return e
	}
	if len(users) > wecom.MaxContactWayUsers {
		return fail(wecom.CodeContactWayTooManyUsers, "contact way user count exceed %d", wecom.MaxContactWayUsers)
	}
	return nil
}

func (s *Sim) apiAddContactWay(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var w wecom.ContactWay
	// skip_verify defaults to true when absent.
	w.SkipVerify = true
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if e := s.checkWay(w); e != nil {
		return nil, e
	}
	t := s.touch()
	t.seq++
	w.ConfigID = fmt.Sprintf("%032x", t.seq)
	w.QRCode = ""
	if w.Scene == wecom.ContactWaySceneQRCode {
		w.QRCode = "http://p.qpic.cn/wwhead/sim/" + w.ConfigID + "/0"
	}
	if w.Type == wecom.ContactWaySingle {
		w.Party = nil
	}
	t.ways[w.ConfigID] = &contactWay{way: w, created: s.now()}
	t.wayOrder = append(t.wayOrder, w.ConfigID)
	ans := map[string]any{"config_id": w.ConfigID}
	if w.QRCode != "" {
		ans["qr_code"] = w.QRCode
	}
	return ans, nil
}

// way finds the contact way a request names by config_id.
func (s *Sim) way(body []byte) (*contactWay, *apiError) {
	var req struct {
		ConfigID string `json:"config_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if req.ConfigID == "" {
		return nil, fail(wecom.CodeMissingConfigID, "missing config_id")
	}
	w, ok := s.touch().ways[req.ConfigID]
	if !ok {
		return nil, fail(wecom.CodeInvalidConfigID, "invalid config_id")
	}
	return w, nil
}

func (s *Sim) apiGetContactWay(_ *http.Request, body []byte) (map[string]any, *apiError) {
	w, e := s.way(body)
	if e != nil {
		return nil, e
	}
	return map[string]any{"contact_way": w.way}, nil
}

func (s *Sim) apiListContactWay(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.ContactWayListRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	now := s.now()
	switch {
	case req.Limit < 0 || req.Limit > wecom.MaxContactWayListLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxContactWayListLimit)
	case req.Limit == 0:
		req.Limit = wecom.DefaultContactWayListLimit
	}
	if req.StartTime == 0 {
		req.StartTime = now.AddDate(0, 0, -90).Unix()
	}
	if req.EndTime == 0 {
		req.EndTime = now.Unix()
	}
	type row struct {
		ConfigID string `json:"config_id"`
	}
	var rows []row
	t := s.touch()
	for _, id := range t.wayOrder {
		if at := t.ways[id].created.Unix(); at >= req.StartTime && at <= req.EndTime {
			rows = append(rows, row{id})
		}
	}
	return listPage(rows, req.Cursor, req.Limit, "contact_way")
}

func (s *Sim) apiUpdateContactWay(_ *http.Request, body []byte) (map[string]any, *apiError) {
	w, e := s.way(body)
	if e != nil {
		return nil, e
	}
	var u wecom.ContactWayUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	next := w.way
	if u.Style != 0 {
		next.Style = u.Style
	}
	if u.Remark != "" {
		next.Remark = u.Remark
	}
	if u.SkipVerify != nil {
		next.SkipVerify = *u.SkipVerify
	}
	if u.State != "" {
		next.State = u.State
	}
	if u.User != nil {
		next.User = u.User
	}
	if u.Party != nil && next.Type == wecom.ContactWayMulti {
		next.Party = u.Party
	}
	if e := s.checkWay(next); e != nil {
		return nil, e
	}
	w.way = next
	return map[string]any{}, nil
}

func (s *Sim) apiDelContactWay(_ *http.Request, body []byte) (map[string]any, *apiError) {
	w, e := s.way(body)
	if e != nil {
		return nil, e
	}
	t := s.touch()
	delete(t.ways, w.way.ConfigID)
	t.wayOrder = slices.DeleteFunc(t.wayOrder, func(id string) bool { return id == w.way.ConfigID })
	return map[string]any{}, nil
}

// checkLink validates a link's name and range. WeCom's codes for a bad
// name or range are not documented: 40058 (不合法的参数) is assumed.
func (s *Sim) checkLink(name string, r wecom.AcquisitionRange) *apiError {
	switch {
	case name == "" || utf8.RuneCountInString(name) > wecom.MaxAcquisitionLinkNameChars:
		return fail(wecom.CodeInvalidParameter, "link_name must be 1..%d characters", wecom.MaxAcquisitionLinkNameChars)
	case len(r.UserList) == 0 && len(r.DepartmentList) == 0:
		return fail(wecom.CodeInvalidParameter, "range.user_list and range.department_list are both empty")
	}
	users, e := s.expandUsers(r.UserList, r.DepartmentList)
	if e != nil {
		return e
	}
	if len(users) > wecom.MaxAcquisitionRangeUsers {
		return fail(wecom.CodeInvalidParameter, "range covers over %d members", wecom.MaxAcquisitionRangeUsers)
	}
	return nil
}

func (s *Sim) apiCreateLink(_ *http.Request, body []byte) (map[string]any, *apiError) {
	spec := wecom.AcquisitionLinkSpec{SkipVerify: true}
	if err := json.Unmarshal(body, &spec); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	if e := s.checkLink(spec.LinkName, spec.Range); e != nil {
		return nil, e
	}
	t := s.touch()
	id := t.nextID("cawsim")
	l := &acquisitionLink{
		link: wecom.AcquisitionLink{LinkID: id, LinkName: spec.LinkName, URL: "https://work.weixin.qq.com/ca/" + id,
			CreateTime: s.now().Unix(), SkipVerify: spec.SkipVerify},
		rng: spec.Range,
	}
	t.links[id] = l
	t.linkOrd = append(t.linkOrd, id)
	// create_link answers the link without skip_verify.
	return map[string]any{"link": map[string]any{"link_id": id, "link_name": l.link.LinkName, "url": l.link.URL, "create_time": l.link.CreateTime}}, nil
}

// link finds the live link a request names. An unknown link_id has no
// documented code: 40058 is assumed.
func (s *Sim) link(body []byte) (*acquisitionLink, *apiError) {
	var req struct {
		LinkID string `json:"link_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	l, ok := s.touch().links[req.LinkID]
	if !ok {
		return nil, fail(wecom.CodeInvalidParameter, "invalid link_id")
	}
	return l, nil
}

func (s *Sim) apiUpdateLink(_ *http.Request, body []byte) (map[string]any, *apiError) {
	l, e := s.link(body)
	if e != nil {
		return nil, e
	}
	var u wecom.AcquisitionLinkUpdate
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	name, rng := l.link.LinkName, l.rng
	if u.LinkName != "" {
		name = u.LinkName
	}
	if u.Range != nil {
		rng = *u.Range
	}
	if e := s.checkLink(name, rng); e != nil {
		return nil, e
	}
	l.link.LinkName, l.rng = name, rng
	if u.SkipVerify != nil {
		l.link.SkipVerify = *u.SkipVerify
	}
	return map[string]any{}, nil
}

func (s *Sim) apiDeleteLink(_ *http.Request, body []byte) (map[string]any, *apiError) {
	l, e := s.link(body)
	if e != nil {
		return nil, e
	}
	t := s.touch()
	delete(t.links, l.link.LinkID)
	t.linkOrd = slices.DeleteFunc(t.linkOrd, func(id string) bool { return id == l.link.LinkID })
	return map[string]any{}, nil
}

func (s *Sim) apiListLink(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		Limit  int    `json:"limit"`
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	switch {
	case req.Limit < 0 || req.Limit > wecom.MaxAcquisitionListLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxAcquisitionListLimit)
	case req.Limit == 0:
		req.Limit = wecom.MaxAcquisitionListLimit
	}
	return listPage(slices.Clone(s.touch().linkOrd), req.Cursor, req.Limit, "link_id_list")
}

func (s *Sim) apiGetLink(_ *http.Request, body []byte) (map[string]any, *apiError) {
	l, e := s.link(body)
	if e != nil {
		return nil, e
	}
	return map[string]any{"link": l.link, "range": l.rng}, nil
}

// ArriveThroughContactWay has customer add a member by scanning contact
// way configID: the add event's State is the way's state, add_way is 1
// (QR code). A multi-member way hands arrivals to its members in turn.
func (s *Sim) ArriveThroughContactWay(ctx context.Context, configID, customer string, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.arriveThroughWay(configID, customer, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) arriveThroughWay(configID, customer string, at time.Time) (wecom.Event, error) {
	t := s.touch()
	w, ok := t.ways[configID]
	if !ok {
		return wecom.Event{}, fmt.Errorf("arrive: %w contact way %q", ErrUnknown, configID)
	}
	parties := w.way.Party
	if w.way.Type == wecom.ContactWaySingle {
		parties = nil
	}
	member, err := s.nextMember("way#"+configID, w.way.User, parties)
	if err != nil {
		return wecom.Event{}, err
	}
	return s.addCustomerVia(member, customer, w.way.State, 1, at)
}

// ArriveThroughLink has customer add a member through acquisition link
// linkID opened with customer_channel=channel: the add event's State is
// the channel (cut at 64 bytes as WeCom does; "" for none).
func (s *Sim) ArriveThroughLink(ctx context.Context, linkID, channel, customer string, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.arriveThroughLink(linkID, channel, customer, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) arriveThroughLink(linkID, channel, customer string, at time.Time) (wecom.Event, error) {
	l, ok := s.touch().links[linkID]
	if !ok {
		return wecom.Event{}, fmt.Errorf("arrive: %w acquisition link %q", ErrUnknown, linkID)
	}
	member, err := s.nextMember("link#"+linkID, l.rng.UserList, l.rng.DepartmentList)
	if err != nil {
		return wecom.Event{}, err
	}
	channel = cutBytes(channel, wecom.MaxCustomerChannelBytes)
	// The add_way WeCom reports for acquisition links is not documented
	// in the sources read; 0 (未知) is answered.
	return s.addCustomerVia(member, customer, channel, 0, at)
}

// nextMember picks the member whose turn it is on channel key.
func (s *Sim) nextMember(key string, users []string, parties []int) (string, error) {
	all, e := s.expandUsers(users, parties)
	if e != nil || len(all) == 0 {
		return "", fmt.Errorf("arrive: %w member behind %s", ErrUnknown, key)
	}
	t := s.touch()
	m := all[t.turn[key]%len(all)]
	t.turn[key]++
	return m, nil
}
