package secrets_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/secrets"
)

// fakeFetcher serves values from a map and records every call.
type fakeFetcher struct {
	values map[string]string
	err    error
	calls  [][]string
}

func (f *fakeFetcher) Fetch(_ context.Context, refs []string) (map[string]string, error) {
	f.calls = append(f.calls, slices.Clone(refs))
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]string{}
	for _, r := range refs {
		if v, ok := f.values[r]; ok {
			out[r] = v
		}
	}
	return out, nil
}

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

const (
	tokenValue = "tok-3f9a1c"
	aesValue   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	adminValue = "admin-7b21d0"
)

func TestResolve(t *testing.T) {
	store := map[string]string{
		"/siyu/callback-token":      tokenValue,
		"/siyu/aes-key":             aesValue,
		"secretsmanager:siyu/admin": adminValue,
	}
	tests := []struct {
		name      string
		env       map[string]string
		want      map[string]string // names read through the result
		wantCalls [][]string
	}{
		{
			name: "plain variables pass through and nothing is fetched",
			env:  map[string]string{"WECOM_CALLBACK_TOKEN": "plain", "SIYU_STORE": "sqlite:x"},
			want: map[string]string{"WECOM_CALLBACK_TOKEN": "plain", "SIYU_STORE": "sqlite:x"},
		},
		{
			name: "every reference is fetched in one call and served under the setting's name",
			env: map[string]string{
				"WECOM_CALLBACK_TOKEN_PARAM":   "/siyu/callback-token",
				"WECOM_ENCODING_AES_KEY_PARAM": "/siyu/aes-key",
				"SIYU_ADMIN_TOKEN_PARAM":       "secretsmanager:siyu/admin",
				"WECOM_CORP_ID":                "ww1234",
			},
			want: map[string]string{
				"WECOM_CALLBACK_TOKEN":   tokenValue,
				"WECOM_ENCODING_AES_KEY": aesValue,
				"SIYU_ADMIN_TOKEN":       adminValue,
				"WECOM_CORP_ID":          "ww1234",
				"WECOM_SECRET":           "",
			},
			wantCalls: [][]string{{"/siyu/callback-token", "/siyu/aes-key", "secretsmanager:siyu/admin"}},
		},
		{
			name: "two settings sharing a reference fetch it once",
			env: map[string]string{
				"WECOM_CALLBACK_TOKEN_PARAM": "/siyu/callback-token",
				"SIYU_ADMIN_TOKEN_PARAM":     " /siyu/callback-token ",
			},
			want:      map[string]string{"WECOM_CALLBACK_TOKEN": tokenValue, "SIYU_ADMIN_TOKEN": tokenValue},
			wantCalls: [][]string{{"/siyu/callback-token"}},
		},
		{
			name: "a _PARAM on a setting that is not a secret is ignored",
			env:  map[string]string{"WECOM_CORP_ID_PARAM": "/siyu/corp", "WECOM_CORP_ID": "ww1"},
			want: map[string]string{"WECOM_CORP_ID": "ww1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeFetcher{values: store}
			get, err := secrets.Resolve(context.Background(), env(tt.env), f)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			for k, want := range tt.want {
				if got := get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if !slices.EqualFunc(f.calls, tt.wantCalls, slices.Equal) {
				t.Errorf("fetch calls = %q, want %q", f.calls, tt.wantCalls)
			}
		})
	}
}

func TestResolveFeedsConfigLoad(t *testing.T) {
	f := &fakeFetcher{values: map[string]string{"/siyu/callback-token": tokenValue, "/siyu/aes-key": aesValue}}
	get, err := secrets.Resolve(context.Background(), env(map[string]string{
		"WECOM_CORP_ID":                "ww1234",
		"WECOM_CALLBACK_TOKEN_PARAM":   "/siyu/callback-token",
		"WECOM_ENCODING_AES_KEY_PARAM": "/siyu/aes-key",
	}), f)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(get)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HasWeCom() || cfg.CallbackToken != tokenValue || cfg.EncodingAESKey != aesValue {
		t.Errorf("config after Resolve: HasWeCom=%v token set=%v key set=%v", cfg.HasWeCom(), cfg.CallbackToken == tokenValue, cfg.EncodingAESKey == aesValue)
	}
}

func TestResolveErrors(t *testing.T) {
	secretValues := []string{tokenValue, aesValue, adminValue, "plain-secret"}
	tests := []struct {
		name    string
		env     map[string]string
		fetcher secrets.Fetcher
		wantIn  []string // substrings the error must contain
		wantIs  error
	}{
		{
			name:    "a setting given both plainly and by reference is refused",
			env:     map[string]string{"WECOM_SECRET": "plain-secret", "WECOM_SECRET_PARAM": "/siyu/secret"},
			fetcher: &fakeFetcher{},
			wantIn:  []string{"WECOM_SECRET", "WECOM_SECRET_PARAM"},
			wantIs:  secrets.ErrConflict,
		},
		{
			name:    "a reference the store does not have names the variable and the reference",
			env:     map[string]string{"WECOM_CALLBACK_TOKEN_PARAM": "/siyu/missing"},
			fetcher: &fakeFetcher{values: map[string]string{}},
			wantIn:  []string{"WECOM_CALLBACK_TOKEN_PARAM", "/siyu/missing"},
		},
		{
			name:    "an empty value counts as missing",
			env:     map[string]string{"SIYU_ADMIN_TOKEN_PARAM": "/siyu/empty"},
			fetcher: &fakeFetcher{values: map[string]string{"/siyu/empty": "  "}},
			wantIn:  []string{"SIYU_ADMIN_TOKEN_PARAM"},
		},
		{
			name:    "a failing fetcher's error is wrapped",
			env:     map[string]string{"WECOM_SECRET_PARAM": "/siyu/secret"},
			fetcher: &fakeFetcher{err: errBackend},
			wantIn:  []string{"fetching 1 reference"},
			wantIs:  errBackend,
		},
		{
			name:    "references without a fetcher are refused rather than ignored",
			env:     map[string]string{"WECOM_SECRET_PARAM": "/siyu/secret"},
			fetcher: nil,
			wantIn:  []string{"WECOM_SECRET", "no secret fetcher"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := secrets.Resolve(context.Background(), env(tt.env), tt.fetcher)
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			for _, v := range secretValues {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q reveals a secret value", err)
				}
			}
		})
	}
}

var errBackend = errors.New("backend unavailable")

func TestResolveWithoutReferencesNeedsNoFetcher(t *testing.T) {
	get, err := secrets.Resolve(context.Background(), env(map[string]string{"WECOM_SECRET": "s"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if get("WECOM_SECRET") != "s" {
		t.Errorf("WECOM_SECRET = %q", get("WECOM_SECRET"))
	}
}
