// Package scfedge adapts Siyu's plain handlers to Tencent Cloud SCF through
// scf-go-lib: an http.Handler behind an API gateway trigger or a function
// URL (both deliver the API gateway event shape), and a jobs.Func behind a
// timer trigger, whose Message carries the job request JSON.
//
// Only this package and the SCF mains import scf-go-lib.
package scfedge

import (
	"context"
	"fmt"
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
	return httpx.Inbound{
		Method: method, URI: uri, Headers: ev.Headers, Body: ev.Body,
		Base64: ev.IsBase64Encoded, SourceIP: ev.Context.SourceIP,
	}.Request(context.WithValue(ctx, eventKey{}, ev.Context), "api gateway")
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
	out := httpx.Flatten(header, body)
	if len(out.SetCookies) > 0 {
		out.Headers["Set-Cookie"] = out.SetCookies[0]
	}
	return HTTPResponse{StatusCode: status, Headers: out.Headers, Body: out.Body, IsBase64Encoded: out.Base64}
}
