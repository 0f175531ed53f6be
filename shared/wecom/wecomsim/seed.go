package wecomsim

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// DefaultChannels are the demo brand's acquisition channels (contact-way
// states); "" is a customer who found a member without one.
var DefaultChannels = []string{"douyin_live", "store_qr_sh", "wechat_ad", "mini_program", ""}

// SeedConfig shapes the demo brand. Zero fields take the defaults.
type SeedConfig struct {
	Members   int // 6
	Customers int // 300 baseline customers
	Groups    int // 4
	Channels  []string
	// Until is when the baseline ends (the sim clock's now by default); its
	// relationships were added over the BaselineDays before.
	Until        time.Time
	BaselineDays int // 120
	// DailyAdds is Simulate's mean of new relationships per day (12).
	DailyAdds int
}

func (c SeedConfig) withDefaults(now time.Time) SeedConfig {
	c.Members = cmp.Or(c.Members, 6)
	c.Customers = cmp.Or(c.Customers, 300)
	c.Groups = cmp.Or(c.Groups, 4)
	if c.Channels == nil {
		c.Channels = DefaultChannels
	}
	if c.Until.IsZero() {
		c.Until = now
	}
	c.BaselineDays = cmp.Or(c.BaselineDays, 120)
	c.DailyAdds = cmp.Or(c.DailyAdds, 12)
	return c
}

var demoMembers = []Member{
	{UserID: "zhangwei", Name: "张伟", Departments: []int{1, 2}},
	{UserID: "lina", Name: "李娜", Departments: []int{1, 2}},
	{UserID: "wangfang", Name: "王芳", Departments: []int{1, 3}},
	{UserID: "liuyang", Name: "刘洋", Departments: []int{1, 3}},
	{UserID: "chenjing", Name: "陈静", Departments: []int{1, 4}},
	{UserID: "zhaolei", Name: "赵磊", Departments: []int{1, 4}},
}

var demoGroupNames = []string{"直播粉丝福利群", "上海门店会员群", "新品试用官", "小程序老客群", "周末秒杀群", "母婴交流群"}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗")
	given    = []string{"晓", "雨", "子", "欣", "佳", "梓", "浩", "思", "一", "诗", "俊", "婷", "文", "明", "丽", "静", "涵", "宇", "琳", "杰"}
)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// personName draws a Chinese name. Under s.mu.
func (s *Sim) personName() string {
	n := string(surnames[s.rng.IntN(len(surnames))]) + given[s.rng.IntN(len(given))]
	if s.rng.IntN(3) > 0 {
		n += given[s.rng.IntN(len(given))]
	}
	return n
}

func (s *Sim) randomID(prefix string, n int) string {
	b := []byte(prefix)
	for range n {
		b = append(b, idAlphabet[s.rng.IntN(len(idAlphabet))])
	}
	return string(append(b, "AAAA"...))
}

// NewCustomerID draws an external_userid shaped like WeCom's ("wm…AAAA").
func (s *Sim) NewCustomerID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newCustomerID()
}

func (s *Sim) newCustomerID() string {
	for {
		id := s.randomID("wm", 24)
		if _, taken := s.st.customers[id]; !taken {
			return id
		}
	}
}

// Seed builds the demo brand: members, a baseline of customers spread over
// the channels and the past BaselineDays (no callbacks: they predate Siyu),
// some with two members, and customer groups. Deterministic for a seed.
func (s *Sim) Seed(cfg SeedConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg = cfg.withDefaults(s.now())
	s.seeded = cfg
	for i := range cfg.Members {
		m := Member{UserID: fmt.Sprintf("member%02d", i+1), Name: fmt.Sprintf("顾问%02d", i+1), Departments: []int{1}}
		if i < len(demoMembers) {
			m = demoMembers[i]
		}
		s.putMember(m)
	}
	members := s.st.memberOrder
	start := cfg.Until.Add(-time.Duration(cfg.BaselineDays) * 24 * time.Hour)
	span := cfg.Until.Sub(start)
	var customers []string
	for range cfg.Customers {
		id := s.newCustomerID()
		customers = append(customers, id)
		s.putCustomer(Customer{ExternalUserID: id, Name: s.personName(), Gender: 1 + s.rng.IntN(2), UnionID: s.randomID("oAmd", 22)})
		at := start.Add(time.Duration(s.rng.Int64N(int64(span)))).Truncate(time.Second)
		at = businessTime(s, wecom.BeijingDay(at))
		if !at.Before(cfg.Until) {
			at = cfg.Until.Add(-time.Hour)
		}
		state := s.channel(cfg.Channels, at)
		first := members[s.rng.IntN(len(members))]
		_ = s.putRelationship(Relationship{UserID: first, ExternalUserID: id, CreateTime: at, State: state, AddWay: addWayFor(state)})
		if s.rng.IntN(10) == 0 { // some customers follow two members
			second := members[s.rng.IntN(len(members))]
			if second != first {
				at2 := at.Add(time.Duration(1+s.rng.IntN(72)) * time.Hour)
				if at2.Before(cfg.Until) {
					_ = s.putRelationship(Relationship{UserID: second, ExternalUserID: id, CreateTime: at2, AddWay: 3})
				}
			}
		}
	}
	for i := range cfg.Groups {
		owner := members[i%len(members)]
		name := fmt.Sprintf("客户群%d", i+1)
		if i < len(demoGroupNames) {
			name = demoGroupNames[i]
		}
		created := start.Add(time.Duration(i) * 24 * time.Hour)
		g := Group{ChatID: s.randomID("wr", 22), Name: name, Owner: owner, CreateTime: created,
			Notice:  "欢迎加入" + name + "，每周五晚八点福利发放。",
			Members: []wecom.GroupMember{{UserID: owner, Type: wecom.GroupMemberStaff, JoinTime: created.Unix(), JoinScene: wecom.GroupJoinInvite}}}
		n := 15 + s.rng.IntN(30)
		for _, j := range s.rng.Perm(len(customers))[:min(n, len(customers))] {
			joined := created.Add(time.Duration(s.rng.Int64N(int64(cfg.Until.Sub(created))))).Truncate(time.Second)
			scene := []int{wecom.GroupJoinInvite, wecom.GroupJoinLink, wecom.GroupJoinQRCode}[s.rng.IntN(3)]
			m := wecom.GroupMember{UserID: customers[j], Type: wecom.GroupMemberCustomer, JoinTime: joined.Unix(), JoinScene: scene}
			if scene != wecom.GroupJoinQRCode {
				m.Invitor = &wecom.GroupInvitor{UserID: owner}
			}
			g.Members = append(g.Members, m)
		}
		s.putGroup(g)
	}
}

