package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestMemberRowsCarryWeComsOwnCountsSoDisagreementsShow(t *testing.T) {
	loc, _ := calendar.Zone("Asia/Shanghai")
	ctx := context.Background()
	at := testclock.Date(2025, 3, 2, 9, 0, 0, 0, loc)
	now := func() time.Time { return at.AddDate(0, 0, 1) } // the clock of the store, the rollup and the API
	st := storetest.NewMemStore(now)
	for _, e := range []wecom.Event{
		{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: wecom.ChangeAddExternalContact, UserID: "alice", ExternalUserID: "c1", Known: true, CreateTime: at.Unix()},
	} {
		if _, _, err := events.NewLog(st, loc, nil).Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	r := churn.New(st, loc, slog.New(slog.DiscardHandler), nil)
	r.Now = now
	if _, err := r.Run(ctx, jobs.Request{Date: testclock.Shift("2025-03-02")}); err != nil {
		t.Fatal(err)
	}
	// What the nightly sync stores from get_user_behavior_data: WeCom saw
	// two customers delete alice (a del_follow_user callback was lost), and
	// carol added one customer Siyu never heard of.
	for member, data := range map[string]string{
		"alice": testclock.Shift(`{"date":"2025-03-02","member":"alice","new_contact_cnt":1,"negative_feedback_cnt":2}`),
		"carol": testclock.Shift(`{"date":"2025-03-02","member":"carol","new_contact_cnt":1,"negative_feedback_cnt":0}`),
	} {
		if _, err := st.Put(ctx, store.Item{PK: testclock.Shift("wecomstat#member#2025-03-02"), SK: member, Data: []byte(data)}, store.Always); err != nil {
			t.Fatal(err)
		}
	}
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = now
	api.MountStats(s, st)

	w := get(s, testclock.Shift("/api/stats/daily?from=2025-03-02&to=2025-03-02&by=member"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got struct {
		Days []struct {
			Member                   string `json:"member"`
			NewCustomers             int64  `json:"new_customers"`
			LostCustomers            int64  `json:"lost_customers"`
			WeComNewContactCnt       *int64 `json:"wecom_new_contact_cnt"`
			WeComNegativeFeedbackCnt *int64 `json:"wecom_negative_feedback_cnt"`
		} `json:"days"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Days) != 2 {
		t.Fatalf("rows %s, want alice and carol", w.Body)
	}
	a, c := got.Days[0], got.Days[1]
	if a.Member != "alice" || a.NewCustomers != 1 || a.LostCustomers != 0 || a.WeComNegativeFeedbackCnt == nil || *a.WeComNegativeFeedbackCnt != 2 {
		t.Errorf("alice row %+v: want Siyu's 0 lost beside WeCom's 2", a)
	}
	if c.Member != "carol" || c.NewCustomers != 0 || c.WeComNewContactCnt == nil || *c.WeComNewContactCnt != 1 {
		t.Errorf("carol row %+v: want a zero Siyu row beside WeCom's 1 new contact", c)
	}
	csv := get(s, testclock.Shift("/api/stats/daily?from=2025-03-02&to=2025-03-02&by=member"), "Accept", "text/csv").Body.String()
	if !strings.Contains(csv, "wecom_negative_feedback_cnt") || !strings.Contains(csv, testclock.Shift("2025-03-02,alice,1,0,0,1,0,0,0,1,2")) {
		t.Errorf("CSV lacks WeCom's columns:\n%s", csv)
	}
}
