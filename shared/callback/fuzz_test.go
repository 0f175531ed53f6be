package callback_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/callback"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// stored counts the items a store accepted.
type stored struct {
	store.Store
	n atomic.Int64
}

func (s *stored) Put(ctx context.Context, it store.Item, c store.Cond) (store.Item, error) {
	out, err := s.Store.Put(ctx, it, c)
	if err == nil {
		s.n.Add(1)
	}
	return out, err
}

// FuzzCallbackEvent seals arbitrary plaintext correctly, as WeCom would,
// and delivers it twice. Whatever the plaintext, the receiver answers 200,
// 400 or 403 — never a 5xx or a panic — stores at most one item, stores
// nothing unless it answered 200, and stores nothing on the second delivery.
func FuzzCallbackEvent(f *testing.F) {
	now := testclock.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Add(fmt.Sprintf(addEvent, now.Unix()))
	f.Add(`<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[c1]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail></xml>`)
	f.Add(`{"ToUserName":"wx5823bf96d3bd56c7","CreateTime":1,"MsgType":"event","Event":"change_external_tag","ChangeType":"create","Id":"t1","TagType":"tag"}`)
	f.Add(`<xml><Event>change_external_contact</Ev`)
	f.Add(`<xml><ToUserName><![CDATA[wwother]]></ToUserName><Event><![CDATA[x]]></Event></xml>`)
	c, err := wecom.NewCrypter(vecToken, vecKey, vecCorp)
	if err != nil {
		f.Fatal(err)
	}
	loc, _ := calendar.Zone("")
	clock := func() time.Time { return now }
	st := &stored{Store: storetest.NewMemStore(clock)}
	h := callback.New(c, events.NewLog(st, loc, clock), time.Hour, slog.New(slog.DiscardHandler), clock)
	ts := strconv.FormatInt(now.Unix(), 10)
	deliver := func(t *testing.T, msg string, nonce string) int {
		body, sig, err := c.Seal([]byte(msg), ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wecom/callback?"+q.Encode(), bytes.NewReader(body)))
		return rec.Code
	}
	f.Fuzz(func(t *testing.T, msg string) {
		before := st.n.Load()
		code := deliver(t, msg, "n1")
		added := st.n.Load() - before
		switch {
		case code == http.StatusOK && added <= 1:
		case (code == http.StatusBadRequest || code == http.StatusForbidden) && added == 0:
		default:
			t.Fatalf("first delivery: %d with %d items stored", code, added)
		}
		if code != http.StatusOK {
			return
		}
		before = st.n.Load()
		if again := deliver(t, msg, "n2"); again != http.StatusOK || st.n.Load() != before {
			t.Fatalf("a retry answered %d and stored %d more items", again, st.n.Load()-before)
		}
	})
}
