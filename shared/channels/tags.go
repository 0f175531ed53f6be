package channels

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Tag is an enterprise customer tag; a larger Order sorts first.
type Tag struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Order int64  `json:"order"`
}

// TagGroup is a tag group with its tags.
type TagGroup struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Order int64  `json:"order"`
	Tags  []Tag  `json:"tags"`
}

// NewTags adds tags to the group GroupID, or else to the group named
// GroupName (created when none has that name).
type NewTags struct {
	GroupID   string   `json:"group_id,omitempty"`
	GroupName string   `json:"group_name,omitempty"`
	Order     int64    `json:"order,omitempty"`
	Tags      []NewTag `json:"tags"`
}

// NewTag is one tag to create.
type NewTag struct {
	Name  string `json:"name"`
	Order int64  `json:"order,omitempty"`
}

// TagEdit renames or reorders a tag or a group; a zero Order keeps it.
type TagEdit struct {
	Name  string `json:"name"`
	Order int64  `json:"order,omitempty"`
}

// MaxNewTags bounds one POST /api/tags.
const MaxNewTags = 100

// ErrNoTag is answered for a tag or group id the library does not have.
var ErrNoTag = errors.New("channels: no such tag or tag group")

func tagNameOK(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return bad(field, "is required")
	}
	if n := utf8.RuneCountInString(name); n > wecom.MaxTagNameChars {
		return bad(field, "%d characters, at most %d", n, wecom.MaxTagNameChars)
	}
	return nil
}

func groupOf(g wecom.CorpTagGroup) TagGroup {
	out := TagGroup{ID: g.GroupID, Name: g.GroupName, Order: g.Order, Tags: make([]Tag, 0, len(g.Tags))}
	for _, t := range g.Tags {
		out.Tags = append(out.Tags, Tag{ID: t.ID, Name: t.Name, Order: t.Order})
	}
	return out
}

// Tags reads the corp's tag library, as WeCom orders it.
func (s *Service) Tags(ctx context.Context) ([]TagGroup, error) {
	if s.WeCom == nil {
		return nil, ErrNotConfigured
	}
	groups, err := s.WeCom.GetCorpTagList(ctx, nil, nil)
	if err != nil {
		return nil, tagRefusal(err)
	}
	out := make([]TagGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, groupOf(g))
	}
	return out, nil
}

// AddTags creates tags and answers their group with the new tags.
func (s *Service) AddTags(ctx context.Context, a NewTags) (TagGroup, error) {
	if s.WeCom == nil {
		return TagGroup{}, ErrNotConfigured
	}
	switch {
	case a.GroupID != "" && a.GroupName != "":
		return TagGroup{}, bad("group_id", "give group_id or group_name, not both")
	case a.GroupID == "":
		if err := tagNameOK("group_name", a.GroupName); err != nil {
			return TagGroup{}, err
		}
	}
	if len(a.Tags) == 0 {
		return TagGroup{}, bad("tags", "at least one tag is required (WeCom keeps no empty group)")
	}
	if len(a.Tags) > MaxNewTags {
		return TagGroup{}, bad("tags", "%d tags, at most %d", len(a.Tags), MaxNewTags)
	}
	seen := map[string]bool{}
	req := wecom.CorpTagAdd{GroupID: a.GroupID, GroupName: a.GroupName, Order: a.Order}
	for i, t := range a.Tags {
		field := fmt.Sprintf("tags[%d].name", i)
		if err := tagNameOK(field, t.Name); err != nil {
			return TagGroup{}, err
		}
		if seen[t.Name] {
			return TagGroup{}, bad(field, "%q is given twice", t.Name)
		}
		seen[t.Name] = true
		req.Tags = append(req.Tags, wecom.NewCorpTag{Name: t.Name, Order: t.Order})
	}
	g, err := s.WeCom.AddCorpTag(ctx, req)
	if err != nil {
		return TagGroup{}, tagRefusal(err)
	}
	return groupOf(g), nil
}

// EditTag renames or reorders the tag or group id.
func (s *Service) EditTag(ctx context.Context, id string, e TagEdit) error {
	if s.WeCom == nil {
		return ErrNotConfigured
	}
	if err := tagNameOK("name", e.Name); err != nil {
		return err
	}
	return tagRefusal(s.WeCom.EditCorpTag(ctx, wecom.CorpTagEdit{ID: id, Name: e.Name, Order: e.Order}))
}

// Tag kinds for DeleteTag.
const (
	TagKindTag   = "tag"
	TagKindGroup = "group"
)

// DeleteTag deletes the tag or group id; kind "" looks id up in the
// library, since WeCom's group and tag ids look alike ("et…").
func (s *Service) DeleteTag(ctx context.Context, id, kind string) error {
	if s.WeCom == nil {
		return ErrNotConfigured
	}
	switch kind {
	case TagKindTag, TagKindGroup:
	case "":
		groups, err := s.WeCom.GetCorpTagList(ctx, nil, nil)
		if err != nil {
			return tagRefusal(err)
		}
	find:
		for _, g := range groups {
			if g.GroupID == id {
				kind = TagKindGroup
				break
			}
			for _, t := range g.Tags {
				if t.ID == id {
					kind = TagKindTag
					break find
				}
			}
		}
		if kind == "" {
			return ErrNoTag
		}
	default:
		return bad("kind", "%q is not tag or group", kind)
	}
	var err error
	if kind == TagKindGroup {
		err = s.WeCom.DelCorpTag(ctx, nil, []string{id})
	} else {
		err = s.WeCom.DelCorpTag(ctx, []string{id}, nil)
	}
	return tagRefusal(err)
}

func tagRefusal(err error) error {
	var ae *wecom.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case wecom.CodeInvalidTagID:
		return ErrNoTag
	case wecom.CodeDuplicateTagName:
		return &ConflictError{Code: "tag_exists", Msg: fmt.Sprintf("a tag or group of that name exists (errcode %d)", ae.Code)}
	case wecom.CodeInvalidTagName:
		return bad("name", "WeCom refuses the name (errcode %d: %s)", ae.Code, ae.Msg)
	}
	return &WeComError{Err: ae}
}
