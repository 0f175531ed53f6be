package channels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Patch changes a channel (PATCH /api/channels/{id}); a field left out
// keeps its value. A welcome with no text and no attachment removes the
// channel's own welcome (the default applies again). Kind, state and type
// are refused: they are the way's identity in WeCom.
type Patch struct {
	Name        *string   `json:"name,omitempty"`
	Members     *[]string `json:"members,omitempty"`
	Departments *[]int    `json:"departments,omitempty"`
	SkipVerify  *bool     `json:"skip_verify,omitempty"`
	Remark      *string   `json:"remark,omitempty"`
	Tags        *[]string `json:"tags,omitempty"`
	Welcome     *Welcome  `json:"welcome,omitempty"`

	Kind  *string `json:"kind,omitempty"`
	State *string `json:"state,omitempty"`
	Type  *string `json:"type,omitempty"`
}

// wayChanged: the patch touches what WeCom keeps of the way.
func (p Patch) wayChanged(kind string) bool {
	return p.Members != nil || p.Departments != nil || p.SkipVerify != nil || p.Remark != nil ||
		(kind == KindAcquisitionLink && p.Name != nil)
}

func (p Patch) validate(c Channel) (Channel, error) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"kind", p.Kind != nil}, {"state", p.State != nil}, {"type", p.Type != nil}} {
		if f.set {
			return c, bad(f.name, "cannot be changed; create another channel")
		}
	}
	if c.Kind == KindAdopted {
		for _, f := range []struct {
			name string
			set  bool
		}{{"members", p.Members != nil}, {"departments", p.Departments != nil}, {"skip_verify", p.SkipVerify != nil}, {"remark", p.Remark != nil}} {
			if f.set {
				return c, bad(f.name, "an adopted channel's way was made outside Siyu; only name, tags and welcome can be changed")
			}
		}
	}
	next := c
	if p.Name != nil {
		if err := nameOK(*p.Name); err != nil {
			return c, err
		}
		next.Name = strings.TrimSpace(*p.Name)
	}
	if p.Members != nil {
		next.Members = *p.Members
	}
	if p.Departments != nil {
		next.Departments = *p.Departments
	}
	if p.SkipVerify != nil {
		next.SkipVerify = *p.SkipVerify
	}
	if p.Remark != nil {
		next.Remark = *p.Remark
	}
	if p.Tags != nil {
		if err := validateTags(*p.Tags); err != nil {
			return c, err
		}
		next.Tags = *p.Tags
	}
	if p.Welcome != nil {
		if err := ValidateWelcome("welcome", p.Welcome); err != nil {
			return c, err
		}
		next.Welcome = p.Welcome
		if p.Welcome.Empty() {
			next.Welcome = nil
		}
	}
	if c.Kind != KindAdopted && p.wayChanged(c.Kind) {
		if err := validateWay(c.Kind, c.Type, next.Members, next.Departments, next.Remark); err != nil {
			return c, err
		}
		if c.Kind == KindContactWay && p.Remark != nil && *p.Remark == "" && c.Remark != "" {
			// update_contact_way keeps a remark it is sent empty.
			return c, bad("remark", "WeCom cannot clear a contact way's remark; send another one")
		}
	}
	return next, nil
}

// Update changes channel id in WeCom (members, departments, skip_verify,
// remark; a link's name) and then its record (if its version is unchanged:
// a concurrent change answers 409).
func (s *Service) Update(ctx context.Context, id string, p Patch) (Channel, error) {
	c, err := Get(ctx, s.Store, id)
	if err != nil {
		return Channel{}, err
	}
	next, err := p.validate(c)
	if err != nil {
		return Channel{}, err
	}
	way := c.Kind != KindAdopted && p.wayChanged(c.Kind)
	if (way || (p.Tags != nil && len(*p.Tags) > 0)) && s.WeCom == nil {
		return Channel{}, ErrNotConfigured
	}
	if c.Pending && way {
		return Channel{}, &ConflictError{Code: "pending", Msg: "channel " + id + " is still being created in WeCom; retry in a minute"}
	}
	if p.Tags != nil {
		if err := s.checkTags(ctx, *p.Tags); err != nil {
			return Channel{}, err
		}
	}
	if way {
		if err := s.updateInWeCom(ctx, c, next, p); err != nil {
			return Channel{}, refusal(err)
		}
	}
	next.UpdatedAt = s.Now().UTC()
	if next.Version, err = s.put(ctx, next, store.IfVersion(c.Version)); err != nil {
		return Channel{}, err
	}
	return next, nil
}

