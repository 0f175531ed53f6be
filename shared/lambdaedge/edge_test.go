package lambdaedge_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/lambdaedge"
	"github.com/siyuhq/siyu/shared/store/dynamostore"
)

func loadEvent(t *testing.T, name string) events.LambdaFunctionURLRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return ev
}

// seen is what a handler observed of its request.
type seen struct {
	Method, Path, RawQuery, RequestURI, Host, RemoteAddr, Proto string
	Query                                                       map[string][]string
	ContentType, Cookie, UserAgent                              string
	Body                                                        string
	ContentLength                                               int64
}

func observe(got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestURI: r.RequestURI,
			Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto, Query: r.URL.Query(),
			ContentType: r.Header.Get("Content-Type"), Cookie: r.Header.Get("Cookie"),
			UserAgent: r.UserAgent(), Body: string(b), ContentLength: r.ContentLength,
		}
	})
}

func TestHTTPGivesTheHandlerTheRequestTheCallerSent(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		want    seen
	}{
		{
			name:    "a verification GET keeps its escaped query exactly",
			fixture: "function-url-get.json",
			want: seen{
				Method: "GET", Path: "/wecom/callback",
				RawQuery:   "msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2BMQ%3D%3D",
				RequestURI: "/wecom/callback?msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr=fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2BMQ%3D%3D",
				Host:       "abcdefg.lambda-url.ap-east-1.on.aws", RemoteAddr: "198.51.100.20:0", Proto: "HTTP/1.1",
				Query: map[string][]string{
					"msg_signature": {"012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"}, "timestamp": {"1476416373"},
					"nonce": {"47744683"}, "echostr": {"fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+MQ=="},
				},
				UserAgent: "Mozilla/4.0",
			},
		},
		{
			name:    "a base64 POST arrives decoded, with cookies and repeated query values",
			fixture: "function-url-post-base64.json",
			want: seen{
				Method: "POST", Path: "/wecom/callback",
				RawQuery:   "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&tag=a&tag=b",
				RequestURI: "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&tag=a&tag=b",
				Host:       "abcdefg.lambda-url.ap-east-1.on.aws", RemoteAddr: "203.0.113.7:0", Proto: "HTTP/1.1",
				Query: map[string][]string{
					"msg_signature": {"5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"}, "timestamp": {"1409659589"},
					"nonce": {"263014780"}, "tag": {"a", "b"},
				},
				ContentType: "text/xml", Cookie: "session=abc; theme=dark", UserAgent: "Mozilla/4.0",
				Body: "<xml><Encrypt><![CDATA[RiFW]]></Encrypt></xml>", ContentLength: 46,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			resp, err := lambdaedge.HTTP(observe(&got))(context.Background(), loadEvent(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handler saw\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestHTTPReturnsWhatTheHandlerWrote(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    events.LambdaFunctionURLResponse
	}{
		{
			name: "a plain-text echo is sent as is",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = io.WriteString(w, "1616140317555161061")
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 200,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "1616140317555161061"},
		},
		{
			name: "an empty 200 stays empty",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{}},
		},
		{
			name: "an error status survives a later write",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"error":{}}`)
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 401,
				Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"error":{}}`},
		},
		{
			name: "cookies move to Cookies and repeated headers are joined",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Set-Cookie", "a=1; Path=/")
				w.Header().Add("Set-Cookie", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT")
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Origin")
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<p>ok</p>")
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 200,
				Headers: map[string]string{"Content-Type": "text/html", "Vary": "Accept,Origin"},
				Cookies: []string{"a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT"},
				Body:    "<p>ok</p>"},
		},
		{
			name: "a binary body is base64-encoded",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/png")
				_, _ = w.Write(png)
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 200,
				Headers: map[string]string{"Content-Type": "image/png"},
				Body:    base64.StdEncoding.EncodeToString(png), IsBase64Encoded: true},
		},
		{
			name: "an unlabelled body gets the type net/http would sniff",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "hello")
			},
			want: events.LambdaFunctionURLResponse{StatusCode: 200,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "hello"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdaedge.HTTP(tt.handler)(context.Background(), loadEvent(t, "function-url-get.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("response\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestHTTPAnswers400ForAnEventItCannotRead(t *testing.T) {
	ev := loadEvent(t, "function-url-post-base64.json")
	ev.Body = "not base64!"
	called := false
	resp, err := lambdaedge.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || called {
		t.Errorf("status = %d, handler called = %v; want 400 without calling the handler", resp.StatusCode, called)
	}
}

func TestHTTPHandsTheRequestContextToTheHandler(t *testing.T) {
	var rc events.LambdaFunctionURLRequestContext
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc, _ = lambdaedge.Event(r.Context()) })
	if _, err := lambdaedge.HTTP(h)(context.Background(), loadEvent(t, "function-url-get.json")); err != nil {
		t.Fatal(err)
	}
	if rc.RequestID != "c9b0d1f2-0000-4000-8000-000000000002" {
		t.Errorf("request id = %q", rc.RequestID)
	}
}

func TestJob(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "scheduler-input.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		want    jobs.Request
		wantErr bool
	}{
		{name: "a schedule's Input runs the job it names", payload: string(fixture),
			want: jobs.Request{Job: "rollup", Date: "2025-01-31"}},
		{name: "a bare job name runs with defaults", payload: `{"job":"poster"}`, want: jobs.Request{Job: "poster"}},
		{name: "an empty payload is an error", payload: ``, wantErr: true},
		{name: "a null payload is an error", payload: `null`, wantErr: true},
		{name: "an empty object is an error", payload: `{}`, wantErr: true},
		{name: "another event type is an error", payload: `{"version":"2.0","rawPath":"/"}`, wantErr: true},
		{name: "a scheduler event without Input is an error",
			payload: `{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":{}}`, wantErr: true},
		{name: "trailing data is an error", payload: `{"job":"rollup"} {"job":"sync"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *jobs.Request
			fn := func(ctx context.Context, req jobs.Request) (jobs.Result, error) {
				got = &req
				return jobs.Result{"days": 1}, nil
			}
			res, err := lambdaedge.Job(fn)(context.Background(), json.RawMessage(tt.payload))
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("err = %v, job ran = %v; want an error and no run", err, got != nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != tt.want {
				t.Errorf("job got %+v, want %+v", got, tt.want)
			}
			if res["days"] != 1 {
				t.Errorf("result = %v", res)
			}
		})
	}
}

func TestJobReportsTheJobsFailure(t *testing.T) {
	boom := errors.New("store unavailable")
	fn := func(context.Context, jobs.Request) (jobs.Result, error) { return nil, boom }
	_, err := lambdaedge.Job(fn)(context.Background(), json.RawMessage(`{"job":"rollup"}`))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap %v", err, boom)
	}
}

func TestOpenStoreLeavesOtherSchemesToStoreOpen(t *testing.T) {
	_, err := lambdaedge.OpenStore(context.Background(), "nosuch:thing")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("err = %v, want store.Open's unknown-scheme error", err)
	}
}

func TestOpenStoreBuildsTheClientFromLambdasEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	st, err := lambdaedge.OpenStore(context.Background(), "dynamodb:siyu")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(*dynamostore.Store); !ok {
		t.Errorf("store is %T, want *dynamostore.Store", st)
	}
	if _, err := lambdaedge.OpenStore(context.Background(), "dynamodb:"); err == nil {
		t.Error("a dsn without a table opened")
	}
}
