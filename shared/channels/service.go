package channels

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// WeCom is what the service asks of WeCom; *wecom.Client is one.
type WeCom interface {
	AddContactWay(ctx context.Context, w wecom.ContactWay) (wecom.ContactWayCreated, error)
	GetContactWay(ctx context.Context, configID string) (wecom.ContactWay, error)
	ListContactWays(ctx context.Context, req wecom.ContactWayListRequest) (wecom.ContactWayPage, error)
	UpdateContactWay(ctx context.Context, u wecom.ContactWayUpdate) error
	DelContactWay(ctx context.Context, configID string) error
	CreateAcquisitionLink(ctx context.Context, spec wecom.AcquisitionLinkSpec) (wecom.AcquisitionLink, error)
	GetAcquisitionLink(ctx context.Context, linkID string) (wecom.AcquisitionLinkDetail, error)
	ListAcquisitionLinks(ctx context.Context, cursor string, limit int) (wecom.AcquisitionLinkPage, error)
	UpdateAcquisitionLink(ctx context.Context, u wecom.AcquisitionLinkUpdate) error
	DeleteAcquisitionLink(ctx context.Context, linkID string) error
	GetCorpTagList(ctx context.Context, tagIDs, groupIDs []string) ([]wecom.CorpTagGroup, error)
	AddCorpTag(ctx context.Context, a wecom.CorpTagAdd) (wecom.CorpTagGroup, error)
	EditCorpTag(ctx context.Context, e wecom.CorpTagEdit) error
	DelCorpTag(ctx context.Context, tagIDs, groupIDs []string) error
}

var _ WeCom = (*wecom.Client)(nil)

// ErrNotConfigured is answered by what must call WeCom when no credentials
// are configured (WECOM_CORP_ID, WECOM_SECRET).
var ErrNotConfigured = errors.New("WeCom credentials are not configured (WECOM_CORP_ID, WECOM_SECRET): channels and tags cannot be changed")

