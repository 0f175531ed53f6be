// Package channels is a brand's first-touch configuration: its channels
// (「联系我」 contact ways and 获客助手 acquisition links, each carrying a
// state into the add events it brings), what a new customer gets from each
// (a welcome message and tags), and the brand's settings (default welcome,
// churn alerts, 删人提醒 rules, report language).
//
// Store layout (one key-value table):
//
//	channel          sk <id>            Channel JSON (versioned)
//	channel#state    sk <state>         Data = channel id: the state index
//	settings         sk brand           Settings JSON (versioned)
//
// A channel's state is its id unless the operator chose one; a state seen in
// events that no channel owns is adopted as an unnamed channel (Kind
// "adopted", id AdoptedID(state)) the operator can name.
package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/siyuhq/siyu/shared/store"
)

// Kinds of channel.
const (
	KindContactWay      = "contact_way"
	KindAcquisitionLink = "acquisition_link"
	// KindAdopted is a state seen in events that no channel owned (a way
	// made in WeCom's admin console): counted, nameable, not managed.
	KindAdopted = "adopted"
)

// WeCom's limits on what a channel and a welcome carry.
const (
	MaxStateLen         = 30   // characters of a contact way's state
	MaxWelcomeText      = 4000 // bytes of a welcome's text
	MaxAttachments      = 9    // attachments of a welcome
	NicknamePlaceholder = "%NICKNAME%"
)

// Attachment is one welcome attachment. Image, video and file attachments
// name their content by URL (fetched and uploaded to WeCom once, the
// media_id cached within its 3-day life) or by an existing MediaID.
type Attachment struct {
	Type    string `json:"type"` // image | link | miniprogram | video | file
	URL     string `json:"url,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	// Link: Title (required), Desc, PicURL; URL is the target.
	Title  string `json:"title,omitempty"`
	Desc   string `json:"desc,omitempty"`
	PicURL string `json:"pic_url,omitempty"`
	// Miniprogram: Title, AppID, Page, and its cover as URL or MediaID.
	AppID string `json:"appid,omitempty"`
	Page  string `json:"page,omitempty"`
}

// Welcome is a welcome message. Text may carry %NICKNAME%, replaced by the
// customer's name.
type Welcome struct {
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Empty reports whether w sends nothing.
func (w *Welcome) Empty() bool { return w == nil || (w.Text == "" && len(w.Attachments) == 0) }

// Draft is what the operator sets of a channel: the body of
// POST /api/channels, and the part of Channel it keeps.
type Draft struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Type is a contact way's: "single" or "multi".
	Type        string   `json:"type,omitempty"`
	Members     []string `json:"members,omitempty"`
	Departments []int    `json:"departments,omitempty"`
	SkipVerify  bool     `json:"skip_verify"`
	Remark      string   `json:"remark,omitempty"`
	// Tags are corp tag ids applied to every relationship the channel brings.
	Tags []string `json:"tags,omitempty"`
	// Welcome, when set, replaces the default welcome for this channel.
	Welcome *Welcome `json:"welcome,omitempty"`
}

// Channel is one channel: its draft as created (and since patched), and
// what WeCom answered. The draft's fields are the channel's own in JSON.
type Channel struct {
	ID string `json:"id"`
	Draft
	// Contact way: ConfigID is WeCom's handle (ways made through the API
	// never show in the admin console, so losing it loses the way); QRCode
	// is the QR image URL.
	ConfigID string `json:"config_id,omitempty"`
	QRCode   string `json:"qr_code,omitempty"`
	// Acquisition link: LinkID and its URL (state appended as
	// customer_channel).
	LinkID  string `json:"link_id,omitempty"`
	LinkURL string `json:"link_url,omitempty"`

	// Pending is set while WeCom is asked to create the way or link: a
	// record left pending by a crash is repaired from WeCom's lists (see
	// Service.Repair).
	Pending   bool      `json:"pending,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version is the store version, for conditional updates.
	Version int64 `json:"-"`
}

// ChurnAlert tells a member when a customer deletes them (del_follow_user).
type ChurnAlert struct {
	Enabled bool `json:"enabled"`
}

