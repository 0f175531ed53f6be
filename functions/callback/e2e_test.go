package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom"
)

// The corp the end-to-end tests play WeCom for (vector set A of the
// protocol reference).
const (
	testCorpID = "wx5823bf96d3bd56c7"
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// wecomEnv is the callback's WeCom configuration, as a function's
// environment would carry it.
func wecomEnv() []string {
	return []string{
		"WECOM_CORP_ID=" + testCorpID,
		"WECOM_CALLBACK_TOKEN=" + testToken,
		"WECOM_ENCODING_AES_KEY=" + testAESKey,
		"SIYU_TZ=Asia/Shanghai",
	}
}

// httpCall is one HTTP request delivered through a runtime edge.
type httpCall struct {
	Method   string
	RawQuery string
	Body     []byte
}

// httpReply is what the caller (WeCom) gets back.
type httpReply struct {
	Status int
	Body   string
}

// deliver sends one request through a runtime and returns the reply.
type deliver func(t *testing.T, c httpCall) httpReply

// runCallbackScenarios plays WeCom against a deployed callback: URL
// verification, one event retried four times, and a forged event. st reads
// the store the function writes to.
func runCallbackScenarios(t *testing.T, send deliver, st store.Store) {
	crypter, err := wecom.NewCrypter(testToken, testAESKey, testCorpID)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	log := events.NewLog(st, loc, nil)
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)

	t.Run("URL verification echoes the plaintext exactly", func(t *testing.T) {
		const echo = "1616140317555161061"
		echostr, sig, err := crypter.SealEcho([]byte(echo), ts, "1597212914")
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"1597212914"}, "echostr": {echostr}}
		got := send(t, httpCall{Method: http.MethodGet, RawQuery: q.Encode()})
		if got.Status != http.StatusOK || got.Body != echo {
			t.Errorf("reply = %d %q, want 200 %q", got.Status, got.Body, echo)
		}
	})

	countCustomer := func(t *testing.T, externalUserID string) int {
		t.Helper()
		n := 0
		err := log.Day(context.Background(), calendar.Of(now, loc), func(r events.Record) error {
			if r.ExternalUserID == externalUserID {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	addEvent := func(externalUserID string) []byte {
		return fmt.Appendf(nil, `<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>`+
			`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>`+
			`<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>`+
			`<ExternalUserID><![CDATA[%s]]></ExternalUserID><State><![CDATA[teststate]]></State></xml>`,
			testCorpID, now.Unix(), externalUserID)
	}

	t.Run("an event WeCom delivers four times is stored once", func(t *testing.T) {
		const customer = "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"
		for i := range 4 {
			// WeCom's retries carry a new nonce and signature each time.
			nonce := strconv.Itoa(1000 + i)
			body, sig, err := crypter.Seal(addEvent(customer), ts, nonce)
			if err != nil {
				t.Fatal(err)
			}
			q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
			if got := send(t, httpCall{Method: http.MethodPost, RawQuery: q.Encode(), Body: body}); got.Status != http.StatusOK {
				t.Fatalf("delivery %d: reply = %d %q, want 200", i+1, got.Status, got.Body)
			}
		}
		if n := countCustomer(t, customer); n != 1 {
			t.Errorf("stored %d events for the customer, want 1", n)
		}
	})

	t.Run("a forged signature is refused with 401 and nothing is stored", func(t *testing.T) {
		const customer = "woAJ2GCAAAforgedforgedforgedAA"
		body, sig, err := crypter.Seal(addEvent(customer), ts, "424242")
		if err != nil {
			t.Fatal(err)
		}
		forged := []byte(sig)
		forged[0] ^= 1
		q := url.Values{"msg_signature": {string(forged)}, "timestamp": {ts}, "nonce": {"424242"}}
		if got := send(t, httpCall{Method: http.MethodPost, RawQuery: q.Encode(), Body: body}); got.Status != http.StatusUnauthorized {
			t.Errorf("reply = %d %q, want 401", got.Status, got.Body)
		}
		if n := countCustomer(t, customer); n != 0 {
			t.Errorf("stored %d forged events, want 0", n)
		}
	})
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
