package httpx

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Inbound is what a runtime's HTTP event says of a request, in the terms
// both clouds share; each edge fills it from its own event type.
type Inbound struct {
	Method string
	// URI is the path and, when there is one, "?" and the raw query.
	URI     string
	Headers map[string]string
	// Cookies, when given apart from the headers, become one Cookie header.
	Cookies []string
	Body    string
	// Base64: Body is base64 (a binary body).
	Base64 bool
	// Host is used when the headers carry none.
	Host string
	// Proto is the protocol, when the event says ("HTTP/1.1").
	Proto string
	// SourceIP is the caller's address (its port is not in the events).
	SourceIP string
}

// Request builds the request a net/http server would have: raw path and
// query, headers, Host, the body decoded, RemoteAddr. what names the event
// in errors ("function url", "api gateway").
func (in Inbound) Request(ctx context.Context, what string) (*http.Request, error) {
	u, err := url.ParseRequestURI(in.URI)
	if err != nil {
		return nil, fmt.Errorf("%s path %q: %w", what, in.URI, err)
	}
	body := []byte(in.Body)
	if in.Base64 {
		if body, err = base64.StdEncoding.DecodeString(in.Body); err != nil {
			return nil, fmt.Errorf("%s body: %w", what, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, in.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s request: %w", what, err)
	}
	req.URL = u
	req.RequestURI = in.URI
	if in.Proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(in.Proto); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = in.Proto, major, minor
		}
	}
	for k, v := range in.Headers {
		req.Header.Set(k, v)
	}
	if len(in.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(in.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = in.Host
	}
	req.Header.Del("Host")
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	if in.SourceIP != "" {
		req.RemoteAddr = net.JoinHostPort(in.SourceIP, "0")
	}
	return req, nil
}

// Outbound is a handler's answer flattened for a runtime's JSON response:
// one value per header (repeated ones joined with commas, as HTTP allows),
// Set-Cookie values apart (they cannot be joined: dates contain commas), a
// Content-Type sniffed as net/http would when the handler set none, and a
// body that is not UTF-8 text base64-encoded.
type Outbound struct {
	Headers    map[string]string
	SetCookies []string
	Body       string
	Base64     bool
}

// Flatten builds the Outbound of what a handler wrote.
func Flatten(header http.Header, body []byte) Outbound {
	out := Outbound{Headers: make(map[string]string, len(header)+1)}
	if _, set := header["Content-Type"]; !set && len(body) > 0 {
		out.Headers["Content-Type"] = http.DetectContentType(body)
	}
	for k, vs := range header {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			out.SetCookies = append(out.SetCookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if len(body) > 0 {
		if IsText(out.Headers["Content-Type"], body) {
			out.Body = string(body)
		} else {
			out.Body, out.Base64 = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return out
}