func addWayFor(state string) int {
	if state == "" {
		return 2
	}
	return 1
}

// channel draws a channel; Douyin live streams are an evening thing.
func (s *Sim) channel(channels []string, at time.Time) string {
	if len(channels) == 0 {
		return ""
	}
	if h := at.In(wecom.Beijing).Hour(); h >= 19 && h <= 23 && channels[0] == "douyin_live" && s.rng.IntN(2) == 0 {
		return "douyin_live"
	}
	return channels[s.rng.IntN(len(channels))]
}

// businessTime draws a moment of day: mostly 09:00–22:00 Beijing, with a
// lunch and an evening peak, sometimes the small hours.
func businessTime(s *Sim, day time.Time) time.Time {
	var hour int
	switch r := s.rng.IntN(100); {
	case r < 8:
		hour = s.rng.IntN(9) // 00–08
	case r < 30:
		hour = 11 + s.rng.IntN(3) // lunch
	case r < 60:
		hour = 19 + s.rng.IntN(4) // evening
	default:
		hour = 9 + s.rng.IntN(13)
	}
	return day.Add(time.Duration(hour)*time.Hour + time.Duration(s.rng.IntN(3600))*time.Second)
}

type actionKind uint8

const (
	actAdd actionKind = iota
	actCustomerDeletes
	actMemberDeletes
	actTransfer
	actJoin
	actQuit
)

// action is one planned change; targets left empty are drawn when it runs.
type action struct {
	at       time.Time
	kind     actionKind
	member   string
	customer string
}

// Simulate plays plausible traffic for the days from..to (Beijing days,
// to exclusive): new customers by channel (some adding a second member),
// customers deleting members (a share of new ones within a day — early
// churn), members deleting customers, transfers, group joins and quits.
// With deliver, each change is called back as it happens; otherwise only
// the state moves (for a demo that starts later). Deterministic for a seed
// and the same sequence of calls. Seed first.
func (s *Sim) Simulate(ctx context.Context, from, to time.Time, deliver bool) error {
	s.mu.Lock()
	cfg := s.seeded.withDefaults(s.now())
	if len(s.st.memberOrder) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("wecomsim: simulate: no members (call Seed first)")
	}
	s.mu.Unlock()
	var pending []action
	for day := wecom.BeijingDay(from); day.Before(to); day = day.AddDate(0, 0, 1) {
		s.mu.Lock()
		pending = append(pending, s.planDay(cfg, day)...)
		s.mu.Unlock()
		slices.SortStableFunc(pending, func(a, b action) int { return a.at.Compare(b.at) })
		end := day.AddDate(0, 0, 1)
		i := 0
		for ; i < len(pending) && pending[i].at.Before(end); i++ {
			a := pending[i]
			if a.at.Before(from) || !a.at.Before(to) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			s.mu.Lock()
			evs, follow := s.run(cfg, a)
			s.mu.Unlock()
			pending = append(pending, follow...)
			if deliver {
				if err := s.deliverAll(ctx, evs); err != nil {
					return fmt.Errorf("wecomsim: simulate %s: %w", a.at.In(wecom.Beijing).Format(time.DateTime), err)
				}
			}
		}
		pending = pending[i:]
	}
	return nil
}

