package churn

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/storetest"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestFactEncoding(t *testing.T) {
	facts := []fact{
		{Member: "zhangsan", Time: 1740787200, Kind: kindAdd, Channel: "门店海报|A", Origin: events.OriginCallback, Key: "0123456789abcdef0123456789abcdef"},
		{Member: "m", Time: -1, Kind: kindBaseline, Key: "baseline"},
		{},
		{Member: strings.Repeat("长", 300), Time: 1 << 40, Kind: kindDelCust, Origin: events.OriginReconciled, Key: "k"},
	}
	for _, f := range facts {
		got, err := decodeFact(f.encode())
		if err != nil || got != f {
			t.Errorf("round trip of %+v = %+v, %v", f, got, err)
		}
		// What earlier versions stored still reads the same.
		legacy, _ := json.Marshal(f)
		if got, err := decodeFact(legacy); err != nil || got != f {
			t.Errorf("JSON fact %s = %+v, %v", legacy, got, err)
		}
		// Every truncation and any trailing byte is refused, never a panic.
		enc := f.encode()
		for i := range len(enc) {
			if _, err := decodeFact(enc[:i]); err == nil {
				t.Errorf("%+v cut to %d bytes decoded", f, i)
			}
		}
		if _, err := decodeFact(append(enc, 0)); err == nil {
			t.Errorf("%+v with a trailing byte decoded", f)
		}
	}
}

