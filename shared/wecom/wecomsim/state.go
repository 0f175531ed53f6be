package wecomsim

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Member is a staff member with customer contact enabled.
type Member struct {
	UserID      string
	Name        string
	Departments []int
}

// Customer is an external contact (a WeChat user).
type Customer struct {
	ExternalUserID string
	Name           string
	// Type is 1 for a WeChat user, 2 for a WeCom user.
	Type    int
	Gender  int
	UnionID string
}

// Relationship is a member following a customer.
type Relationship struct {
	UserID         string
	ExternalUserID string
	CreateTime     time.Time
	// State is the channel the customer came through ("" for none).
	State  string
	AddWay int
	Remark string
	TagIDs []string
	// OneWay is set once the customer deleted the member: WeCom keeps the
	// one-way relationship, and the customer-contact APIs (list, get,
	// batch/get_by_user) still show it. Only the del_follow_user callback
	// tells.
	OneWay bool
}

// Group is a customer group.
type Group struct {
	ChatID        string
	Name          string
	Owner         string
	CreateTime    time.Time
	Notice        string
	Members       []wecom.GroupMember
	MemberVersion string
}

type relKey struct{ member, customer string }

type histKind uint8

const (
	histApply histKind = iota
	histAdd
	histNegative
)

// histEntry feeds get_user_behavior_data.
type histEntry struct {
	member string
	kind   histKind
	at     time.Time
}

// remember adds h to the history of its day.
func (st *state) remember(h histEntry) {
	day := wecom.BeijingDay(h.at).Unix()
	st.history[day] = append(st.history[day], h)
}

type state struct {
	members       map[string]*Member
	memberOrder   []string
	customers     map[string]*Customer
	customerOrder []string
	rels          map[relKey]*Relationship
	// byMember and byCustomer index rels in add order, so listing one
	// member's or customer's relationships does not scan them all (a
	// brand's whole listing was quadratic).
	byMember   map[string][]*Relationship
	byCustomer map[string][]*Relationship
	// twoWay indexes each member's two-way relationships in add order: a
	// brand's one-way pairs pile up (every customer who deletes a member
	// leaves one), and a Moment's audience must not walk them.
	twoWay     map[string][]*Relationship
	all        []*Relationship // every relationship in add order
	groups     map[string]*Group
	groupOrder []string
	// history is every add and negative feedback by its Beijing day (unix
	// seconds of its midnight), for the behaviour statistics, which ask for
	// a few days at a time.
	history map[int64][]histEntry
	verSeq  int
}

func newState() *state {
	return &state{
		members:    map[string]*Member{},
		customers:  map[string]*Customer{},
		rels:       map[relKey]*Relationship{},
		byMember:   map[string][]*Relationship{},
		byCustomer: map[string][]*Relationship{},
		twoWay:     map[string][]*Relationship{},
		history:    map[int64][]histEntry{},
		groups:     map[string]*Group{},
	}
}

// relsOf lists a member's relationships (one-way ones included) in add
// order. The slice is the index itself: callers read it, never change it.
func (st *state) relsOf(member string) []*Relationship { return st.byMember[member] }

// twoWayOf lists a member's two-way relationships in add order, as relsOf.
func (st *state) twoWayOf(member string) []*Relationship { return st.twoWay[member] }

// setOneWay marks r one-way: the customer deleted the member.
func (st *state) setOneWay(r *Relationship) {
	r.OneWay = true
	st.twoWay[r.UserID] = removeRel(st.twoWay[r.UserID], r)
}

// relsFor lists a customer's relationships in add order, as relsOf.
func (st *state) relsFor(customer string) []*Relationship { return st.byCustomer[customer] }

// setRel stores r under its pair, replacing what was there, and keeps the
// indexes in add order.
func (st *state) setRel(r *Relationship) {
	k := relKey{r.UserID, r.ExternalUserID}
	if old, ok := st.rels[k]; ok {
		st.unindex(old)
	}
	st.rels[k] = r
	st.byMember[r.UserID] = insertRel(st.byMember[r.UserID], r)
	st.byCustomer[r.ExternalUserID] = insertRel(st.byCustomer[r.ExternalUserID], r)
	if !r.OneWay {
		st.twoWay[r.UserID] = insertRel(st.twoWay[r.UserID], r)
	}
	st.all = insertRel(st.all, r)
}

// deleteRel removes the pair's relationship, if any.
func (st *state) deleteRel(k relKey) {
	if r, ok := st.rels[k]; ok {
		st.unindex(r)
		delete(st.rels, k)
	}
}