// ConflictError is a request that collides with the stored state (a state
// another channel owns, a concurrent change); it answers 409 with Code.
type ConflictError struct{ Code, Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// WeComError is WeCom refusing a call for a reason the caller cannot fix
// by changing a field; it answers 502 with WeCom's errcode.
type WeComError struct{ Err *wecom.APIError }

func (e *WeComError) Error() string { return e.Err.Error() }
func (e *WeComError) Unwrap() error { return e.Err }

// Service manages a brand's channels and its tag library in WeCom, and
// keeps Siyu's record of each channel.
type Service struct {
	Store  store.Store
	WeCom  WeCom // nil without credentials
	Logger *slog.Logger
	Now    func() time.Time
}

// New returns the service over st and wc (nil, or a nil *wecom.Client,
// without credentials: reads work, changes answer ErrNotConfigured).
func New(st store.Store, wc WeCom, _ *time.Location, logger *slog.Logger, now func() time.Time) *Service {
	if c, ok := wc.(*wecom.Client); ok && c == nil {
		wc = nil
	}
	if logger == nil {
		logger = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Service{Store: st, WeCom: wc, Logger: logger, Now: now}
}

// Configured reports whether the service can change WeCom.
func (s *Service) Configured() bool { return s.WeCom != nil }

// Way types of a contact way.
const (
	TypeSingle = "single"
	TypeMulti  = "multi"
)

func nameOK(name string) error {
	if strings.TrimSpace(name) == "" {
		return bad("name", "is required")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameChars {
		return bad("name", "%d characters, at most %d", n, MaxNameChars)
	}
	return nil
}

// validateWay checks who a managed channel hands customers to.
func validateWay(kind, typ string, members []string, departments []int, remark string) error {
	for i, m := range members {
		if err := idOK(fmt.Sprintf("members[%d]", i), m); err != nil {
			return err
		}
	}
	for i, d := range departments {
		if d < 1 {
			return bad(fmt.Sprintf("departments[%d]", i), "%d is not a department id", d)
		}
	}
	if n := utf8.RuneCountInString(remark); n > MaxRemarkChars {
		return bad("remark", "%d characters, at most %d", n, MaxRemarkChars)
	}
	switch kind {
	case KindContactWay:
		switch typ {
		case TypeSingle:
			if len(members) != 1 || len(departments) != 0 {
				return bad("members", "a single contact way takes exactly one member and no department")
			}
		case TypeMulti:
			if len(members) == 0 && len(departments) == 0 {
				return bad("members", "a contact way needs members or departments")
			}
			if len(members) > wecom.MaxContactWayUsers {
				return bad("members", "%d members, at most %d", len(members), wecom.MaxContactWayUsers)
			}
		default:
			return bad("type", "%q is not single or multi", typ)
		}
	case KindAcquisitionLink:
		if typ != "" {
			return bad("type", "only a contact way has a type")
		}
		if len(members) == 0 && len(departments) == 0 {
			return bad("members", "an acquisition link needs members or departments")
		}
		if len(members) > wecom.MaxAcquisitionRangeUsers {
			return bad("members", "%d members, at most %d", len(members), wecom.MaxAcquisitionRangeUsers)
		}
	}
	return nil
}

func validateTags(tags []string) error {
	if len(tags) > MaxTags {
		return bad("tags", "%d tags, at most %d", len(tags), MaxTags)
	}
	for i, t := range tags {
		if err := idOK(fmt.Sprintf("tags[%d]", i), t); err != nil {
			return err
		}
	}
	return nil
}

// validate checks everything of d that needs neither WeCom nor the store.
func (d *Draft) validate() error {
	if err := nameOK(d.Name); err != nil {
		return err
	}
	switch d.Kind {
	case KindContactWay:
		if d.Type == "" {
			d.Type = TypeMulti
		}
	case KindAcquisitionLink:
	case "":
		return bad("kind", "is required: contact_way or acquisition_link")
	default:
		return bad("kind", "%q is not contact_way or acquisition_link", d.Kind)
	}
	if d.State != "" {
		if n := utf8.RuneCountInString(d.State); n > MaxStateLen {
			return bad("state", "%d characters, at most %d", n, MaxStateLen)
		}
		if !stateOK(d.State) {
			return bad("state", "%q: only letters, digits, '_', '-' and '.'", d.State)
		}
	}
	if err := validateWay(d.Kind, d.Type, d.Members, d.Departments, d.Remark); err != nil {
		return err
	}
	if err := validateTags(d.Tags); err != nil {
		return err
	}
	return ValidateWelcome("welcome", d.Welcome)
}

// checkTags answers a FieldError naming the first tag the corp's library
// does not have.
func (s *Service) checkTags(ctx context.Context, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	groups, err := s.WeCom.GetCorpTagList(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read the tag library: %w", err)
	}
	known := map[string]bool{}
	for _, g := range groups {
		for _, t := range g.Tags {
			known[t.ID] = true
		}
	}
	for i, t := range tags {
		if !known[t] {
			return bad(fmt.Sprintf("tags[%d]", i), "no tag %q in the corp's tag library", t)
		}
	}
	return nil
}

// newID is a fresh channel id, also the default state: short and URL-safe.
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "ch" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// stateOwner reads who owns state: "" when nobody does (no index, or an
// index left behind by a delete cut short).
func (s *Service) stateOwner(ctx context.Context, state string) (string, error) {
	c, ok, err := ByState(ctx, s.Store, state)
	if err != nil || !ok {
		return "", err
	}
	return c.ID, nil
}

// Create makes the channel in WeCom and records it.
//
// The way is lost if its config_id is (WeCom lists ways made through the
// API only by config_id, and the admin console does not show them), so
// the record is written before WeCom is called: the record (pending), then
// the state index (if absent), then WeCom, then the record again with the
// config_id or link. WeCom refusing undoes both writes. A crash in between
// leaves a pending record that Repair settles from WeCom's lists.
func (s *Service) Create(ctx context.Context, d Draft) (Channel, error) {
	if s.WeCom == nil {
		return Channel{}, ErrNotConfigured
	}
	if err := d.validate(); err != nil {
		return Channel{}, err
	}
	if err := s.checkTags(ctx, d.Tags); err != nil {
		return Channel{}, err
	}
	id := newID()
	if d.State == "" {
		d.State = id
	} else if owner, err := s.stateOwner(ctx, d.State); err != nil {
		return Channel{}, err
	} else if owner != "" {
		return Channel{}, stateTaken(d.State, owner)
	}
	now := s.Now().UTC()
	d.Name = strings.TrimSpace(d.Name)
	if d.Welcome.Empty() {
		d.Welcome = nil
	}
	c := Channel{ID: id, Draft: d, Pending: true, CreatedAt: now, UpdatedAt: now}
	var err error
	if c.Version, err = s.put(ctx, c, store.IfAbsent); err != nil {
		return Channel{}, err
	}
	if err := s.claim(ctx, c); err != nil {
		s.undo(ctx, c, false)
		return Channel{}, err
	}
	if err := s.createInWeCom(ctx, &c); err != nil {
		var ae *wecom.APIError
		if !errors.As(err, &ae) {
			// No answer: WeCom may have made the way. Keep the pending
			// record for Repair rather than lose a way made.
			s.Logger.LogAttrs(ctx, slog.LevelWarn, "channel create: no answer from WeCom; kept pending",
				slog.String("channel", c.ID), slog.String("err", err.Error()))
			return Channel{}, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		s.undo(ctx, c, true)
		return Channel{}, refusal(err)
	}
	c.Pending = false
	if c.Version, err = s.put(ctx, c, store.IfVersion(c.Version)); err != nil {
		// The way exists in WeCom; the pending record lets Repair find it.
		s.Logger.LogAttrs(ctx, slog.LevelError, "channel made in WeCom but not recorded; Repair will settle it",
			slog.String("channel", c.ID), slog.String("config_id", c.ConfigID), slog.String("link_id", c.LinkID), slog.String("err", err.Error()))
		return Channel{}, err
	}
	return c, nil
}

func stateTaken(state, owner string) error {
	return &ConflictError{Code: "state_taken", Msg: fmt.Sprintf("state: %q already belongs to channel %s", state, owner)}
}

// claim takes c's state in the index; an index left by a delete cut short
// (its channel gone) is taken over.
func (s *Service) claim(ctx context.Context, c Channel) error {
	for range 2 {
		_, err := s.Store.Put(ctx, store.Item{PK: pkState, SK: c.State, Data: []byte(c.ID)}, store.IfAbsent)
		if !errors.Is(err, store.ErrConditionFailed) {
			return err
		}
		it, err := s.Store.Get(ctx, pkState, c.State)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		owner := string(it.Data)
		if owner == c.ID {
			return nil
		}
		if _, err := Get(ctx, s.Store, owner); !errors.Is(err, ErrNotFound) {
			if err != nil {
				return err
			}
			return stateTaken(c.State, owner)
		}
		// Records are written before their index and deleted before it:
		// an index without its record is stale.
		if err := s.Store.Delete(ctx, pkState, c.State, store.IfVersion(it.Version)); err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return err
		}
	}
	return stateTaken(c.State, "?")
}

// undo removes what Create wrote; it runs even when ctx is canceled.
func (s *Service) undo(ctx context.Context, c Channel, claimed bool) {
	ctx = context.WithoutCancel(ctx)
	if err := s.Store.Delete(ctx, pkChannel, c.ID, store.Always); err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelError, "undo channel record", slog.String("channel", c.ID), slog.String("err", err.Error()))
	}
	if claimed {
		s.release(ctx, c)
	}
}

// release deletes c's state index if it still names c.
func (s *Service) release(ctx context.Context, c Channel) {
	it, err := s.Store.Get(ctx, pkState, c.State)
	if err == nil && string(it.Data) == c.ID {
		err = s.Store.Delete(ctx, pkState, c.State, store.IfVersion(it.Version))
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConditionFailed) {
		s.Logger.LogAttrs(ctx, slog.LevelError, "release channel state", slog.String("channel", c.ID), slog.String("err", err.Error()))
	}
}

func (s *Service) put(ctx context.Context, c Channel, cond store.Cond) (int64, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	it, err := s.Store.Put(ctx, store.Item{PK: pkChannel, SK: c.ID, Data: data}, cond)
	if errors.Is(err, store.ErrConditionFailed) {
		return 0, &ConflictError{Code: "conflict", Msg: "channel " + c.ID + " changed meanwhile; read it again"}
	}
	if err != nil {
		return 0, fmt.Errorf("store channel %s: %w", c.ID, err)
	}
	return it.Version, nil
}

// linkName is a channel's name cut to WeCom's bound on a link's name.
func linkName(name string) string {
	if utf8.RuneCountInString(name) <= wecom.MaxAcquisitionLinkNameChars {
		return name
	}
	return string([]rune(name)[:wecom.MaxAcquisitionLinkNameChars])
}

func wayType(t string) int {
	if t == TypeSingle {
		return wecom.ContactWaySingle
	}
	return wecom.ContactWayMulti
}

func (s *Service) createInWeCom(ctx context.Context, c *Channel) error {
	switch c.Kind {
	case KindContactWay:
		ans, err := s.WeCom.AddContactWay(ctx, wecom.ContactWay{Type: wayType(c.Type), Scene: wecom.ContactWaySceneQRCode,
			Remark: c.Remark, SkipVerify: c.SkipVerify, State: c.State, User: c.Members, Party: c.Departments})
		if err != nil {
			return err
		}
		c.ConfigID, c.QRCode = ans.ConfigID, ans.QRCode
	case KindAcquisitionLink:
		l, err := s.WeCom.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: linkName(c.Name),
			Range: wecom.AcquisitionRange{UserList: c.Members, DepartmentList: c.Departments}, SkipVerify: c.SkipVerify})
		if err != nil {
			return err
		}
		c.LinkID = l.LinkID
		u, err := wecom.AcquisitionURL(l.URL, c.State)
		if err != nil {
			return err
		}
		c.LinkURL = u
	}
	return nil
}

