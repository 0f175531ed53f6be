// Package lambdaedge adapts Siyu's plain handlers to AWS Lambda: an
// http.Handler behind a Function URL (BUFFERED invoke mode, whose payload is
// the API Gateway v2 shape) and a jobs.Func behind EventBridge Scheduler.
//
// Only this package and the Lambda mains import aws-lambda-go; the domain
// never sees a Lambda event.
package lambdaedge

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/siyuhq/siyu/shared/httpx"
)

// HTTP serves h for Function URL invocations. A request the edge cannot
// convert (bad base64 body, unparsable path) is answered 400 by the edge
// itself; an invocation error is never returned, because Lambda would turn
// it into a bare 502 that tells the caller nothing.
func HTTP(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		req, err := Request(ctx, ev)
		w := httpx.Serve(ctx, h, req, err, "function url event")
		return Response(w.Status(), w.Header(), w.Body()), nil
	}
}

type eventKey struct{}

// Event returns the Function URL request context of the invocation that
// produced r's context, for handlers that want the request id or domain.
func Event(ctx context.Context) (events.LambdaFunctionURLRequestContext, bool) {
	rc, ok := ctx.Value(eventKey{}).(events.LambdaFunctionURLRequestContext)
	return rc, ok
}

// Request converts a Function URL event into the request a net/http server
// would have built: method, raw path and query, headers (Function URLs join
// repeated headers with commas already), cookies back into one Cookie
// header, the body decoded from base64 when flagged, and the caller's
// address as RemoteAddr.
func Request(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	rc := ev.RequestContext
	method := rc.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("function url event has no requestContext.http.method")
	}
	path := ev.RawPath
	if path == "" {
		path = rc.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	uri := path
	if ev.RawQueryString != "" {
		uri += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("function url path %q: %w", uri, err)
	}

	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("function url body: %w", err)
		}
	}

	req, err := http.NewRequestWithContext(context.WithValue(ctx, eventKey{}, rc), method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("function url request: %w", err)
	}
	req.URL = u
	req.RequestURI = uri
	if rc.HTTP.Protocol != "" {
		if major, minor, ok := http.ParseHTTPVersion(rc.HTTP.Protocol); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = rc.HTTP.Protocol, major, minor
		}
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = rc.DomainName
	}
	req.Header.Del("Host")
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	if rc.HTTP.SourceIP != "" {
		// The port of the caller is not part of the event.
		req.RemoteAddr = net.JoinHostPort(rc.HTTP.SourceIP, "0")
	}
	return req, nil
}

// Response builds the Function URL response for what a handler wrote:
// Set-Cookie headers become Cookies, other repeated headers are joined with
// commas, and a body that is not UTF-8 text is sent base64-encoded.
func Response(status int, header http.Header, body []byte) events.LambdaFunctionURLResponse {
	resp := events.LambdaFunctionURLResponse{StatusCode: status, Headers: make(map[string]string, len(header)+1)}
	if _, set := header["Content-Type"]; !set && len(body) > 0 {
		// What net/http would have sent.
		resp.Headers["Content-Type"] = http.DetectContentType(body)
	}
	for k, vs := range header {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
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
