package contactsync

import (
	"encoding/json"
	"testing"

	"github.com/siyuhq/siyu/shared/churn"
)

// A stored one-way relationship reads as encoding/json reads it, whether
// the fast path takes it or not.
func TestDecodeOneWayAgreesWithEncodingJSON(t *testing.T) {
	for _, raw := range []string{`{"t":1764547200}`, `{"t":0}`, `{"t":-5}`, `{"t":05}`, `{"t":1.5}`, `{"t":"7"}`,
		`{"t":123456789012345678901}`, `{"t":}`, `{"t":7,"x":1}`, ` {"t":7}`, `{}`, `{"T":9}`, `null`} {
		got, err := decodeOneWay([]byte(raw))
		var w oneWay
		werr := json.Unmarshal([]byte(raw), &w)
		if (err == nil) != (werr == nil) || (err == nil && got != w.CreateTime) {
			t.Errorf("decodeOneWay(%s) = %d, %v; encoding/json reads %d, %v", raw, got, err, w.CreateTime, werr)
		}
	}
	if data := oneWayWrite(churn.Pair{Member: "m", Customer: "c"}, 1764547200).Item.Data; string(data) != `{"t":1764547200}` {
		t.Errorf("oneWayWrite stores %s, which the fast path does not read", data)
	}
}
