// Package config reads Siyu's configuration from the environment, the same
// names in every runtime (the README's "Configuration" table lists them).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
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
	// FirstTouchFunction is the function the callback invokes
	// asynchronously with each new add or delete event (the poster, on
	// Lambda); empty leaves first touch to the poster's sweep.
	FirstTouchFunction string

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
		ReportLang:      strings.TrimSpace(get("SIYU_REPORT_LANG")),
		PublicURL:       strings.TrimRight(strings.TrimSpace(get("SIYU_PUBLIC_URL")), "/"),
		Addr:            strings.TrimSpace(get("SIYU_ADDR")),
		CallbackMaxSkew: time.Hour,
	}
	c.FirstTouchFunction = strings.TrimSpace(get("SIYU_FIRSTTOUCH_FUNCTION"))
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
	case "":
		c.ReportLang = "zh-CN"
	case "zh-CN", "en":
	default:
		return c, fmt.Errorf("SIYU_REPORT_LANG %q: want zh-CN or en", c.ReportLang)
	}
	// Errors about secrets name the variable and never quote its value.
	if c.EncodingAESKey != "" && (len(c.EncodingAESKey) != 43 || strings.IndexFunc(c.EncodingAESKey, notAlnum) >= 0) {
		return c, fmt.Errorf("WECOM_ENCODING_AES_KEY: want the 43 letters and digits of the admin console's EncodingAESKey (got %d characters)", len(c.EncodingAESKey))
	}
	if c.AgentID != "" {
		if n, err := strconv.Atoi(c.AgentID); err != nil || n <= 0 {
			return c, fmt.Errorf("WECOM_AGENT_ID %q: want the app's numeric AgentId", c.AgentID)
		}
	}
	if err := checkURL("WECOM_API_BASE", c.APIBase, true); err != nil {
		return c, err
	}
	if err := checkURL("SIYU_PUBLIC_URL", c.PublicURL, true); err != nil {
		return c, err
	}
	// The webhook URL carries the robot's key: never echoed.
	if err := checkURL("SIYU_REPORT_WEBHOOK", c.ReportWebhook, false); err != nil {
		return c, err
	}
	if c.Store != "" {
		// A mysql DSN carries a password: never echoed. The scheme is
		// checked when the store is opened (adapters register themselves).
		if scheme, arg, ok := strings.Cut(c.Store, ":"); !ok || scheme == "" || arg == "" {
			return c, errors.New("SIYU_STORE: want scheme:argument, e.g. sqlite:PATH, dynamodb:TABLE or mysql:DSN")
		}
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return c, fmt.Errorf("SIYU_ADDR %q: want host:port, e.g. 127.0.0.1:8080", c.Addr)
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

func notAlnum(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}

// checkURL accepts an empty value or an absolute http(s) URL. show says
// whether the value may be quoted in the error (not for secrets).
func checkURL(name, v string, show bool) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	if show {
		return fmt.Errorf("%s %q: want an absolute http(s) URL", name, v)
	}
	return fmt.Errorf("%s: want an absolute http(s) URL", name)
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
