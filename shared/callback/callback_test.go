package callback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Official vector set A (reference §1.6).
const (
	vecToken = "QDG6eK"
	vecKey   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vecCorp  = "wx5823bf96d3bd56c7"
)

type fixture struct {
	h    *callback.Handler
	st   store.Store
	c    *wecom.Crypter
	now  time.Time
	logs *bytes.Buffer
	loc  *time.Location
}

func newFixture(t *testing.T, now time.Time) *fixture {
	t.Helper()
	var f *fixture
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "siyu.db"), store.WithClock(func() time.Time { return f.now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := wecom.NewCrypter(vecToken, vecKey, vecCorp)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := calendar.Zone("")
	logs := &bytes.Buffer{}
	h := callback.New(c, events.NewLog(st, loc, nil), time.Hour, slog.New(slog.NewJSONHandler(logs, nil)), nil)
	f = &fixture{h: h, st: st, c: c, now: now, logs: logs, loc: loc}
	h.Now = func() time.Time { return f.now }
	h.Log.Now = h.Now
	return f
}

// undated returns every stored event that carried no CreateTime.
func (f *fixture) undated(t *testing.T) []store.Item {
	t.Helper()
	page, err := f.st.Query(context.Background(), store.Query{PK: events.UndatedPK})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}

// stored returns every event of day d.
func (f *fixture) stored(t *testing.T, d calendar.Day) []events.Record {
	t.Helper()
	var out []events.Record
	if err := events.NewLog(f.st, f.loc, nil).Day(context.Background(), d, func(r events.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) post(t *testing.T, sig, ts, nonce string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
	r := httptest.NewRequest(http.MethodPost, "/wecom/callback?"+q.Encode(), bytes.NewReader(body))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// seal encrypts msg as WeCom would at the fixture's clock.
func (f *fixture) seal(t *testing.T, msg string, nonce string) (sig, ts string, body []byte) {
	t.Helper()
	ts = strconv.FormatInt(f.now.Unix(), 10)
	body, sig, err := f.c.Seal([]byte(msg), ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return sig, ts, body
}

func TestURLVerificationEchoesTheOfficialVector(t *testing.T) {
	f := newFixture(t, time.Unix(1409659589, 0))
	target := "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != 200 || w.Body.String() != "1616140317555161061" {
		t.Fatalf("got %d %q, want 200 and the bare plaintext", w.Code, w.Body.String())
	}
}

func TestOfficialPostVectorIsStoredRawAsAnUnknownAuthenticEvent(t *testing.T) {
	f := newFixture(t, time.Unix(1409659813, 0))
	body := `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>`
	w := f.post(t, "477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", []byte(body))
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("got %d %q, want an empty 200", w.Code, w.Body.String())
	}
	recs := f.stored(t, calendar.Of(time.Unix(1409659813, 0), f.loc))
	if len(recs) != 1 || recs[0].Known || !strings.Contains(recs[0].Raw, "<Content><![CDATA[hello]]></Content>") {
		t.Fatalf("stored %+v, want the raw text message once", recs)
	}
}

const addEvent = `<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID><State><![CDATA[douyin_live]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>`

func TestAnEventDeliveredFourTimesIsStoredOnce(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	msg := fmt.Sprintf(addEvent, now.Unix()-3)
	for i := range 4 {
		// Each retry is sealed anew: a fresh nonce, random prefix and signature.
		sig, ts, body := f.seal(t, msg, "nonce"+strconv.Itoa(i))
		if w := f.post(t, sig, ts, "nonce"+strconv.Itoa(i), body); w.Code != 200 {
			t.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	recs := f.stored(t, calendar.Of(now, f.loc))
	if len(recs) != 1 {
		t.Fatalf("stored %d events, want 1", len(recs))
	}
	r := recs[0]
	if r.ChangeType != wecom.ChangeAddExternalContact || r.UserID != "zhangsan" || r.State != "douyin_live" || r.Origin != events.OriginCallback {
		t.Fatalf("stored %+v", r)
	}
	if strings.Contains(f.logs.String(), "WELCOMECODE") {
		t.Fatal("the single-use welcome code leaked into the log")
	}
}

// failingStore fails every write, as a store that is down.
type failingStore struct{ store.Store }

func (failingStore) Put(context.Context, store.Item, store.Cond) (store.Item, error) {
	return store.Item{}, errors.New("connection refused")
}

func TestAStorageFailureAnswers503SoWeComRetries(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	f.h.Log = events.NewLog(failingStore{f.st}, f.loc, nil)
	sig, ts, body := f.seal(t, fmt.Sprintf(addEvent, now.Unix()), "n1")
	w := f.post(t, sig, ts, "n1", body)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", w.Code)
	}
	assertErrorBody(t, w, "store_unavailable")
}

func TestBadInputIsRefusedWithAClearErrorAndNothingStored(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	msg := fmt.Sprintf(addEvent, now.Unix())
	other, _ := wecom.NewCrypter(vecToken, vecKey, "wwothercorp0001")
	cases := []struct {
		name   string
		mutate func(t *testing.T, f *fixture) (sig, ts, nonce string, body []byte)
		status int
		code   string
	}{
		{"a forged signature is 401", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			_, ts, body := f.seal(t, msg, "n")
			return "0000000000000000000000000000000000000000", ts, "n", body
		}, 401, "bad_signature"},
		{"a stale timestamp is 401 even when correctly signed", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			ts := strconv.FormatInt(now.Add(-2*time.Hour).Unix(), 10)
			body, sig, _ := f.c.Seal([]byte(msg), ts, "n")
			return sig, ts, "n", body
		}, 401, "stale_timestamp"},
		{"a message sealed for another corp is 403", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			ts := strconv.FormatInt(now.Unix(), 10)
			body, sig, _ := other.Seal([]byte(msg), ts, "n")
			return sig, ts, "n", body
		}, 403, "wrong_corp"},
		{"an event addressed to another corp is 403", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			sig, ts, body := f.seal(t, strings.Replace(msg, vecCorp, "wwothercorp0001", 1), "n")
			return sig, ts, "n", body
		}, 403, "wrong_corp"},
		{"bad base64 is 400", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			enc := "!!!notbase64!!!"
			ts := strconv.FormatInt(now.Unix(), 10)
			return f.c.Signature(ts, "n", enc), ts, "n", []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		}, 400, "malformed_message"},
		{"a ciphertext with bad padding is 400", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			enc := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes decrypt to garbage padding
			ts := strconv.FormatInt(now.Unix(), 10)
			return f.c.Signature(ts, "n", enc), ts, "n", []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		}, 400, "malformed_message"},
		{"a malformed envelope is 400", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			ts := strconv.FormatInt(now.Unix(), 10)
			return f.c.Signature(ts, "n", ""), ts, "n", []byte("<xml><Encrypt>")
		}, 400, "malformed_message"},
		{"malformed event XML inside a valid envelope is 400", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			sig, ts, body := f.seal(t, "<xml><Event>change_external_contact</Ev", "n")
			return sig, ts, "n", body
		}, 400, "malformed_event"},
		{"missing parameters are 400", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			_, ts, body := f.seal(t, msg, "n")
			return "", ts, "n", body
		}, 400, "missing_parameters"},
		{"a body over 1 MiB is 413", func(t *testing.T, f *fixture) (string, string, string, []byte) {
			sig, ts, body := f.seal(t, msg, "n")
			return sig, ts, "n", append(body, bytes.Repeat([]byte(" "), callback.MaxBody)...)
		}, 413, "body_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, now)
			sig, ts, nonce, body := c.mutate(t, f)
			w := f.post(t, sig, ts, nonce, body)
			if w.Code != c.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, c.status)
			}
			assertErrorBody(t, w, c.code)
			if n := len(f.stored(t, calendar.Of(now, f.loc))); n != 0 {
				t.Fatalf("%d events stored, want none", n)
			}
			if !strings.Contains(f.logs.String(), `"msg":"callback rejected"`) || strings.Count(f.logs.String(), "\n") != 1 {
				t.Fatalf("want exactly one structured rejection line, log:\n%s", f.logs)
			}
			if strings.Contains(f.logs.String(), vecKey) || strings.Contains(f.logs.String(), vecToken) {
				t.Fatal("a secret reached the log")
			}
		})
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	f := newFixture(t, time.Now())
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/wecom/callback", nil))
	if w.Code != 405 {
		t.Fatalf("got %d", w.Code)
	}
}