// DeletionAlert (删人提醒) tells the admins when a member deletes more than
// Threshold customers within WindowMinutes.
type DeletionAlert struct {
	Enabled       bool     `json:"enabled"`
	Threshold     int      `json:"threshold"`
	WindowMinutes int      `json:"window_minutes"`
	Admins        []string `json:"admins"`
}

// Settings are the brand's first-touch and alert settings.
type Settings struct {
	DefaultWelcome *Welcome      `json:"default_welcome,omitempty"`
	ChurnAlert     ChurnAlert    `json:"churn_alert"`
	DeletionAlert  DeletionAlert `json:"deletion_alert"`
	// ReportLang is "zh-CN" or "en"; empty keeps SIYU_REPORT_LANG.
	ReportLang string    `json:"report_lang,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
	Version    int64     `json:"-"`
}

// DefaultSettings are the settings of a brand that saved none: churn alerts
// on, 删人提醒 on at more than 10 deletions within an hour (to no admin until
// some are named), no default welcome.
func DefaultSettings() Settings {
	return Settings{
		ChurnAlert:    ChurnAlert{Enabled: true},
		DeletionAlert: DeletionAlert{Enabled: true, Threshold: 10, WindowMinutes: 60},
	}
}

// Keys.
const (
	pkChannel  = "channel"
	pkState    = "channel#state"
	pkSettings = "settings"
	skSettings = "brand"
)

// ErrNotFound is answered for an unknown channel.
var ErrNotFound = errors.New("channels: no such channel")

// Get reads the channel with id.
func Get(ctx context.Context, st store.Store, id string) (Channel, error) {
	it, err := st.Get(ctx, pkChannel, id)
	if errors.Is(err, store.ErrNotFound) {
		return Channel{}, ErrNotFound
	}
	if err != nil {
		return Channel{}, err
	}
	var c Channel
	if err := json.Unmarshal(it.Data, &c); err != nil {
		return Channel{}, fmt.Errorf("channels: decode %s: %w", id, err)
	}
	c.Version = it.Version
	return c, nil
}

// ByState reads the channel that owns state; ok is false when none does.
func ByState(ctx context.Context, st store.Store, state string) (c Channel, ok bool, err error) {
	if state == "" {
		return Channel{}, false, nil
	}
	it, err := st.Get(ctx, pkState, state)
	if errors.Is(err, store.ErrNotFound) {
		return Channel{}, false, nil
	}
	if err != nil {
		return Channel{}, false, err
	}
	c, err = Get(ctx, st, string(it.Data))
	if errors.Is(err, ErrNotFound) {
		return Channel{}, false, nil
	}
	return c, err == nil, err
}

// LoadSettings reads the brand's settings, DefaultSettings when none saved.
func LoadSettings(ctx context.Context, st store.Store) (Settings, error) {
	it, err := st.Get(ctx, pkSettings, skSettings)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	s := DefaultSettings()
	if err := json.Unmarshal(it.Data, &s); err != nil {
		return Settings{}, fmt.Errorf("channels: decode settings: %w", err)
	}
	s.Version = it.Version
	return s, nil
}

// Rule is what a new relationship through state gets: the channel (nil when
// no channel owns the state), the welcome to send (the channel's, else the
// default; nil for none) and the tags to apply.
type Rule struct {
	Channel *Channel
	Welcome *Welcome
	Tags    []string
}

// RuleFor reads the rule for a relationship added with state.
func RuleFor(ctx context.Context, st store.Store, state string) (Rule, error) {
	set, err := LoadSettings(ctx, st)
	if err != nil {
		return Rule{}, err
	}
	var r Rule
	c, ok, err := ByState(ctx, st, state)
	if err != nil {
		return Rule{}, err
	}
	if ok {
		r.Channel, r.Tags = &c, c.Tags
		if !c.Welcome.Empty() {
			r.Welcome = c.Welcome
		}
	}
	if r.Welcome == nil && !set.DefaultWelcome.Empty() {
		r.Welcome = set.DefaultWelcome
	}
	return r, nil
}
