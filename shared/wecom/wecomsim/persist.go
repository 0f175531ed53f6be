package wecomsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

// keptPaths change what the brand has published or its first-touch setup
// (channels and the tag library); a Sim with a StateFile rewrites it after
// each successful call to one of them.
var keptPaths = map[string]bool{
	PathAddMomentTask:      true,
	PathCancelMomentTask:   true,
	PathAddMsgTemplate:     true,
	PathCancelGroupMsgSend: true,
	PathAddContactWay:      true,
	PathUpdateContactWay:   true,
	PathDelContactWay:      true,
	PathCreateLink:         true,
	PathUpdateLink:         true,
	PathDeleteLink:         true,
	PathAddCorpTag:         true,
	PathEditCorpTag:        true,
	PathDelCorpTag:         true,
}

// published is the StateFile's content: the ids WeCom gave out and what
// they stand for. Engagement is not stored: it is derived from the seed and
// the ids, so a restarted simulator reports the same funnel. Welcome codes,
// app messages and the tags on relationships are not kept either. Fields
// absent from an older file load empty.
type published struct {
	Seq         int                 `json:"seq"`
	Moments     []SimMoment         `json:"moments"`
	GroupMsgs   []SimGroupMsg       `json:"group_msgs"`
	Jobs        []publishedJob      `json:"jobs"`
	PersonalSeq int                 `json:"personal_seq"`
	Personal    []publishedPersonal `json:"personal"`

	// The first touch: its id counter, channels and tag library (deleted
	// tags and groups too: asked by id, WeCom still answers them).
	TouchSeq  int            `json:"touch_seq,omitempty"`
	Ways      []keptWay      `json:"contact_ways,omitempty"`
	Links     []keptLink     `json:"acquisition_links,omitempty"`
	TagGroups []keptTagGroup `json:"tag_groups,omitempty"`
}

type keptWay struct {
	Way     wecom.ContactWay `json:"way"`
	Created time.Time        `json:"created"`
}

type keptLink struct {
	Link  wecom.AcquisitionLink  `json:"link"`
	Range wecom.AcquisitionRange `json:"range"`
}

type keptTagGroup struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Order   int64     `json:"order,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Tags    []keptTag `json:"tags"` // creation order
}

type keptTag struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Order   int64     `json:"order,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
}

type publishedJob struct {
	ID       string                  `json:"id"`
	Created  time.Time               `json:"created"`
	MomentID string                  `json:"moment_id,omitempty"`
	Outcome  wecom.MomentTaskOutcome `json:"outcome"`
}

type publishedPersonal struct {
	ID     string    `json:"id"`
	Member string    `json:"member"`
	At     time.Time `json:"at"`
}

// saveState writes the StateFile (atomically: a crash leaves the old or
// the new one); callers hold s.mu.
func (s *Sim) saveState() error {
	if s.opts.StateFile == "" {
		return nil
	}
	p, e := s.posting(), s.engagement()
	out := published{Seq: p.seq, PersonalSeq: e.seq}
	for _, m := range p.moments {
		out.Moments = append(out.Moments, *m)
	}
	for _, m := range p.msgs {
		out.GroupMsgs = append(out.GroupMsgs, *m)
	}
	for _, j := range p.jobs {
		pj := publishedJob{ID: j.id, Created: j.created, Outcome: j.outcome}
		if j.moment != nil {
			pj.MomentID = j.moment.MomentID
		}
		out.Jobs = append(out.Jobs, pj)
	}
	for _, pm := range e.personal {
		out.Personal = append(out.Personal, publishedPersonal{ID: pm.id, Member: pm.member, At: pm.at})
	}
	s.touch().keep(&out)
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	tmp := s.opts.StateFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(s.opts.StateFile), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.opts.StateFile)
}

// loadState reads the StateFile, if any, into a new Sim.
func (s *Sim) loadState() error {
	if s.opts.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var in published
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%s: %w (delete it to forget what was published)", s.opts.StateFile, err)
	}
	p, e := s.posting(), s.engagement()
	p.seq, e.seq = in.Seq, in.PersonalSeq
	byID := map[string]*SimMoment{}
	for i := range in.Moments {
		m := in.Moments[i]
		p.moments = append(p.moments, &m)
		byID[m.MomentID] = &m
	}
	for i := range in.GroupMsgs {
		m := in.GroupMsgs[i]
		p.msgs = append(p.msgs, &m)
	}
	for _, j := range in.Jobs {
		p.jobs[j.ID] = &momentJob{id: j.ID, created: j.Created, moment: byID[j.MomentID], outcome: j.Outcome}
	}
	for _, pm := range in.Personal {
		e.personal[pm.ID] = &personalMoment{id: pm.ID, member: pm.Member, at: pm.At}
	}
	s.touch().restore(in)
	return nil
}

// keep copies the first-touch state into out.
func (t *touchState) keep(out *published) {
	out.TouchSeq = t.seq
	for _, id := range t.wayOrder {
		w := t.ways[id]
		out.Ways = append(out.Ways, keptWay{Way: w.way, Created: w.created})
	}
	for _, id := range t.linkOrd {
		l := t.links[id]
		out.Links = append(out.Links, keptLink{Link: l.link, Range: l.rng})
	}
	for _, id := range t.groupOrd {
		g := t.groups[id]
		kg := keptTagGroup{ID: g.id, Name: g.name, Created: g.created, Order: g.order, Deleted: g.deleted, Tags: []keptTag{}}
		for _, tid := range g.tags {
			tag := t.tags[tid]
			kg.Tags = append(kg.Tags, keptTag{ID: tag.id, Name: tag.name, Created: tag.created, Order: tag.order, Deleted: tag.deleted})
		}
		out.TagGroups = append(out.TagGroups, kg)
	}
}

// restore puts what keep wrote back into a new Sim's first-touch state.
func (t *touchState) restore(in published) {
	t.seq = in.TouchSeq
	for _, kw := range in.Ways {
		t.ways[kw.Way.ConfigID] = &contactWay{way: kw.Way, created: kw.Created}
		t.wayOrder = append(t.wayOrder, kw.Way.ConfigID)
	}
	for _, kl := range in.Links {
		t.links[kl.Link.LinkID] = &acquisitionLink{link: kl.Link, rng: kl.Range}
		t.linkOrd = append(t.linkOrd, kl.Link.LinkID)
	}
	for _, kg := range in.TagGroups {
		g := t.newGroup(kg.ID, kg.Name, kg.Order, kg.Created)
		g.deleted = kg.Deleted
		for _, kt := range kg.Tags {
			t.tags[kt.ID] = &corpTag{id: kt.ID, name: kt.Name, group: g.id, created: kt.Created, order: kt.Order, deleted: kt.Deleted}
			g.tags = append(g.tags, kt.ID)
		}
	}
}