// codeInvalidParty is WeCom's 不合法的部门列表 (an unknown department).
const codeInvalidParty = 40066

// refusal turns what WeCom answered into an error naming the field it
// concerns where one does.
func refusal(err error) error {
	var ae *wecom.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case wecom.CodeInvalidUserID:
		return bad("members", "WeCom does not know a member (errcode %d: %s)", ae.Code, ae.Msg)
	case codeInvalidParty:
		return bad("departments", "WeCom does not know a department (errcode %d: %s)", ae.Code, ae.Msg)
	case wecom.CodeContactWayTooManyUsers:
		return bad("members", "over WeCom's limit of members (errcode %d)", ae.Code)
	case wecom.CodeAcquisitionLinkLimit:
		return &ConflictError{Code: "link_quota", Msg: fmt.Sprintf("WeCom's quota of acquisition links is used up (errcode %d)", ae.Code)}
	}
	return &WeComError{Err: ae}
}

// List reads every channel, oldest first, after settling any left
// pending past PendingGrace (Repair; a failed repair is logged and the
// channels are listed as they are).
func (s *Service) List(ctx context.Context) ([]Channel, error) {
	all, err := List(ctx, s.Store)
	if err != nil {
		return nil, err
	}
	n, err := s.Repair(ctx, all)
	if err != nil {
		s.Logger.LogAttrs(ctx, slog.LevelError, "repair pending channels", slog.String("err", err.Error()))
	}
	if n == 0 {
		return all, nil
	}
	return List(ctx, s.Store)
}

// List reads every channel in st, oldest first.
func List(ctx context.Context, st store.Store) ([]Channel, error) {
	items, err := store.QueryAll(ctx, st, store.Query{PK: pkChannel, Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("read channels: %w", err)
	}
	out := make([]Channel, 0, len(items))
	for _, it := range items {
		var c Channel
		if err := json.Unmarshal(it.Data, &c); err != nil {
			return nil, fmt.Errorf("channels: decode %s: %w", it.SK, err)
		}
		c.Version = it.Version
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Channel) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Names maps each state a channel owns to the channel's name (empty for an
// unnamed adopted channel).
func Names(ctx context.Context, st store.Store) (map[string]string, error) {
	all, err := List(ctx, st)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(all))
	for _, c := range all {
		out[c.State] = c.Name
	}
	return out, nil
}

// Get reads one channel.
func (s *Service) Get(ctx context.Context, id string) (Channel, error) { return Get(ctx, s.Store, id) }
