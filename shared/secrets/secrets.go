// Package secrets lets a deployment keep secrets out of plain environment
// variables: for each secret NAME it may set NAME_PARAM to a reference (an
// SSM parameter name, or a Secrets Manager secret), and Resolve fetches every
// such reference once, at cold start, and serves the values through a
// config.Getenv so config.Load works unchanged.
//
// Resolve itself imports no cloud SDK; a Fetcher does the fetching
// (shared/secrets/awssecrets on Lambda). On Tencent SCF the functions read
// plain environment variables, which SCF encrypts at rest.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/siyuhq/siyu/shared/config"
)

// Suffix turns a setting's name into the name of its reference variable.
const Suffix = "_PARAM"

// Names are the settings that may be given by reference (NAME_PARAM). They
// are the secrets of the configuration (the README's "Configuration" table);
// other settings are not secret and stay plain.
var Names = []string{
	"WECOM_CALLBACK_TOKEN",
	"WECOM_ENCODING_AES_KEY",
	"WECOM_SECRET",
	"SIYU_ADMIN_TOKEN",
	"SIYU_REPORT_WEBHOOK",
}

// Fetcher reads secret values by reference. Fetch is called at most once per
// Resolve, with every distinct reference, so an implementation can batch.
// It returns a value for every reference or an error; neither the error nor
// anything it logs may contain a value.
type Fetcher interface {
	Fetch(ctx context.Context, refs []string) (map[string]string, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context, refs []string) (map[string]string, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context, refs []string) (map[string]string, error) {
	return f(ctx, refs)
}

// ErrConflict is returned when a setting is given both plainly and by
// reference: which one wins would be a guess, so neither does.
var ErrConflict = errors.New("set either the variable or its _PARAM reference, not both")

// Resolve returns a Getenv that answers each of Names whose NAME_PARAM is set
// with the fetched value, and everything else through get. When no reference
// is set it returns get itself and never calls fetch, so a deployment that
// uses plain variables (SCF, the local stack) needs no Fetcher: fetch may
// then be nil. Errors name variables and references, never values.
func Resolve(ctx context.Context, get config.Getenv, fetch Fetcher) (config.Getenv, error) {
	refOf := map[string]string{} // setting name → reference
	var refs []string
	var errs []error
	for _, name := range Names {
		ref := strings.TrimSpace(get(name + Suffix))
		if ref == "" {
			continue
		}
		if strings.TrimSpace(get(name)) != "" {
			errs = append(errs, fmt.Errorf("%s and %s%s: %w", name, name, Suffix, ErrConflict))
			continue
		}
		refOf[name] = ref
		if !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return get, nil
	}
	if fetch == nil {
		return nil, fmt.Errorf("secrets: %s given by reference but this runtime has no secret fetcher", strings.Join(sortedKeys(refOf), ", "))
	}
	values, err := fetch.Fetch(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("secrets: fetching %d reference(s): %w", len(refs), err)
	}
	resolved := make(map[string]string, len(refOf))
	for _, name := range sortedKeys(refOf) {
		ref := refOf[name]
		v, ok := values[ref]
		if !ok || strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s%s=%s: no value returned", name, Suffix, ref))
			continue
		}
		resolved[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return func(name string) string {
		if v, ok := resolved[name]; ok {
			return v
		}
		return get(name)
	}, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