func (st *state) unindex(r *Relationship) {
	st.byMember[r.UserID] = removeRel(st.byMember[r.UserID], r)
	st.byCustomer[r.ExternalUserID] = removeRel(st.byCustomer[r.ExternalUserID], r)
	st.twoWay[r.UserID] = removeRel(st.twoWay[r.UserID], r)
	st.all = removeRel(st.all, r)
}

// relOrder is add order: time, then customer, then member.
func relOrder(a, b *Relationship) int {
	return cmp.Or(a.CreateTime.Compare(b.CreateTime), cmp.Compare(a.ExternalUserID, b.ExternalUserID), cmp.Compare(a.UserID, b.UserID))
}

func insertRel(rs []*Relationship, r *Relationship) []*Relationship {
	i, _ := slices.BinarySearchFunc(rs, r, relOrder)
	return slices.Insert(rs, i, r)
}

func removeRel(rs []*Relationship, r *Relationship) []*Relationship {
	i, _ := slices.BinarySearchFunc(rs, r, relOrder)
	for ; i < len(rs) && relOrder(rs[i], r) == 0; i++ {
		if rs[i] == r {
			return slices.Delete(rs, i, i+1)
		}
	}
	return rs
}

// nextVersion makes a member_version: 32 hex digits like WeCom's.
func (st *state) nextVersion(chatID string) string {
	st.verSeq++
	sum := md5.Sum(fmt.Appendf(nil, "%s#%d", chatID, st.verSeq))
	return hex.EncodeToString(sum[:])
}

// PutMember adds or replaces a member (no callback: members are not
// customer events).
func (s *Sim) PutMember(m Member) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putMember(m)
}

func (s *Sim) putMember(m Member) {
	if _, ok := s.st.members[m.UserID]; !ok {
		s.st.memberOrder = append(s.st.memberOrder, m.UserID)
	}
	s.st.members[m.UserID] = &m
}

// PutCustomer adds or replaces a customer's profile.
func (s *Sim) PutCustomer(c Customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putCustomer(c)
}

func (s *Sim) putCustomer(c Customer) {
	if c.Type == 0 {
		c.Type = 1
	}
	if _, ok := s.st.customers[c.ExternalUserID]; !ok {
		s.st.customerOrder = append(s.st.customerOrder, c.ExternalUserID)
	}
	s.st.customers[c.ExternalUserID] = &c
}

// ensureCustomer creates an unknown customer with a generated name.
func (s *Sim) ensureCustomer(id string) {
	if _, ok := s.st.customers[id]; !ok {
		s.putCustomer(Customer{ExternalUserID: id, Name: s.personName(), Gender: 1 + s.rng.IntN(2)})
	}
}

// PutRelationship sets up a relationship without a callback: the baseline
// that existed before Siyu was switched on. The add still counts in the
// member's behavior data for its day. An unknown customer is created.
func (s *Sim) PutRelationship(r Relationship) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putRelationship(r)
}

func (s *Sim) putRelationship(r Relationship) error {
	if _, ok := s.st.members[r.UserID]; !ok {
		return fmt.Errorf("%w member %q", ErrUnknown, r.UserID)
	}
	s.ensureCustomer(r.ExternalUserID)
	// Every tag on a relationship is in the tag library.
	r.TagIDs = slices.Clone(r.TagIDs)
	s.declareTags(r.TagIDs)
	s.st.setRel(&r)
	s.st.remember(histEntry{r.UserID, histAdd, r.CreateTime})
	return nil
}

// PutGroup adds or replaces a customer group without a callback.
func (s *Sim) PutGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putGroup(g)
}

func (s *Sim) putGroup(g Group) {
	if g.MemberVersion == "" {
		g.MemberVersion = s.st.nextVersion(g.ChatID)
	}
	g.Members = slices.Clone(g.Members)
	if _, ok := s.st.groups[g.ChatID]; !ok {
		s.st.groupOrder = append(s.st.groupOrder, g.ChatID)
	}
	s.st.groups[g.ChatID] = &g
}

// Members lists the members in the order they were added.
func (s *Sim) Members() []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Member, 0, len(s.st.memberOrder))
	for _, id := range s.st.memberOrder {
		out = append(out, *s.st.members[id])
	}
	return out
}

// Customers lists every customer ever seen, in order of first sight.
func (s *Sim) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, 0, len(s.st.customerOrder))
	for _, id := range s.st.customerOrder {
		out = append(out, *s.st.customers[id])
	}
	return out
}

// Relationships lists the current relationships (one-way ones included),
// oldest first.
func (s *Sim) Relationships() []Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Relationship, len(s.st.all))
	for i, r := range s.st.all {
		out[i] = *r
	}
	return out
}

// Relationship returns the relationship of member and customer.
func (s *Sim) Relationship(member, customer string) (Relationship, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.rels[relKey{member, customer}]
	if !ok {
		return Relationship{}, false
	}
	return *r, true
}

