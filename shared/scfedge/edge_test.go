package scfedge_test

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
	"testing"

	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/scfedge"
)

func loadEvent(t *testing.T, name string) scfedge.HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev scfedge.HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return ev
}

type seen struct {
	Method, Path, RawQuery, Host, RemoteAddr string
	Query                                    map[string][]string
	ContentType, Body                        string
	ContentLength                            int64
}

func observe(got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host,
			RemoteAddr: r.RemoteAddr, Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type"),
			Body: string(b), ContentLength: r.ContentLength}
	})
}

func TestHTTPGivesTheHandlerTheRequestTheCallerSent(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		want    seen
	}{
		{
			name:    "a gateway POST keeps repeated values and bare flags of the query",
			fixture: "apigw-post.json",
			want: seen{Method: "POST", Path: "/wecom/callback",
				RawQuery: "debug&msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&nonce=263014780&tag=a&tag=b&timestamp=1409659589",
				Host:     "service-f94sy04v-1250000000.gz.apigw.tencentcs.com", RemoteAddr: "203.0.113.9:0",
				Query: map[string][]string{"debug": {""}, "msg_signature": {"5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"},
					"nonce": {"263014780"}, "tag": {"a", "b"}, "timestamp": {"1409659589"}},
				ContentType: "text/xml", Body: "<xml><Encrypt><![CDATA[RiFW]]></Encrypt></xml>", ContentLength: 46},
		},
		{
			name:    "a function URL GET decodes its base64 body and re-escapes the echostr",
			fixture: "apigw-get-base64.json",
			want: seen{Method: "GET", Path: "/wecom/callback",
				RawQuery: "echostr=fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2BMQ%3D%3D&msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&nonce=47744683&timestamp=1476416373",
				Host:     "1250000000-abcdefg.gz.tencentscf.com", RemoteAddr: "198.51.100.20:0",
				Query: map[string][]string{"echostr": {"fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+MQ=="},
					"msg_signature": {"012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"}, "nonce": {"47744683"}, "timestamp": {"1476416373"}},
				Body: "hi", ContentLength: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			resp, err := scfedge.HTTP(observe(&got))(context.Background(), loadEvent(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d", resp.StatusCode)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handler saw\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestHTTPReturnsWhatTheHandlerWrote(t *testing.T) {
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff")
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    scfedge.HTTPResponse
	}{
		{
			name: "a plain-text echo is sent as is",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = io.WriteString(w, "1616140317555161061")
			},
			want: scfedge.HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body: "1616140317555161061"},
		},
		{
			name:    "an empty 200 stays empty",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) },
			want:    scfedge.HTTPResponse{StatusCode: 200, Headers: map[string]string{}},
		},
		{
			name: "repeated headers are joined and only the first cookie is kept",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Origin")
				w.Header().Add("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT")
				w.Header().Add("Set-Cookie", "b=2")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{}`)
			},
			want: scfedge.HTTPResponse{StatusCode: 401, Headers: map[string]string{"Vary": "Accept,Origin",
				"Set-Cookie": "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "Content-Type": "application/json"}, Body: `{}`},
		},
		{
			name: "a binary body is base64-encoded",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "image/gif")
				_, _ = w.Write(gif)
			},
			want: scfedge.HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/gif"},
				Body: base64.StdEncoding.EncodeToString(gif), IsBase64Encoded: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scfedge.HTTP(tt.handler)(context.Background(), loadEvent(t, "apigw-post.json"))
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
	ev := loadEvent(t, "apigw-get-base64.json")
	ev.Body = "not base64!"
	called := false
	resp, err := scfedge.HTTP(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || called {
		t.Errorf("status = %d, handler called = %v; want 400 without calling the handler", resp.StatusCode, called)
	}
}

func TestJob(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "timer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		want    jobs.Request
		wantErr bool
	}{
		{name: "a timer's message runs the job it names", payload: string(fixture),
			want: jobs.Request{Job: "rollup", Date: "2025-01-31"}},
		{name: "an empty payload is an error", payload: ``, wantErr: true},
		{name: "a timer without a message is an error",
			payload: `{"Type":"Timer","TriggerName":"t","Time":"2025-02-01T16:05:00Z","Message":""}`, wantErr: true},
		{name: "a message that is not a job request is an error",
			payload: `{"Type":"Timer","TriggerName":"t","Time":"2025-02-01T16:05:00Z","Message":"hello"}`, wantErr: true},
		{name: "a message naming no job is an error",
			payload: `{"Type":"Timer","TriggerName":"t","Time":"2025-02-01T16:05:00Z","Message":"{\"date\":\"2025-01-31\"}"}`, wantErr: true},
		{name: "a gateway event is an error", payload: `{"httpMethod":"GET","path":"/"}`, wantErr: true},
		{name: "a bare job request is not a timer event", payload: `{"job":"rollup"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *jobs.Request
			fn := func(ctx context.Context, req jobs.Request) (jobs.Result, error) {
				got = &req
				return jobs.Result{"days": 1}, nil
			}
			res, err := scfedge.Job(fn)(context.Background(), json.RawMessage(tt.payload))
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("err = %v, job ran = %v; want an error and no run", err, got != nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != tt.want || res["days"] != 1 {
				t.Errorf("job got %+v (result %v), want %+v", got, res, tt.want)
			}
		})
	}
}

func TestJobReportsTheJobsFailure(t *testing.T) {
	boom := errors.New("store unavailable")
	fn := func(context.Context, jobs.Request) (jobs.Result, error) { return nil, boom }
	_, err := scfedge.Job(fn)(context.Background(), json.RawMessage(`{"Type":"Timer","Message":"{\"job\":\"rollup\"}"}`))
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want it to wrap %v", err, boom)
	}
}
