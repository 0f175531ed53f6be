package channels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// PendingGrace is how long a pending channel is left to its Create before
// Repair settles it: a create in flight finishes well within it.
const PendingGrace = 2 * time.Minute

// ErrOutcomeUnknown is a create whose WeCom answer was lost: the channel
// stays pending and Repair settles it from WeCom's lists.
var ErrOutcomeUnknown = errors.New("WeCom's answer was lost: the channel is kept pending and settled from WeCom's lists within minutes")

// Repair settles channels left pending (a crash, or WeCom's answer lost,
// between the pending record and the config_id): each older than
// PendingGrace is looked for among the ways or links Siyu made — a way by
// its state among those list_contact_way names around its creation, a
// link by its name and creation time among list_link's — and either
// completed or, when WeCom has none, removed with its state. It returns
// how many it settled. Without WeCom it does nothing.
func (s *Service) Repair(ctx context.Context, all []Channel) (int, error) {
	if s.WeCom == nil {
		return 0, nil
	}
	now := s.Now()
	var links map[string]bool // link ids some settled channel holds
	settled := 0
	for _, c := range all {
		if !c.Pending || now.Sub(c.CreatedAt) < PendingGrace {
			continue
		}
		var found bool
		var err error
		switch c.Kind {
		case KindContactWay:
			found, err = s.findWay(ctx, &c)
		case KindAcquisitionLink:
			if links == nil {
				links = map[string]bool{}
				for _, o := range all {
					if o.LinkID != "" {
						links[o.LinkID] = true
					}
				}
			}
			found, err = s.findLink(ctx, &c, links)
		}
		if err != nil {
			return settled, fmt.Errorf("repair channel %s: %w", c.ID, err)
		}
		if found {
			c.Pending, c.UpdatedAt = false, now.UTC()
			if _, err := s.put(ctx, c, store.IfVersion(c.Version)); err != nil {
				return settled, err
			}
			s.Logger.LogAttrs(ctx, slog.LevelInfo, "pending channel found in WeCom", slog.String("channel", c.ID))
		} else {
			if err := s.Store.Delete(ctx, pkChannel, c.ID, store.IfVersion(c.Version)); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return settled, err
			}
			s.release(ctx, c)
			s.Logger.LogAttrs(ctx, slog.LevelInfo, "pending channel not in WeCom: removed", slog.String("channel", c.ID))
		}
		settled++
	}
	return settled, nil
}

func (s *Service) findWay(ctx context.Context, c *Channel) (bool, error) {
	req := wecom.ContactWayListRequest{StartTime: c.CreatedAt.Add(-time.Minute).Unix(),
		EndTime: c.CreatedAt.Add(PendingGrace).Unix(), Limit: wecom.MaxContactWayListLimit}
	for {
		page, err := s.WeCom.ListContactWays(ctx, req)
		if err != nil {
			return false, err
		}
		for _, id := range page.ConfigIDs {
			w, err := s.WeCom.GetContactWay(ctx, id)
			if err != nil {
				return false, err
			}
			if w.State == c.State {
				c.ConfigID, c.QRCode = id, w.QRCode
				return true, nil
			}
		}
		if page.NextCursor == "" {
			return false, nil
		}
		req.Cursor = page.NextCursor
	}
}

func (s *Service) findLink(ctx context.Context, c *Channel, taken map[string]bool) (bool, error) {
	from, to := c.CreatedAt.Add(-time.Minute).Unix(), c.CreatedAt.Add(PendingGrace).Unix()
	cursor := ""
	for {
		page, err := s.WeCom.ListAcquisitionLinks(ctx, cursor, wecom.MaxAcquisitionListLimit)
		if err != nil {
			return false, err
		}
		for _, id := range page.LinkIDs {
			if taken[id] {
				continue
			}
			l, err := s.WeCom.GetAcquisitionLink(ctx, id)
			if err != nil {
				return false, err
			}
			if l.Link.LinkName == linkName(c.Name) && l.Link.CreateTime >= from && l.Link.CreateTime <= to {
				u, err := wecom.AcquisitionURL(l.Link.URL, c.State)
				if err != nil {
					return false, err
				}
				c.LinkID, c.LinkURL = id, u
				taken[id] = true
				return true, nil
			}
		}
		if page.NextCursor == "" {
			return false, nil
		}
		cursor = page.NextCursor
	}
}