func assertErrorBody(t *testing.T, w *httptest.ResponseRecorder, code string) {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	raw, _ := io.ReadAll(w.Body)
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error body %s, want code %q with a message", raw, code)
	}
}

func TestATimestampOutsideTheWindowIs401WhateverItsSize(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	sec := now.Unix()
	msg := fmt.Sprintf(addEvent, sec)
	for _, c := range []struct {
		name, ts string
		status   int
	}{
		{"59 minutes ago is inside the hour's window", strconv.FormatInt(sec-59*60, 10), 200},
		{"59 minutes ahead is inside the hour's window", strconv.FormatInt(sec+59*60, 10), 200},
		{"61 minutes ago is stale", strconv.FormatInt(sec-61*60, 10), 401},
		{"61 minutes ahead is stale", strconv.FormatInt(sec+61*60, 10), 401},
		{"zero is stale", "0", 401},
		{"a negative timestamp is stale", "-1", 401},
		{"the most negative int64 is stale", "-9223372036854775808", 401},
		{"milliseconds (13 digits) are stale", strconv.FormatInt(sec*1000, 10), 401},
		{"293 years ahead is stale", strconv.FormatInt(sec+293*365*86400, 10), 401},
		{"20 digits are stale", "99999999999999999999", 401},
		{"the largest int64 is stale", "9223372036854775807", 401},
		{"a timestamp that is not a number is 400", "1764000000.5", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, now)
			body, sig, err := f.c.Seal([]byte(msg), c.ts, "n")
			if err != nil {
				t.Fatal(err)
			}
			w := f.post(t, sig, c.ts, "n", body)
			if w.Code != c.status {
				t.Fatalf("timestamp %s: got %d %s, want %d", c.ts, w.Code, w.Body, c.status)
			}
			want := 0
			if c.status == 200 {
				want = 1
			}
			if n := len(f.stored(t, calendar.Of(now, f.loc))); n != want {
				t.Fatalf("%d events stored, want %d", n, want)
			}
		})
	}
}

