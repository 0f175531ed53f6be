package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
)

// FuzzCreatePost sends arbitrary bodies to POST /api/posts. Whatever comes
// in, the answer is 201 or a 4xx (never a 5xx, never a panic), and a
// refused request leaves no trace: not one store write.
func FuzzCreatePost(f *testing.F) {
	for _, seed := range []string{
		morningMoment,
		testclock.Shift(`{"kind":"group_message","send_at":"2026-11-25T09:00:00+08:00","text":"hi","sender":"alice"}`),
		testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"x","attachments":[{"type":"link","url":"https://u:p@shop.example/a b","title":"t"}]}`),
		testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"x","attachments":[{"type":"image","url":"file:///etc/passwd"}]}`),
		testclock.Shift(`{"kind":"moment","send_at":"2026-11-23T08:00:00+08:00","text":"late"}`),
		`{"kind":"moment","send_at":"not a time","text":"x"}`,
		`{"kind":"moment"}`, `{}`, `[]`, `null`, ``, `{"kind":"moment","text":"x","unknown":1}`,
		testclock.Shift(`{"kind":"moment","send_at":"2026-11-25T08:00:00+08:00","text":"x","if_full":"next_free_slot","visible_range":{"members":["alice"],"customer_tags":["t1"]}}`),
	} {
		f.Add(seed)
	}
	w := &storetest.Counting{}
	s, _, _, _ := postsServerOver(f, func(st store.Store) store.Store { w.Store = st; return w })
	f.Fuzz(func(t *testing.T, body string) {
		before := w.Writes.Load()
		rec := call(s, http.MethodPost, "/api/posts", body)
		switch {
		case rec.Code == http.StatusCreated:
		case rec.Code >= 400 && rec.Code < 500:
			if n := w.Writes.Load() - before; n != 0 {
				t.Fatalf("refused with %d %s, yet %d store writes were made", rec.Code, rec.Body, n)
			}
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}

// FuzzStatsQuery sends arbitrary from, to and by to the stats routes: the
// answer is 200 or 400, never a 5xx or a panic.
func FuzzStatsQuery(f *testing.F) {
	for _, seed := range [][3]string{
		{testclock.Shift("2025-03-01"), testclock.Shift("2025-03-02"), ""},
		{testclock.Shift("2025-03-01"), testclock.Shift("2025-03-02"), "member"},
		{testclock.Shift("2025-03-01"), testclock.Shift("2025-03-02"), "channel"},
		{testclock.Shift("2025-03-02"), testclock.Shift("2025-03-01"), ""},
		{"2025-3-1", "", "x"}, {"", "", ""}, {"9999-12-31", "9999-12-31", ""}, {"0000-01-01", "2025-03-01", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	s := statsServer(f)
	f.Fuzz(func(t *testing.T, from, to, by string) {
		q := url.Values{"from": {from}, "to": {to}, "by": {by}}.Encode()
		for _, path := range []string{"/api/stats/daily", "/api/stats/cohorts", "/api/stats/groups", "/api/stats/moments"} {
			rec := call(s, http.MethodGet, path+"?"+q, "")
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
				t.Fatalf("%s?%s = %d: %s", path, q, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzCreateChannel sends arbitrary bodies to POST /api/channels over the
// simulator. Whatever comes in, the answer is 201, a 4xx or WeCom's own
// refusal (502) — never a 500 or a panic — and a request answered other
// than 201 leaves no channel behind.
func FuzzCreateChannel(f *testing.F) {
	for _, seed := range []string{
		storeQR,
		`{"name":"抖音直播获客链接","kind":"acquisition_link","state":"douyin","departments":[2],"welcome":{"text":"hi"}}`,
		`{"name":"x","kind":"contact_way","type":"single","members":["alice"],"state":"s-1"}`,
		`{"name":"x","kind":"contact_way","members":["nobody"]}`,
		`{"name":"x","kind":"contact_way","departments":[99]}`,
		`{"name":"x","kind":"contact_way","members":["alice"],"tags":["tag-gone"]}`,
		`{"name":"x","kind":"contact_way","members":["alice"],"welcome":{"attachments":[{"type":"miniprogram","title":"t","appid":"a","page":"p","url":"javascript:alert(1)"}]}}`,
		`{"name":"x","kind":"contact_way","members":["alice"],"state":"状态"}`,
		`{}`, `[]`, `null`, ``, `{"name":1}`,
	} {
		f.Add(seed)
	}
	e := channelsServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		before, err := channels.List(context.Background(), e.st)
		if err != nil {
			t.Fatal(err)
		}
		rec := call(e.srv, http.MethodPost, "/api/channels", body)
		switch {
		case rec.Code == http.StatusCreated:
			return
		case rec.Code >= 400 && rec.Code < 500, rec.Code == http.StatusBadGateway:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		after, err := channels.List(context.Background(), e.st)
		if err != nil || len(after) != len(before) {
			t.Fatalf("refused with %d %s, yet channels went from %d to %d", rec.Code, rec.Body, len(before), len(after))
		}
	})
}
