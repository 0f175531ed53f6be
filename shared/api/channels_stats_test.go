package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"testing"

	"github.com/siyuhq/siyu/shared/api"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

// TestStatsByChannelCarryNamesAndCohorts crafts four arrivals on Nov 1:
// c1 (alice) and c2 (bob) through the named channel "shop", c3 through the
// state "live" no channel owns, c4 without a state. c1 deletes alice 23 h
// later, bob removes c2 on Nov 2, c3 deletes alice on Nov 4 (3 days 1 h
// after arriving). By hand, Nov 1's cohort by channel is: shop 2 new, 1
// lost within 1, 7 and 30 days (c2 was removed, not lost); live 1 new,
// lost within 7 and 30 days only; "" 1 new, none lost.
func TestStatsByChannelCarryNamesAndCohorts(t *testing.T) {
	ctx := context.Background()
	e := channelsServer(t)
	shop := mustCreate(t, e, `{"name":"门店二维码","kind":"contact_way","members":["alice","bob"],"state":"shop"}`)
	log := events.NewLog(e.st, e.loc, e.clock.Now)
	at := func(day, hour int) int64 { return testclock.Date(2026, 11, day, hour, 0, 0, 0, e.loc).Unix() }
	ev := func(change, member, customer, state string, t int64) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: change, UserID: member,
			ExternalUserID: customer, State: state, Known: true, CreateTime: t}
	}
	for _, x := range []wecom.Event{
		ev(wecom.ChangeAddExternalContact, "alice", "c1", "shop", at(1, 9)),
		ev(wecom.ChangeAddExternalContact, "bob", "c2", "shop", at(1, 10)),
		ev(wecom.ChangeAddExternalContact, "alice", "c3", "live", at(1, 11)),
		ev(wecom.ChangeAddExternalContact, "bob", "c4", "", at(1, 12)),
		ev(wecom.ChangeDelFollowUser, "alice", "c1", "", at(2, 8)),
		ev(wecom.ChangeDelExternalContact, "bob", "c2", "", at(2, 9)),
		ev(wecom.ChangeDelFollowUser, "alice", "c3", "", at(4, 12)),
	} {
		if _, _, err := log.Append(ctx, x, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	r := churn.New(e.st, e.loc, slog.New(slog.DiscardHandler), e.clock.Now)
	d1, d4 := testclock.Day(2026, 11, 1), testclock.Day(2026, 11, 4)
	if _, err := r.Run(ctx, jobs.Request{From: d1.String(), To: d4.String()}); err != nil {
		t.Fatal(err)
	}
	api.MountStats(e.srv, e.st)

	t.Run("cohorts by channel equal the hand count, with names", func(t *testing.T) {
		rec := get(e.srv, "/api/stats/cohorts?by=channel&from="+d1.String()+"&to="+d1.String())
		var got struct {
			Cohorts []struct {
				churn.ChannelCohort
				ChannelName string `json:"channel_name"`
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		type row struct {
			channel, name    string
			new, l1, l7, l30 int64
			rate1            float64
		}
		var rows []row
		for _, c := range got.Cohorts {
			rows = append(rows, row{c.Channel, c.ChannelName, c.NewCustomers, c.Lost1d, c.Lost7d, c.Lost30d, c.Rate1d})
		}
		want := []row{{"", "", 1, 0, 0, 0, 0}, {"live", "", 1, 0, 1, 1, 0}, {"shop", "门店二维码", 2, 1, 1, 1, 0.5}}
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("cohorts by channel\n got %+v\nwant %+v", rows, want)
		}
	})

	t.Run("the brand's cohort is their sum", func(t *testing.T) {
		rows, err := churn.CohortRange(ctx, e.st, d1, d1)
		if err != nil || rows[0].NewCustomers != 4 || rows[0].Lost1d != 1 || rows[0].Lost7d != 2 || rows[0].Lost30d != 2 {
			t.Fatalf("%+v %v", rows, err)
		}
	})

	t.Run("daily rows by channel name the channel", func(t *testing.T) {
		rec := get(e.srv, "/api/stats/daily?by=channel&from="+d1.String()+"&to="+d1.String())
		var got struct {
			Days []struct {
				Channel      string `json:"channel"`
				ChannelName  string `json:"channel_name"`
				NewCustomers int64  `json:"new_customers"`
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Days) != 3 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if d := got.Days[2]; d.Channel != "shop" || d.ChannelName != "门店二维码" || d.NewCustomers != 2 {
			t.Fatalf("shop row %+v", d)
		}
	})

	t.Run("an adopted state, once named, shows its name in CSV", func(t *testing.T) {
		if _, err := channels.Adopt(ctx, e.st, []string{"live", "shop"}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if rec := call(e.srv, http.MethodPatch, "/api/channels/"+channels.AdoptedID("live"), `{"name":"直播间"}`); rec.Code != 200 {
			t.Fatalf("rename %d %s", rec.Code, rec.Body)
		}
		w := get(e.srv, "/api/stats/cohorts?by=channel&from="+d1.String()+"&to="+d1.String(), "Accept", "text/csv")
		rows, err := csv.NewReader(w.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"date", "channel", "channel_name", "new_customers", "lost_1d", "lost_7d", "lost_30d", "rate_1d", "rate_7d", "rate_30d", "complete"},
			{d1.String(), "", "", "1", "0", "0", "0", "0", "0", "0", "true"},
			{d1.String(), "live", "直播间", "1", "0", "1", "1", "0", "1", "1", "true"},
			{d1.String(), "shop", shop.Name, "2", "1", "1", "1", "0.5", "0.5", "0.5", "true"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("csv\n got %q\nwant %q", rows, want)
		}
	})
}
