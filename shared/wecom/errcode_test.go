package wecom

import (
	"encoding/json"
	"testing"
)

// errCodeAnswers are answers whose errcode the scan reads (ok) or leaves
// to encoding/json (not ok), with the code encoding/json reads.
var errCodeAnswers = []struct {
	raw  string
	ok   bool
	code int
}{
	{`{"errcode":0,"errmsg":"ok","customer_list":[{"external_userid":"wm\"x\\"}],"next_cursor":""}`, true, 0},
	{`{"customer_list":[{"external_userid":"wmA"},{"external_userid":"wmB"}],"errcode":0,"errmsg":"ok","next_cursor":"3000"}`, true, 0},
	{" {\n\t\"errcode\" : 45009 , \"errmsg\" : \"api freq out of limit\" } \n", true, 45009},
	{`{"errcode":-1,"errmsg":"system busy"}`, true, -1},
	{`{}`, true, 0},
	{`{"next_cursor":"","list":[[{"a":"}]"}],{}]}`, true, 0},
	{`{"ErrCode":42001,"errmsg":"access_token expired"}`, true, 42001},
	{`{"errcode":40001,"errcode":0}`, true, 0},
	{`{"errcode":40001,"errcode":null}`, true, 40001},
	{`{"errcode":0,"errmsg":null}`, true, 0},
	{`{"err\u0063ode":40001}`, false, 40001},
	{`{"errcode":"0"}`, false, 0},
	{`{"errcode":1.5}`, false, 0},
	{`{"errcode":0,"errmsg":5}`, false, 0},
	{`[0]`, false, 0},
	{`{"errcode":0`, false, 0},
	{`{"errcode":0}x`, false, 0},
	{``, false, 0},
}

func TestScanErrCode(t *testing.T) {
	for _, c := range errCodeAnswers {
		code, ok := scanErrCode([]byte(c.raw))
		if ok != c.ok || (ok && code != c.code) {
			t.Errorf("%s: scanned %d, %v; want %d, %v", c.raw, code, ok, c.code, c.ok)
		}
		var env envelope
		if json.Unmarshal([]byte(c.raw), &env) == nil && env.ErrCode != c.code {
			t.Errorf("%s: the case's code %d is not encoding/json's %d", c.raw, c.code, env.ErrCode)
		}
	}
}

// FuzzScanErrCode: whatever the scan reads as ok from valid JSON is what
// encoding/json reads (a success is then decoded once, so a wrong read
// would pass an error off as a success or the reverse). Malformed JSON may
// scan ok; the decode that follows refuses it.
func FuzzScanErrCode(f *testing.F) {
	for _, c := range errCodeAnswers {
		f.Add([]byte(c.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		code, ok := scanErrCode(raw)
		if !ok || !json.Valid(raw) {
			return
		}
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("scanned errcode %d from an answer encoding/json refuses: %v", code, err)
		}
		if env.ErrCode != code {
			t.Fatalf("scanned errcode %d, encoding/json reads %d", code, env.ErrCode)
		}
	})
}