func TestAnEventWithoutCreateTimeIsStoredOnceWhateverTheRetrysTimestamp(t *testing.T) {
	// Ten minutes before midnight in the brand's zone: the retries arrive
	// on the next day, each sealed with its own timestamp.
	loc, _ := calendar.Zone("")
	now := testclock.Date(2026, 11, 24, 23, 50, 0, 0, loc)
	f := newFixture(t, now)
	msg := strings.Replace(fmt.Sprintf(addEvent, 0), "<CreateTime>0</CreateTime>", "", 1)
	for i, after := range []time.Duration{0, 5 * time.Second, 20 * time.Minute, 55 * time.Minute} {
		f.now = now.Add(after)
		nonce := "nonce" + strconv.Itoa(i)
		sig, ts, body := f.seal(t, msg, nonce)
		if w := f.post(t, sig, ts, nonce, body); w.Code != 200 {
			t.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
	if n := len(f.undated(t)); n != 1 {
		t.Fatalf("stored %d undated events, want 1", n)
	}
	for _, d := range []calendar.Day{calendar.Of(now, loc), calendar.Of(now, loc).AddDays(1)} {
		if n := len(f.stored(t, d)); n != 0 {
			t.Fatalf("%d events placed in day %s by their envelope's time, want none", n, d)
		}
	}
}

func TestOversizedQueryParametersAre400AndNothingIsStored(t *testing.T) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	msg := fmt.Sprintf(addEvent, now.Unix())
	for _, size := range []int{129, 40 << 10, 900 << 10} {
		t.Run(fmt.Sprintf("a correctly signed POST with a nonce of %d bytes", size), func(t *testing.T) {
			f := newFixture(t, now)
			nonce := strings.Repeat("7", size)
			sig, ts, body := f.seal(t, msg, nonce)
			w := f.post(t, sig, ts, nonce, body)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("got %d, want 400", w.Code)
			}
			assertErrorBody(t, w, "query_too_long")
			if n := len(f.stored(t, calendar.Of(now, f.loc))); n != 0 {
				t.Fatalf("%d events stored, want none", n)
			}
		})
	}
	t.Run("a URL verification with a 5 KiB echostr", func(t *testing.T) {
		f := newFixture(t, now)
		ts := strconv.FormatInt(now.Unix(), 10)
		echo := strings.Repeat("A", 5<<10)
		q := url.Values{"msg_signature": {f.c.Signature(ts, "n", echo)}, "timestamp": {ts}, "nonce": {"n"}, "echostr": {echo}}
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/wecom/callback?"+q.Encode(), nil))
		if w.Code != http.StatusBadRequest {
			t.Fatalf("got %d, want 400", w.Code)
		}
		assertErrorBody(t, w, "query_too_long")
	})
}
