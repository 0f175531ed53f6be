// Package lambdaedge adapts Siyu's plain handlers to AWS Lambda: an
// http.Handler behind a Function URL (BUFFERED invoke mode, whose payload is
// the API Gateway v2 shape) and a jobs.Func behind EventBridge Scheduler.
//
// Only this package and the Lambda mains import aws-lambda-go; the domain
// never sees a Lambda event.
package lambdaedge

import (
	"context"
	"fmt"
	"net/http"

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
	return httpx.Inbound{
		Method: method, URI: uri, Headers: ev.Headers, Cookies: ev.Cookies,
		Body: ev.Body, Base64: ev.IsBase64Encoded, Host: rc.DomainName,
		Proto: rc.HTTP.Protocol, SourceIP: rc.HTTP.SourceIP,
	}.Request(context.WithValue(ctx, eventKey{}, rc), "function url")
}

// Response builds the Function URL response for what a handler wrote:
// Set-Cookie headers become Cookies, other repeated headers are joined with
// commas, and a body that is not UTF-8 text is sent base64-encoded.
func Response(status int, header http.Header, body []byte) events.LambdaFunctionURLResponse {
	out := httpx.Flatten(header, body)
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: out.Headers, Cookies: out.SetCookies,
		Body: out.Body, IsBase64Encoded: out.Base64}
}
