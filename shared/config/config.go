// Package config reads Siyu's configuration from the environment, the same
// names in every runtime (the README's "Configuration" table lists them).
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
)

// Config is every setting a function may need. Each function reads the
// part it uses; Missing tells which required names are absent.
type Config struct {
	CorpID         string
	CallbackToken  string
	EncodingAESKey string
	Secret         string
	AgentID        string
	APIBase        string

	Store         string
	AdminToken    string
	TZ            string
	Loc           *time.Location
	ReportWebhook string
	// ReportLang is the daily report's language: zh-CN (default) or en.
	ReportLang string
	PublicURL  string
	Addr       string

	// CallbackMaxSkew bounds how far a callback's timestamp may be from now.
	CallbackMaxSkew time.Duration
}

// Getenv is how config reads a name; tests pass a map's lookup.
type Getenv func(string) string

// FromEnv reads the process environment.
func FromEnv() (Config, error) { return Load(os.Getenv) }

// Load reads settings through get.
func Load(get Getenv) (Config, error) {
	c := Config{
		CorpID:          strings.TrimSpace(get("WECOM_CORP_ID")),
		CallbackToken:   strings.TrimSpace(get("WECOM_CALLBACK_TOKEN")),
		EncodingAESKey:  strings.TrimSpace(get("WECOM_ENCODING_AES_KEY")),
		Secret:          strings.TrimSpace(get("WECOM_SECRET")),
		AgentID:         strings.TrimSpace(get("WECOM_AGENT_ID")),
		APIBase:         strings.TrimRight(strings.TrimSpace(get("WECOM_API_BASE")), "/"),
		Store:           strings.TrimSpace(get("SIYU_STORE")),
		AdminToken:      strings.TrimSpace(get("SIYU_ADMIN_TOKEN")),
		TZ:              strings.TrimSpace(get("SIYU_TZ")),
		ReportWebhook:   strings.TrimSpace(get("SIYU_REPORT_WEBHOOK")),
		PublicURL:       strings.TrimRight(strings.TrimSpace(get("SIYU_PUBLIC_URL")), "/"),
		Addr:            strings.TrimSpace(get("SIYU_ADDR")),
		CallbackMaxSkew: time.Hour,
	}
	if c.APIBase == "" {
		c.APIBase = "https://qyapi.weixin.qq.com"
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	loc, err := calendar.Zone(c.TZ)
	if err != nil {
		return c, err
	}
	c.Loc = loc
	if c.TZ == "" {
		c.TZ = calendar.DefaultZone
	}
	switch c.ReportLang {
	case "", "zh-CN", "en":
	default:
		return c, fmt.Errorf("SIYU_REPORT_LANG %q: want zh-CN or en", c.ReportLang)
	}
	if v := strings.TrimSpace(get("SIYU_CALLBACK_MAX_SKEW")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SIYU_CALLBACK_MAX_SKEW %q: want a positive duration like 1h", v)
		}
		c.CallbackMaxSkew = d
	}
	return c, nil
}

// Require returns an error naming every empty setting among names.
func (c Config) Require(names ...string) error {
	var missing []string
	for _, n := range names {
		if c.value(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing configuration: %s", strings.Join(missing, ", "))
	}
	return nil
}

// HasWeCom reports whether real WeCom credentials are configured.
func (c Config) HasWeCom() bool {
	return c.CorpID != "" && c.CallbackToken != "" && c.EncodingAESKey != ""
}

func (c Config) value(name string) string {
	switch name {
	case "WECOM_CORP_ID":
		return c.CorpID
	case "WECOM_CALLBACK_TOKEN":
		return c.CallbackToken
	case "WECOM_ENCODING_AES_KEY":
		return c.EncodingAESKey
	case "WECOM_SECRET":
		return c.Secret
	case "WECOM_AGENT_ID":
		return c.AgentID
	case "SIYU_STORE":
		return c.Store
	case "SIYU_ADMIN_TOKEN":
		return c.AdminToken
	case "SIYU_REPORT_WEBHOOK":
		return c.ReportWebhook
	case "SIYU_PUBLIC_URL":
		return c.PublicURL
	}
	return ""
}

// ErrNoAgent is returned where an agent id is needed but absent.
var ErrNoAgent = errors.New("WECOM_AGENT_ID is not set")

// AgentIDInt parses WECOM_AGENT_ID.
func (c Config) AgentIDInt() (int, error) {
	if c.AgentID == "" {
		return 0, ErrNoAgent
	}
	return strconv.Atoi(c.AgentID)
}