// planDay draws the day's actions. Under s.mu.
func (s *Sim) planDay(cfg SeedConfig, day time.Time) []action {
	mean := cfg.DailyAdds
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		mean += mean / 3
	}
	var out []action
	plan := func(kind actionKind, n int) {
		for range n {
			out = append(out, action{at: businessTime(s, day), kind: kind})
		}
	}
	plan(actAdd, mean/2+s.rng.IntN(mean+1))
	plan(actCustomerDeletes, 1+s.rng.IntN(3))
	if s.rng.IntN(4) == 0 {
		plan(actMemberDeletes, 1)
	}
	if s.rng.IntN(5) == 0 {
		plan(actTransfer, 1)
	}
	if len(s.st.groupOrder) > 0 {
		plan(actJoin, 1+s.rng.IntN(4))
		plan(actQuit, s.rng.IntN(3))
	}
	return out
}

// run applies one action and returns its events and any follow-up (early
// churn of a new customer). An action whose target vanished does nothing.
// Under s.mu.
func (s *Sim) run(cfg SeedConfig, a action) ([]wecom.Event, []action) {
	members := s.st.memberOrder
	switch a.kind {
	case actAdd:
		member := members[s.rng.IntN(len(members))]
		customer := ""
		if s.rng.IntN(8) == 0 { // an existing customer adds a second member
			if r := s.pickRel(func(r *Relationship) bool { return !r.OneWay && r.UserID != member }); r != nil {
				if _, dup := s.st.rels[relKey{member, r.ExternalUserID}]; !dup {
					customer = r.ExternalUserID
				}
			}
		}
		if customer == "" {
			customer = s.newCustomerID()
			s.putCustomer(Customer{ExternalUserID: customer, Name: s.personName(), Gender: 1 + s.rng.IntN(2), UnionID: s.randomID("oAmd", 22)})
		}
		ev, err := s.addCustomer(member, customer, s.channel(cfg.Channels, a.at), a.at)
		if err != nil {
			return nil, nil
		}
		var follow []action
		if s.rng.IntN(10) == 0 { // early churn: gone within a day
			later := a.at.Add(time.Duration(20+s.rng.IntN(20*60)) * time.Minute)
			follow = append(follow, action{at: later, kind: actCustomerDeletes, member: member, customer: customer})
		}
		return []wecom.Event{ev}, follow
	case actCustomerDeletes:
		member, customer := a.member, a.customer
		if customer == "" {
			r := s.pickRel(func(r *Relationship) bool { return !r.OneWay })
			if r == nil {
				return nil, nil
			}
			member, customer = r.UserID, r.ExternalUserID
		}
		ev, err := s.customerDeletesMember(member, customer, a.at)
		if err != nil {
			return nil, nil
		}
		return []wecom.Event{ev}, nil
	case actMemberDeletes:
		r := s.pickRel(func(*Relationship) bool { return true })
		if r == nil {
			return nil, nil
		}
		ev, err := s.memberDeletesCustomer(r.UserID, r.ExternalUserID, false, a.at)
		if err != nil {
			return nil, nil
		}
		return []wecom.Event{ev}, nil
	case actTransfer:
		r := s.pickRel(func(r *Relationship) bool { return !r.OneWay })
		if r == nil {
			return nil, nil
		}
		others := slices.DeleteFunc(slices.Clone(members), func(m string) bool {
			_, dup := s.st.rels[relKey{m, r.ExternalUserID}]
			return m == r.UserID || dup
		})
		if len(others) == 0 {
			return nil, nil
		}
		to := others[s.rng.IntN(len(others))]
		evs, err := s.transferCustomer(r.UserID, to, r.ExternalUserID, a.at)
		if err != nil {
			return nil, nil
		}
		return evs, nil
	case actJoin:
		chat := s.st.groupOrder[s.rng.IntN(len(s.st.groupOrder))]
		r := s.pickRel(func(r *Relationship) bool { return !r.OneWay })
		if r == nil {
			return nil, nil
		}
		scene := []int{wecom.GroupJoinInvite, wecom.GroupJoinLink, wecom.GroupJoinQRCode}[s.rng.IntN(3)]
		ev, err := s.joinGroup(chat, r.ExternalUserID, scene, a.at)
		if err != nil {
			return nil, nil
		}
		return []wecom.Event{ev}, nil
	case actQuit:
		g := s.st.groups[s.st.groupOrder[s.rng.IntN(len(s.st.groupOrder))]]
		var custs []string
		for _, m := range g.Members {
			if m.Type == wecom.GroupMemberCustomer {
				custs = append(custs, m.UserID)
			}
		}
		if len(custs) == 0 {
			return nil, nil
		}
		quitScene := 0
		if s.rng.IntN(5) == 0 {
			quitScene = 1
		}
		ev, err := s.quitGroup(g.ChatID, custs[s.rng.IntN(len(custs))], quitScene, a.at)
		if err != nil {
			return nil, nil
		}
		return []wecom.Event{ev}, nil
	}
	return nil, nil
}

// pickRel draws a relationship matching ok, in a stable order. Under s.mu.
func (s *Sim) pickRel(ok func(*Relationship) bool) *Relationship {
	var rs []*Relationship
	for _, r := range s.st.all {
		if ok(r) {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	return rs[s.rng.IntN(len(rs))]
}
