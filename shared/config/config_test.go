package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/config"
)

const validAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func load(env map[string]string) (config.Config, error) {
	return config.Load(func(k string) string { return env[k] })
}

func TestLoadGivesTheDocumentedDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatalf("an empty environment is valid (demo mode): %v", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"WECOM_CORP_ID is empty, so the local stack runs the demo", c.CorpID, ""},
		{"WECOM_CALLBACK_TOKEN is empty", c.CallbackToken, ""},
		{"WECOM_ENCODING_AES_KEY is empty", c.EncodingAESKey, ""},
		{"WECOM_SECRET is empty", c.Secret, ""},
		{"WECOM_AGENT_ID is empty", c.AgentID, ""},
		{"WECOM_API_BASE is WeCom's own API", c.APIBase, "https://qyapi.weixin.qq.com"},
		{"SIYU_STORE is left to the runtime", c.Store, ""},
		{"SIYU_ADMIN_TOKEN is left to the runtime", c.AdminToken, ""},
		{"SIYU_TZ is Asia/Shanghai", c.TZ, "Asia/Shanghai"},
		{"the business-day zone is Asia/Shanghai", c.Loc.String(), "Asia/Shanghai"},
		{"SIYU_REPORT_WEBHOOK is empty (no report)", c.ReportWebhook, ""},
		{"SIYU_REPORT_LANG is Chinese", c.ReportLang, "zh-CN"},
		{"SIYU_PUBLIC_URL is empty", c.PublicURL, ""},
		{"SIYU_ADDR is loopback port 8080", c.Addr, "127.0.0.1:8080"},
		{"SIYU_CALLBACK_MAX_SKEW is an hour", c.CallbackMaxSkew, time.Hour},
		{"without credentials there is no WeCom", c.HasWeCom(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadReadsEveryDocumentedVariable(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		field func(config.Config) any
		want  any
	}{
		{"WECOM_CORP_ID is the corp id", map[string]string{"WECOM_CORP_ID": " ww123 "}, func(c config.Config) any { return c.CorpID }, "ww123"},
		{"WECOM_CALLBACK_TOKEN is the callback token", map[string]string{"WECOM_CALLBACK_TOKEN": "tok"}, func(c config.Config) any { return c.CallbackToken }, "tok"},
		{"WECOM_ENCODING_AES_KEY is the callback key", map[string]string{"WECOM_ENCODING_AES_KEY": validAESKey}, func(c config.Config) any { return c.EncodingAESKey }, validAESKey},
		{"WECOM_SECRET is the customer-contact secret", map[string]string{"WECOM_SECRET": "s3cret"}, func(c config.Config) any { return c.Secret }, "s3cret"},
		{"WECOM_AGENT_ID is the app's AgentId", map[string]string{"WECOM_AGENT_ID": "1000002"}, func(c config.Config) any { return c.AgentID }, "1000002"},
		{"WECOM_API_BASE loses its trailing slash", map[string]string{"WECOM_API_BASE": "http://127.0.0.1:9999/"}, func(c config.Config) any { return c.APIBase }, "http://127.0.0.1:9999"},
		{"SIYU_STORE names the store", map[string]string{"SIYU_STORE": "dynamodb:siyu"}, func(c config.Config) any { return c.Store }, "dynamodb:siyu"},
		{"SIYU_ADMIN_TOKEN is the bearer token", map[string]string{"SIYU_ADMIN_TOKEN": "admintok"}, func(c config.Config) any { return c.AdminToken }, "admintok"},
		{"SIYU_TZ chooses the business-day zone", map[string]string{"SIYU_TZ": "Europe/Paris"}, func(c config.Config) any { return c.Loc.String() }, "Europe/Paris"},
		{"SIYU_REPORT_WEBHOOK is the robot's URL", map[string]string{"SIYU_REPORT_WEBHOOK": "https://robot.example/send?key=k"}, func(c config.Config) any { return c.ReportWebhook }, "https://robot.example/send?key=k"},
		{"SIYU_REPORT_LANG=en switches the report to English", map[string]string{"SIYU_REPORT_LANG": "en"}, func(c config.Config) any { return c.ReportLang }, "en"},
		{"SIYU_REPORT_LANG=zh-CN keeps it Chinese", map[string]string{"SIYU_REPORT_LANG": "zh-CN"}, func(c config.Config) any { return c.ReportLang }, "zh-CN"},
		{"SIYU_PUBLIC_URL loses its trailing slash", map[string]string{"SIYU_PUBLIC_URL": "https://brand.example/s/"}, func(c config.Config) any { return c.PublicURL }, "https://brand.example/s"},
		{"SIYU_ADDR is the listen address", map[string]string{"SIYU_ADDR": "127.0.0.1:0"}, func(c config.Config) any { return c.Addr }, "127.0.0.1:0"},
		{"SIYU_CALLBACK_MAX_SKEW widens the replay window", map[string]string{"SIYU_CALLBACK_MAX_SKEW": "90m"}, func(c config.Config) any { return c.CallbackMaxSkew }, 90 * time.Minute},
		{"the three callback settings make a real receiver", map[string]string{"WECOM_CORP_ID": "ww1", "WECOM_CALLBACK_TOKEN": "t", "WECOM_ENCODING_AES_KEY": validAESKey},
			func(c config.Config) any { return c.HasWeCom() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tt.field(c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadRefusesInvalidValuesNamingTheVariable(t *testing.T) {
	tests := []struct {
		name     string
		variable string
		value    string
		secret   bool
	}{
		{"an unknown time zone", "SIYU_TZ", "Mars/Olympus", false},
		{"a report language that is not offered", "SIYU_REPORT_LANG", "fr", false},
		{"a replay window that is not a duration", "SIYU_CALLBACK_MAX_SKEW", "an hour", false},
		{"a negative replay window", "SIYU_CALLBACK_MAX_SKEW", "-1h", false},
		{"an AES key of the wrong length", "WECOM_ENCODING_AES_KEY", "short-secret-key", true},
		{"an AES key with punctuation", "WECOM_ENCODING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF+", true},
		{"an agent id that is not a number", "WECOM_AGENT_ID", "agent-7", false},
		{"an API base that is not a URL", "WECOM_API_BASE", "qyapi.weixin.qq.com", false},
		{"a public URL without a scheme", "SIYU_PUBLIC_URL", "brand.example/s", false},
		{"a webhook that is not a URL", "SIYU_REPORT_WEBHOOK", "robot-key-0f9e8d7c", true},
		{"a store given as a bare path", "SIYU_STORE", "/var/lib/siyu.db", false},
		{"a store with nothing after the scheme", "SIYU_STORE", "mysql:", false},
		{"a listen address without a port", "SIYU_ADDR", "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused with an error naming "+tt.variable, func(t *testing.T) {
			_, err := load(map[string]string{tt.variable: tt.value})
			if err == nil {
				t.Fatalf("%s=%q was accepted", tt.variable, tt.value)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("error %q does not name %s", err, tt.variable)
			}
			if tt.secret && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q contains the secret value", err)
			}
		})
	}
}

func TestNoErrorContainsASecretValue(t *testing.T) {
	// Every secret set to a recognizable value, next to one invalid
	// setting at a time: whichever error Load gives must not carry them.
	secrets := map[string]string{
		"WECOM_CALLBACK_TOKEN": "cbtoken-4b1d",
		"WECOM_SECRET":         "wecom-secret-9c2e",
		"SIYU_ADMIN_TOKEN":     "admin-token-77aa",
		"SIYU_REPORT_WEBHOOK":  "https://robot.example/send?key=robotkey-5e6f",
		"SIYU_STORE":           "mysql:siyu:dbpass-31ab@tcp(10.0.0.12:3306)/siyu",
	}
	invalid := map[string]string{
		"SIYU_TZ":                "Nowhere/Zone",
		"SIYU_REPORT_LANG":       "de",
		"SIYU_CALLBACK_MAX_SKEW": "soon",
		"WECOM_ENCODING_AES_KEY": "aeskey-secret-d00d",
		"WECOM_AGENT_ID":         "x",
		"WECOM_API_BASE":         "nope",
		"SIYU_PUBLIC_URL":        "nope",
		"SIYU_ADDR":              "nope",
	}
	for name, bad := range invalid {
		t.Run("an invalid "+name+" does not reveal the secrets", func(t *testing.T) {
			env := map[string]string{name: bad}
			for k, v := range secrets {
				env[k] = v
			}
			_, err := load(env)
			if err == nil {
				t.Fatalf("%s=%q was accepted", name, bad)
			}
			for k, v := range secrets {
				if strings.Contains(err.Error(), v) || (k == "SIYU_STORE" && strings.Contains(err.Error(), "dbpass-31ab")) {
					t.Errorf("error %q reveals %s", err, k)
				}
			}
			if name == "WECOM_ENCODING_AES_KEY" && strings.Contains(err.Error(), bad) {
				t.Errorf("error %q reveals the AES key", err)
			}
		})
	}
}

func TestRequireNamesEveryMissingSetting(t *testing.T) {
	c, err := load(map[string]string{"WECOM_CORP_ID": "ww1"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Require("WECOM_CORP_ID", "WECOM_CALLBACK_TOKEN", "SIYU_STORE")
	if err == nil || !strings.Contains(err.Error(), "WECOM_CALLBACK_TOKEN, SIYU_STORE") || strings.Contains(err.Error(), "WECOM_CORP_ID") {
		t.Errorf("Require: %v, want the two missing names only", err)
	}
}
