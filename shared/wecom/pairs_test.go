package wecom

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// pairsAnswer is a batch/get_by_user answer of n relationships as WeCom
// writes them: names, avatars, remarks and tags the page does not keep.
func pairsAnswer(n int) []byte {
	page := BatchGetByUserPage{NextCursor: "wmCURSOR" + fmt.Sprint(n)}
	for i := range n {
		page.Contacts = append(page.Contacts, FollowedContact{
			ExternalContact: ExternalContact{ExternalUserID: fmt.Sprintf("wmAbCdEf%06dAAAA", i), Name: "王小明<&>\"引号\"",
				Avatar: "https://wework.qpic.cn/wwhead/duc2TvpEgSSjibPUlNR3/0", Type: 1, Gender: i % 3, UnionID: "o4Ub0s0Xv"},
			FollowInfo: FollowInfo{UserID: fmt.Sprintf("member%03d", i%7), Remark: "老客户\n复购", Description: "来自门店",
				CreateTime: 1764547200 + int64(i), TagIDs: []string{"etTAG1", "etTAG2"}, OperUserID: "wmOper", AddWay: 1, State: "ch_store"},
		})
	}
	b, err := json.Marshal(struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		BatchGetByUserPage
	}{0, "ok", page})
	if err != nil {
		panic(err)
	}
	return b
}

// pairsAnswers are answers the walk reads itself (ok) or leaves to
// encoding/json.
var pairsAnswers = []struct {
	raw string
	ok  bool
}{
	{`{"errcode":0,"errmsg":"ok","external_contact_list":[],"next_cursor":""}`, true},
	{` { "external_contact_list" : [ { "follow_info" : { "createtime" : -0 , "userid":"a", "state" : "" } , "external_contact" : {"name":"\u738b\"","external_userid":"wm1","x":[1,2.5e-3,true,false,null,{}]} } ] } `, true},
	{`{"errcode":0,"errmsg":null,"unknown":{"a":[[[]]]},"next_cursor":"c"}`, true},
	{`{"errcode":0,"errmsg":"ok","external_contact_list":[{"external_contact":{"external_userid":"wm\u0041"}}]}`, false},
	{`{"errcode":42001,"errmsg":"access_token expired"}`, false},
	{`{"errcode":-0}`, false},
	{`{"errcode":0.0}`, false},
	{`{"errcode":0,"errmsg":5}`, false},
	{`{"external_contact_list":[{"follow_info":{"USERID":"a"}}]}`, false},
	{`{"external_contact_list":[{"follow_info":{"userid":"a"},"follow_info":{"state":"s"}}]}`, false},
	{`{"external_contact_list":null}`, false},
	{`{"external_contact_list":[{"external_contact":null}]}`, false},
	{`{"external_contact_list":[{"follow_info":{"createtime":1.5}}]}`, false},
	{`{"external_contact_list":[{"follow_info":{"createtime":99999999999999999999}}]}`, false},
	{`{"external_contact_list":[{"follow_info":{"userid":"\xff"}}]}`, false},
	{`{"next_cursor":"a","next_cursor":"b"}`, false},
	{`{"next_cursor":"a",}`, false},
	{`{"next_cursor":"a"} x`, false},
	{`{"next_cursor":"a`, false},
	{`{"x":01}`, false},
	{`{"x":"tab	inside"}`, false},
	{`{"x":"\q"}`, false},
	{`{"x":tru}`, false},
	{`{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, false},
	{`[]`, false},
}

func decodePairsSlow(raw []byte) (pairsPage, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return pairsPage{}, err
	}
	if env.ErrCode != 0 {
		return pairsPage{}, fmt.Errorf("errcode %d", env.ErrCode)
	}
	var p pairsPage
	err := json.Unmarshal(raw, &p)
	return p, err
}

// samePage compares pages as the sync reads them (an empty list and none
// are the same).
func samePage(a, b pairsPage) bool {
	if len(a.Contacts) == 0 && len(b.Contacts) == 0 {
		a.Contacts, b.Contacts = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func TestDecodePairsPage(t *testing.T) {
	answers := append([]struct {
		raw string
		ok  bool
	}{{string(pairsAnswer(100)), true}}, pairsAnswers...)
	for _, c := range answers {
		var got pairsPage
		ok := got.decodeFast([]byte(c.raw))
		if ok != c.ok {
			t.Errorf("decodeFast(%.80s) ok = %v, want %v", c.raw, ok, c.ok)
			continue
		}
		if !ok {
			if !reflect.DeepEqual(got, pairsPage{}) {
				t.Errorf("decodeFast(%.80s) gave up but left %+v", c.raw, got)
			}
			continue
		}
		want, err := decodePairsSlow([]byte(c.raw))
		if err != nil {
			t.Fatalf("encoding/json refuses %.80s: %v", c.raw, err)
		}
		if !samePage(got, want) {
			t.Errorf("decodeFast(%.80s) = %+v, encoding/json reads %+v", c.raw, got, want)
		}
	}
	var p pairsPage
	if !p.decodeFast(pairsAnswer(100)) || len(p.Contacts) != 100 || p.Contacts[99].FollowInfo.CreateTime != 1764547299 ||
		p.Contacts[5].FollowInfo.UserID != "member005" || p.Contacts[5].FollowInfo.State != "ch_store" || p.NextCursor != "wmCURSOR100" {
		t.Errorf("a page of 100 read as %+v", p)
	}
}

// FuzzDecodePairsPage: whatever the walk reads is what encoding/json reads
// from a successful answer, and it never reads an answer encoding/json
// refuses or an error answer.
func FuzzDecodePairsPage(f *testing.F) {
	f.Add(pairsAnswer(3))
	for _, c := range pairsAnswers {
		f.Add([]byte(c.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got pairsPage
		if !got.decodeFast(raw) {
			if !reflect.DeepEqual(got, pairsPage{}) {
				t.Fatalf("gave up but left %+v", got)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("read an answer that is not JSON: %q", raw)
		}
		want, err := decodePairsSlow(raw)
		if err != nil {
			t.Fatalf("read an answer encoding/json refuses or that is an error (%v): %q", err, raw)
		}
		if !samePage(got, want) {
			t.Fatalf("read %+v, encoding/json reads %+v", got, want)
		}
	})
}

// BenchmarkDecodePairsPage: one page of 100 relationships, as the nightly
// sync reads about a thousand of them at 10^5 customers.
func BenchmarkDecodePairsPage(b *testing.B) {
	raw := pairsAnswer(100)
	b.Run("walk", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var p pairsPage
			if !p.decodeFast(raw) {
				b.Fatal("gave up")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, ok := scanErrCode(raw); !ok {
				b.Fatal("scan")
			}
			var p pairsPage
			if err := json.Unmarshal(raw, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