// Groups lists the customer groups.
func (s *Sim) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.st.groupOrder))
	for _, id := range s.st.groupOrder {
		g := *s.st.groups[id]
		g.Members = slices.Clone(g.Members)
		out = append(out, g)
	}
	return out
}

// contactEvent is the common part of change_external_contact events.
func (s *Sim) contactEvent(change, member, customer string, at time.Time) wecom.Event {
	return wecom.Event{
		ToUserName: s.opts.CorpID, FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event",
		Event: wecom.EventExternalContact, ChangeType: change, UserID: member, ExternalUserID: customer, Known: true,
	}
}

// AddCustomer makes member and customer friends through channel state
// (add_external_contact). An unknown customer is created; a customer who
// had deleted the member becomes a live relationship again.
func (s *Sim) AddCustomer(ctx context.Context, member, customer, state string, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.addCustomer(member, customer, state, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) addCustomer(member, customer, state string, at time.Time) (wecom.Event, error) {
	return s.addCustomerVia(member, customer, state, -1, at)
}

// addCustomerVia is addCustomer with the relationship's add_way; a
// negative addWay derives it from state as addCustomer does.
func (s *Sim) addCustomerVia(member, customer, state string, addWay int, at time.Time) (wecom.Event, error) {
	if _, ok := s.st.members[member]; !ok {
		return wecom.Event{}, fmt.Errorf("add customer: %w member %q", ErrUnknown, member)
	}
	if r, ok := s.st.rels[relKey{member, customer}]; ok && !r.OneWay {
		return wecom.Event{}, fmt.Errorf("add customer: %s already follows %s", member, customer)
	}
	s.ensureCustomer(customer)
	switch {
	case addWay >= 0:
	case state != "":
		addWay = 1 // scanned a QR code
	default:
		addWay = 2 + s.rng.IntN(2) // searched a phone number / shared card
	}
	s.st.setRel(&Relationship{UserID: member, ExternalUserID: customer, CreateTime: at, State: state, AddWay: addWay})
	s.st.remember(histEntry{member, histAdd, at})
	ev := s.contactEvent(wecom.ChangeAddExternalContact, member, customer, at)
	ev.State = state
	ev.WelcomeCode = fmt.Sprintf("WELCOME%016X", s.noise.Uint64())
	s.issueWelcomeCode(ev.WelcomeCode, member, customer, at)
	return ev, nil
}

// CustomerDeletesMember has the customer delete or block the member
// (del_follow_user). The one-way relationship stays visible in the API.
func (s *Sim) CustomerDeletesMember(ctx context.Context, member, customer string, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.customerDeletesMember(member, customer, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) customerDeletesMember(member, customer string, at time.Time) (wecom.Event, error) {
	r, ok := s.st.rels[relKey{member, customer}]
	if !ok || r.OneWay {
		return wecom.Event{}, fmt.Errorf("customer deletes member: %w live relationship %s/%s", ErrUnknown, member, customer)
	}
	s.st.setOneWay(r)
	s.st.remember(histEntry{member, histNegative, at})
	return s.contactEvent(wecom.ChangeDelFollowUser, member, customer, at), nil
}

// MemberDeletesCustomer has the member delete the customer
// (del_external_contact). With transfer the deletion is the automatic one
// of a transfer (Source DELETE_BY_TRANSFER); TransferCustomer does the
// whole transfer. Afterwards the pair answers 84061.
func (s *Sim) MemberDeletesCustomer(ctx context.Context, member, customer string, transfer bool, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.memberDeletesCustomer(member, customer, transfer, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) memberDeletesCustomer(member, customer string, transfer bool, at time.Time) (wecom.Event, error) {
	k := relKey{member, customer}
	if _, ok := s.st.rels[k]; !ok {
		return wecom.Event{}, fmt.Errorf("member deletes customer: %w relationship %s/%s", ErrUnknown, member, customer)
	}
	s.st.deleteRel(k)
	ev := s.contactEvent(wecom.ChangeDelExternalContact, member, customer, at)
	if transfer {
		ev.Source = wecom.SourceDeleteByTransfer
	}
	return ev, nil
}

// TransferCustomer hands customer from one member to another (在职继承):
// the new member gains the customer (add_external_contact, no channel),
// then the old one loses them with Source DELETE_BY_TRANSFER. The customer
// is never without a member.
func (s *Sim) TransferCustomer(ctx context.Context, from, to, customer string, at time.Time) ([]wecom.Event, error) {
	s.mu.Lock()
	evs, err := s.transferCustomer(from, to, customer, at)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		if err := s.deliver(ctx, ev); err != nil {
			return evs, err
		}
	}
	return evs, nil
}

func (s *Sim) transferCustomer(from, to, customer string, at time.Time) ([]wecom.Event, error) {
	r, ok := s.st.rels[relKey{from, customer}]
	if !ok || r.OneWay {
		return nil, fmt.Errorf("transfer customer: %w live relationship %s/%s", ErrUnknown, from, customer)
	}
	add, err := s.addCustomer(to, customer, "", at)
	if err != nil {
		return nil, fmt.Errorf("transfer customer: %w", err)
	}
	s.st.rels[relKey{to, customer}].AddWay = 202 // 管理员/负责人分配
	del, _ := s.memberDeletesCustomer(from, customer, true, at)
	return []wecom.Event{add, del}, nil
}

// JoinGroup adds a customer to a customer group. scene is how groupchat/get
// reports it (wecom.GroupJoinInvite, GroupJoinLink, GroupJoinQRCode); the
// callback's JoinScene is 3 for a QR code and 0 for invitations.
func (s *Sim) JoinGroup(ctx context.Context, chatID, customer string, scene int, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.joinGroup(chatID, customer, scene, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) joinGroup(chatID, customer string, scene int, at time.Time) (wecom.Event, error) {
	g, ok := s.st.groups[chatID]
	if !ok {
		return wecom.Event{}, fmt.Errorf("join group: %w group %q", ErrUnknown, chatID)
	}
	if slices.ContainsFunc(g.Members, func(m wecom.GroupMember) bool { return m.UserID == customer }) {
		return wecom.Event{}, fmt.Errorf("join group: %s is already in %s", customer, chatID)
	}
	s.ensureCustomer(customer)
	m := wecom.GroupMember{UserID: customer, Type: wecom.GroupMemberCustomer, JoinTime: at.Unix(), JoinScene: scene}
	if scene != wecom.GroupJoinQRCode {
		m.Invitor = &wecom.GroupInvitor{UserID: g.Owner}
	}
	g.Members = append(g.Members, m)
	ev := s.chatMemberEvent(g, wecom.DetailAddMember, customer, at)
	if scene == wecom.GroupJoinQRCode {
		ev.JoinScene = 3
	}
	return ev, nil
}

// RenameGroup renames a customer group and delivers the change_name update
// (which, as in WeCom, carries no name: receivers re-read the group).
func (s *Sim) RenameGroup(ctx context.Context, chatID, name string, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	g, ok := s.st.groups[chatID]
	if !ok {
		s.mu.Unlock()
		return wecom.Event{}, fmt.Errorf("rename group: %w group %q", ErrUnknown, chatID)
	}
	g.Name = name
	ev := wecom.Event{
		ToUserName: s.opts.CorpID, FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event",
		Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatUpdate, ChatID: g.ChatID,
		UpdateDetail: wecom.DetailChangeName, Known: true,
	}
	s.mu.Unlock()
	return ev, s.deliver(ctx, ev)
}

// QuitGroup removes a customer from a customer group; quitScene is 0 when
// they left, 1 when the owner or an admin removed them.
func (s *Sim) QuitGroup(ctx context.Context, chatID, customer string, quitScene int, at time.Time) (wecom.Event, error) {
	s.mu.Lock()
	ev, err := s.quitGroup(chatID, customer, quitScene, at)
	s.mu.Unlock()
	if err != nil {
		return wecom.Event{}, err
	}
	return ev, s.deliver(ctx, ev)
}

func (s *Sim) quitGroup(chatID, customer string, quitScene int, at time.Time) (wecom.Event, error) {
	g, ok := s.st.groups[chatID]
	if !ok {
		return wecom.Event{}, fmt.Errorf("quit group: %w group %q", ErrUnknown, chatID)
	}
	i := slices.IndexFunc(g.Members, func(m wecom.GroupMember) bool { return m.UserID == customer })
	if i < 0 {
		return wecom.Event{}, fmt.Errorf("quit group: %w member %s of %s", ErrUnknown, customer, chatID)
	}
	g.Members = slices.Delete(g.Members, i, i+1)
	ev := s.chatMemberEvent(g, wecom.DetailDelMember, customer, at)
	ev.QuitScene = quitScene
	return ev, nil
}

// chatMemberEvent bumps the group's member version and describes the change.
func (s *Sim) chatMemberEvent(g *Group, detail, who string, at time.Time) wecom.Event {
	last := g.MemberVersion
	g.MemberVersion = s.st.nextVersion(g.ChatID)
	return wecom.Event{
		ToUserName: s.opts.CorpID, FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event",
		Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatUpdate, ChatID: g.ChatID,
		UpdateDetail: detail, MemChangeCnt: 1, MemChangeList: []string{who},
		LastMemVer: last, CurMemVer: g.MemberVersion, Known: true,
	}
}