func FuzzDecodeFact(f *testing.F) {
	f.Add(fact{Member: "m", Time: 5, Kind: kindAdd, Key: "k"}.encode())
	f.Add([]byte(`{"m":"a","t":1,"k":"add","key":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeFact(data)
		if err != nil || (len(data) > 0 && data[0] == '{') {
			return
		}
		// Overlong varints decode too; what matters is that the decoded fact
		// survives its own encoding.
		if again, err := decodeFact(got.encode()); err != nil || again != got {
			t.Fatalf("decode(%x) = %+v, which re-decodes as %+v, %v", data, got, again, err)
		}
	})
}

// TestUpgradeFromJSONFacts: a store written by a version that kept facts as
// JSON gives the same numbers after the upgrade, and the first run of each
// day rewrites its facts in the compact form.
func TestUpgradeFromJSONFacts(t *testing.T) {
	ctx := t.Context()
	loc, _ := calendar.Zone("Asia/Shanghai")
	day0 := testclock.Day(2025, time.March, 1)
	now := func() time.Time { return day0.AddDays(10).Start(loc) }
	s := storetest.NewMemStore(now)
	r := New(s, loc, nil, nil)
	r.Now = now
	r.Log.Now = r.Now
	at := func(d, h int) time.Time { return day0.AddDays(d).Start(loc).Add(time.Duration(h) * time.Hour) }
	ev := func(change, member, customer string, when time.Time) wecom.Event {
		return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: change,
			UserID: member, ExternalUserID: customer, CreateTime: when.Unix(), Known: true}
	}
	for _, e := range []wecom.Event{
		ev(wecom.ChangeAddExternalContact, "a", "c1", at(0, 9)),
		ev(wecom.ChangeAddExternalContact, "b", "c2", at(0, 10)),
		ev(wecom.ChangeDelFollowUser, "a", "c1", at(1, 9)),
		ev(wecom.ChangeAddExternalContact, "a", "c3", at(2, 9)),
	} {
		if _, _, err := r.Log.Append(ctx, e, events.OriginCallback); err != nil {
			t.Fatal(err)
		}
	}
	run := func() {
		if _, err := r.Run(ctx, jobs.Request{From: day0.String(), To: day0.AddDays(2).String()}); err != nil {
			t.Fatal(err)
		}
	}
	run()
	want := s.Dump("stat#")

	// Turn the store into what format 1 left: JSON facts, format-1 marks.
	var writes []store.Write
	for _, customer := range []string{"c1", "c2", "c3"} {
		items, err := store.QueryAll(ctx, s, store.Query{PK: custPK(customer)})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			f, err := decodeFact(it.Data)
			if err != nil {
				t.Fatal(err)
			}
			it.Data, _ = json.Marshal(f)
			writes = append(writes, store.Write{Item: it})
		}
	}
	for d := range 3 {
		it, err := s.Get(ctx, pkMeta, appliedSK(day0.AddDays(d)))
		if err != nil {
			t.Fatal(err)
		}
		it.Data = []byte(strings.Replace(string(it.Data), `"format":2`, `"format":1`, 1))
		writes = append(writes, store.Write{Item: it})
	}
	if err := store.WriteMany(ctx, s, writes); err != nil {
		t.Fatal(err)
	}

	run()
	if got := s.Dump("stat#"); !reflect.DeepEqual(got, want) {
		t.Errorf("stats after the upgrade differ:\ngot  %v\nwant %v", got, want)
	}
	for k, v := range s.Dump("cust#") {
		if v[0] != factV2 {
			t.Errorf("fact %s still JSON after its day re-ran: %s", k, v)
		}
	}
}

// The facts of one pair within one second are ordered by what each can do
// from the pair's state before it; key order decides only among facts of
// one kind.
func TestTiesWithinASecondFollowThePairsState(t *testing.T) {
	f := func(member string, at int64, kind, key string) fact {
		return fact{Member: member, Time: at, Kind: kind, Key: key}
	}
	tests := []struct {
		name     string
		in, want []fact
	}{
		{
			name: "added and deleted: the add first, whatever the keys",
			in:   []fact{f("a", 10, kindDelCust, "1"), f("a", 10, kindAdd, "2")},
			want: []fact{f("a", 10, kindAdd, "2"), f("a", 10, kindDelCust, "1")},
		},
		{
			name: "deleted and added again: the delete first",
			in:   []fact{f("a", 5, kindAdd, "9"), f("a", 10, kindAdd, "1"), f("a", 10, kindDelMem, "2")},
			want: []fact{f("a", 5, kindAdd, "9"), f("a", 10, kindDelMem, "2"), f("a", 10, kindAdd, "1")},
		},
		{
			name: "after a baseline, a transfer and a re-add alternate from live",
			in:   []fact{f("a", 1, kindBaseline, "b"), f("a", 7, kindHalf, "1"), f("a", 7, kindAdd, "3"), f("a", 7, kindTransfer, "2")},
			want: []fact{f("a", 1, kindBaseline, "b"), f("a", 7, kindTransfer, "2"), f("a", 7, kindHalf, "1"), f("a", 7, kindAdd, "3")},
		},
		{
			name: "other members and seconds keep time, member, key order",
			in:   []fact{f("b", 10, kindDelCust, "1"), f("a", 10, kindDelCust, "1"), f("a", 9, kindAdd, "5"), f("b", 10, kindAdd, "0")},
			want: []fact{f("a", 9, kindAdd, "5"), f("a", 10, kindDelCust, "1"), f("b", 10, kindAdd, "0"), f("b", 10, kindDelCust, "1")},
		},
	}
	// TestDailyChurn's pairs added and deleted within a second include
	// deletes whose keys sort first.
	lower := 0
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5", "c6"} {
		ev := func(change string) wecom.Event {
			return wecom.Event{ToUserName: "corp", Event: wecom.EventExternalContact, ChangeType: change, UserID: "alice",
				ExternalUserID: c, CreateTime: time.Date(2025, 3, 1, 10, 0, 0, 0, shanghaiZone(t)).Unix(), Known: true}
		}
		if events.Key(ev(wecom.ChangeDelFollowUser), events.OriginCallback) < events.Key(ev(wecom.ChangeAddExternalContact), events.OriginCallback) {
			lower++
		}
	}
	if lower == 0 {
		t.Error("no delete of TestDailyChurn's same-second pairs sorts before its add by key: the case tests nothing")
	}
	for _, tt := range tests {
		got := append([]fact(nil), tt.in...)
		sortFacts(got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func shanghaiZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := calendar.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
