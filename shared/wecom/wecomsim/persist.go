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

// publishingPaths change what the brand has published; a Sim with a
// StateFile rewrites it after each successful call to one of them.
var publishingPaths = map[string]bool{
	PathAddMomentTask:      true,
	PathCancelMomentTask:   true,
	PathAddMsgTemplate:     true,
	PathCancelGroupMsgSend: true,
}

// published is the StateFile's content: the ids WeCom gave out and what
// they stand for. Engagement is not stored: it is derived from the seed and
// the ids, so a restarted simulator reports the same funnel.
type published struct {
	Seq         int                 `json:"seq"`
	Moments     []SimMoment         `json:"moments"`
	GroupMsgs   []SimGroupMsg       `json:"group_msgs"`
	Jobs        []publishedJob      `json:"jobs"`
	PersonalSeq int                 `json:"personal_seq"`
	Personal    []publishedPersonal `json:"personal"`
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

// savePublished writes the StateFile (atomically: a crash leaves the old
// or the new one); callers hold s.mu.
func (s *Sim) savePublished() error {
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

// loadPublished reads the StateFile, if any, into a new Sim.
func (s *Sim) loadPublished() error {
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
	return nil
}
