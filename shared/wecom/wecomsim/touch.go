package wecomsim

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// touchState is the first touch: the channels customers arrive through
// (contact ways, acquisition links), the welcome codes their add events
// carry, the enterprise tag library and the application messages sent to
// members. Like posting it lives beside Sim; every access holds s.mu.
type touchState struct {
	seq      int
	ways     map[string]*contactWay
	wayOrder []string
	links    map[string]*acquisitionLink
	linkOrd  []string
	// turn rotates arrivals over a multi-member way or link.
	turn     map[string]int
	codes    map[string]*welcomeCode
	welcomes []Welcome
	appMsgs  []AppMessage
	groups   map[string]*tagGroup
	groupOrd []string
	tags     map[string]*corpTag // deleted ones stay, flagged
}

var touches sync.Map // *Sim → *touchState

// touch returns s's first-touch state; callers hold s.mu.
func (s *Sim) touch() *touchState {
	if t, ok := touches.Load(s); ok {
		return t.(*touchState)
	}
	t := &touchState{
		ways: map[string]*contactWay{}, links: map[string]*acquisitionLink{}, turn: map[string]int{},
		codes: map[string]*welcomeCode{}, groups: map[string]*tagGroup{}, tags: map[string]*corpTag{},
	}
	touches.Store(s, t)
	return t
}

// nextID draws ids from a counter, not the seeded rng, so API traffic does
// not shift the generated brand.
func (t *touchState) nextID(prefix string) string {
	t.seq++
	return fmt.Sprintf("%s%010d", prefix, t.seq)
}

// welcomeCode is what an add event's WelcomeCode stands for.
type welcomeCode struct {
	member, customer string
	issued           time.Time
	used             bool
}

// issueWelcomeCode records the code of an add event; callers hold s.mu.
func (s *Sim) issueWelcomeCode(code, member, customer string, at time.Time) {
	s.touch().codes[code] = &welcomeCode{member: member, customer: customer, issued: at}
}

// Welcome is a welcome message WeCom delivered.
type Welcome struct {
	Code        string
	Member      string
	Customer    string
	Text        string
	Attachments []wecom.MsgAttachment
	At          time.Time
}

// Welcomes returns the welcome messages sent so far, oldest first: at most
// one per welcome code.
func (s *Sim) Welcomes() []Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.touch().welcomes)
}

// AppMessage is an application message WeCom delivered.
type AppMessage struct {
	MsgID   string
	AgentID int
	// ToUser are the members who received it (invalid ones left out).
	ToUser   []string
	MsgType  string
	Content  string // text and markdown
	TextCard *wecom.TextCard
	At       time.Time
}

// AppMessages returns the application messages sent so far, oldest first.
func (s *Sim) AppMessages() []AppMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.touch().appMsgs)
}

// TagsOf returns the enterprise tag ids member has put on customer (nil
// when they are not related).
func (s *Sim) TagsOf(member, customer string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.st.rels[relKey{member, customer}]
	if !ok {
		return nil
	}
	return slices.Clone(r.TagIDs)
}
