// Package scfedge adapts Siyu's plain handlers to Tencent Cloud SCF through
// scf-go-lib: an http.Handler behind an API gateway trigger or a function
// URL (both deliver the API gateway event shape), and a jobs.Func behind a
// timer trigger, whose Message carries the job request JSON.
//
// Only this package and the SCF mains import scf-go-lib.
package scfedge

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tencentyun/scf-go-lib/events"

	"github.com/siyuhq/siyu/shared/httpx"
)

// HTTPRequest is the API gateway / function URL event. scf-go-lib's
// events.APIGatewayRequest reads the query string in every form the gateway
// sends (a string, a list, or true for a bare flag) but leaves out
// isBase64Encoded, which the gateway sets for binary bodies; it is added here.
type HTTPRequest struct {
	events.APIGatewayRequest
	IsBase64Encoded bool `json:"isBase64Encoded"`
}

// HTTPResponse is the integration response the gateway expects.
type HTTPResponse = events.APIGatewayResponse

// HTTP serves h for API gateway and function URL invocations. A request the
// edge cannot convert is answered 400 by the edge itself rather than failing
// the invocation, which the gateway would turn into an opaque 5xx.
func HTTP(h http.Handler) func(context.Context, HTTPRequest) (HTTPResponse, error) {
	return func(ctx context.Context, ev HTTPRequest) (HTTPResponse, error) {
		req, err := Request(ctx, ev)
		w := httpx.Serve(ctx, h, req, err, "api gateway event")
		return Response(w.Status(), w.Header(), w.Body()), nil
	}
}

type eventKey struct{}

// Event returns the gateway's request context of the invocation behind ctx.
func Event(ctx context.Context) (events.APIGatewayRequestContext, bool) {
	rc, ok := ctx.Value(eventKey{}).(events.APIGatewayRequestContext)
	return rc, ok
}

// Request converts a gateway event into the request net/http would have
// built. The gateway hands over the query as a map, so its original order is
// lost; it is rebuilt sorted by name, values in the order given, and a bare
// flag (?debug) stays bare.
func Request(ctx context.Context, ev HTTPRequest) (*http.Request, error) {
	method := ev.Method
	if method == "" {
		method = ev.Context.Method
	}
	if method == "" || method == "ANY" {
		return nil, fmt.Errorf("api gateway event has no httpMethod")
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	uri := path
	if q := encodeQuery(ev.QueryString); q != "" {
		uri += "?" + q
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("api gateway path %q: %w", uri, err)
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("api gateway body: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, eventKey{}, ev.Context), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("api gateway request: %w", err)
	}
	req.URL = u
	req.RequestURI = uri
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	req.Host = req.Header.Get("Host")
	req.Header.Del("Host")
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	if ev.Context.SourceIP != "" {
		req.RemoteAddr = net.JoinHostPort(ev.Context.SourceIP, "0")
	}
	return req, nil
}

func encodeQuery(q events.APIGatewayQueryString) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vs := q[k]
		if len(vs) == 0 {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			continue
		}
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// Response builds the gateway response for what a handler wrote. The
// gateway takes one value per header: repeated headers are joined with
// commas, except Set-Cookie, whose values cannot be joined safely (dates
// contain commas) — only the first is kept.
func Response(status int, header http.Header, body []byte) HTTPResponse {
	resp := HTTPResponse{StatusCode: status, Headers: make(map[string]string, len(header)+1)}
	if _, set := header["Content-Type"]; !set && len(body) > 0 {
		resp.Headers["Content-Type"] = http.DetectContentType(body)
	}
	for k, vs := range header {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Headers[k] = vs[0]
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	if len(body) > 0 {
		if httpx.IsText(resp.Headers["Content-Type"], body) {
			resp.Body = string(body)
		} else {
			resp.Body = base64.StdEncoding.EncodeToString(body)
			resp.IsBase64Encoded = true
		}
	}
	return resp
}
