package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"reflect"
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

// TestStatsGroupsCarryNames crafts one member quitting g1 and one g2 on
// Mar 2, and the name the sync keeps for g1 only: the rows and the CSV
// carry g1's name and an empty one for g2.
func TestStatsGroupsCarryNames(t *testing.T) {
	ctx := context.Background()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Date(2025, 3, 10, 12, 0, 0, 0, loc)
	clock := func() time.Time { return now }
	st := storetest.NewMemStore(clock)
	log := events.NewLog(st, loc, clock)
	for _, chat := range []string{"g1", "g2"} {
		e := wecom.Event{ToUserName: "corp", Event: wecom.EventExternalChat, ChangeType: wecom.ChangeChatUpdate, ChatID: chat,
			UpdateDetail: wecom.DetailDelMember, MemChangeCnt: 1, Known: true,
			CreateTime: testclock.Date(2025, 3, 2, 9, 0, 0, 0, loc).Unix()}
		if _, _, err := log.Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	// The item the sync writes for a group it has read (contactsync.GroupNames).
	if _, err := st.Put(ctx, store.Item{PK: "group#name", SK: "g1", Data: []byte(`{"name":"门店福利群"}`)}, store.Always); err != nil {
		t.Fatal(err)
	}
	r := churn.New(st, loc, slog.New(slog.DiscardHandler), clock)
	day := testclock.Shift("2025-03-02")
	if _, err := r.Run(ctx, jobs.Request{From: day, To: day}); err != nil {
		t.Fatal(err)
	}
	s := api.New(token, "", loc, slog.New(slog.DiscardHandler), nil)
	s.Now = clock
	api.MountStats(s, st)
	path := "/api/stats/groups?from=" + day + "&to=" + day

	t.Run("rows carry the name, empty when unknown", func(t *testing.T) {
		var got struct {
			Groups []struct {
				ChatID string  `json:"chat_id"`
				Name   *string `json:"name"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(get(s, path).Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		names := map[string]string{}
		for _, g := range got.Groups {
			if g.Name == nil {
				t.Fatalf("row of %s has no name field", g.ChatID)
			}
			names[g.ChatID] = *g.Name
		}
		if want := map[string]string{"g1": "门店福利群", "g2": ""}; !reflect.DeepEqual(names, want) {
			t.Errorf("names = %v, want %v", names, want)
		}
	})

	t.Run("CSV has the name column", func(t *testing.T) {
		rows, err := csv.NewReader(get(s, path, "Accept", "text/csv").Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 {
			t.Fatalf("csv = %v, want a header and a row per group", rows)
		}
		if want := []string{"date", "chat_id", "name"}; !reflect.DeepEqual(rows[0][:3], want) {
			t.Errorf("header = %v, want it to start with %v", rows[0], want)
		}
		got := map[string]string{}
		for _, row := range rows[1:] {
			got[row[1]] = row[2]
		}
		if want := map[string]string{"g1": "门店福利群", "g2": ""}; !reflect.DeepEqual(got, want) {
			t.Errorf("csv names = %v, want %v", got, want)
		}
	})
}