func (s *Service) updateInWeCom(ctx context.Context, c, next Channel, p Patch) error {
	switch c.Kind {
	case KindContactWay:
		u := wecom.ContactWayUpdate{ConfigID: c.ConfigID, Remark: next.Remark, SkipVerify: p.SkipVerify}
		if p.Members != nil || p.Departments != nil {
			u.User, u.Party = next.Members, next.Departments
		}
		return s.WeCom.UpdateContactWay(ctx, u)
	case KindAcquisitionLink:
		u := wecom.AcquisitionLinkUpdate{LinkID: c.LinkID, SkipVerify: p.SkipVerify}
		if p.Name != nil {
			u.LinkName = linkName(next.Name)
		}
		if p.Members != nil || p.Departments != nil {
			u.Range = &wecom.AcquisitionRange{UserList: next.Members, DepartmentList: next.Departments}
		}
		return s.WeCom.UpdateAcquisitionLink(ctx, u)
	}
	return nil
}

// Delete deletes channel id in WeCom (a way or link already gone there is
// fine), then its record, then its state index. An adopted channel only
// loses Siyu's record: if its state keeps bringing customers, the nightly
// rollup adopts it again, unnamed.
func (s *Service) Delete(ctx context.Context, id string) error {
	c, err := Get(ctx, s.Store, id)
	if err != nil {
		return err
	}
	if c.Kind != KindAdopted {
		if s.WeCom == nil {
			return ErrNotConfigured
		}
		if c.Pending {
			return &ConflictError{Code: "pending", Msg: "channel " + id + " is still being created in WeCom; retry in a minute"}
		}
		var err error
		switch c.Kind {
		case KindContactWay:
			err = s.WeCom.DelContactWay(ctx, c.ConfigID)
			var ae *wecom.APIError
			if errors.As(err, &ae) && ae.Code == wecom.CodeInvalidConfigID {
				err = nil // deleted in WeCom already
			}
		case KindAcquisitionLink:
			err = s.WeCom.DeleteAcquisitionLink(ctx, c.LinkID)
			var ae *wecom.APIError
			if errors.As(err, &ae) {
				// WeCom names no code for an unknown link: if it cannot
				// read the link either, the link is gone already.
				if _, gerr := s.WeCom.GetAcquisitionLink(ctx, c.LinkID); errors.As(gerr, &ae) {
					err = nil
				}
			}
		}
		if err != nil {
			return refusal(err)
		}
	}
	if err := s.Store.Delete(ctx, pkChannel, c.ID, store.Always); err != nil {
		return fmt.Errorf("delete channel %s: %w", c.ID, err)
	}
	s.release(ctx, c)
	return nil
}

// AdoptedID is the id of the channel adopted for state: stable, so
// adopting is idempotent, and URL-safe whatever the state holds.
func AdoptedID(state string) string {
	h := sha256.Sum256([]byte(state))
	return "adopted-" + hex.EncodeToString(h[:8])
}

// Adopt makes an unnamed channel of each state no channel owns (a way made
// in WeCom's admin console, a link opened with a customer_channel Siyu did
// not make) and returns how many it made. Idempotent: ids derive from the
// state and every write is conditional. It is run after the rollup over
// the states of the days it stored, never on a read.
func Adopt(ctx context.Context, st store.Store, states []string, now time.Time) (int, error) {
	slices.Sort(states)
	states = slices.Compact(states)
	s := &Service{Store: st, Logger: slog.Default(), Now: func() time.Time { return now }}
	made := 0
	for _, state := range states {
		if state == "" {
			continue
		}
		owner, err := s.stateOwner(ctx, state)
		if err != nil {
			return made, err
		}
		if owner != "" {
			continue
		}
		c := Channel{ID: AdoptedID(state), Draft: Draft{Kind: KindAdopted, State: state}, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
		v, err := s.put(ctx, c, store.IfAbsent)
		var ce *ConflictError
		switch {
		case errors.As(err, &ce):
			// Recorded by an earlier run cut short before its index.
		case err != nil:
			return made, err
		default:
			made++
		}
		c.Version = v
		if err := s.claim(ctx, c); err != nil {
			if errors.As(err, &ce) && v != 0 {
				// A channel was made with this state meanwhile.
				_ = st.Delete(ctx, pkChannel, c.ID, store.IfVersion(v))
				made--
				continue
			}
			return made, err
		}
	}
	return made, nil
}
