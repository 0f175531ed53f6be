package churn

import (
	"reflect"
	"testing"
)

func TestChunkEncoding(t *testing.T) {
	customers := []string{"wmA", "wmB", "wmC"}
	ops := [][]op{
		{{field: opAdded, member: "alice", channel: "poster"}, {field: opNew, member: "alice", channel: "poster"}, {field: opCohortNew, channel: "poster"}},
		nil,
		{{field: opDelCust, member: "bob"}, {field: opLost, member: "bob"}, {field: opLost30d, channel: ""}},
	}
	gotC, gotO, err := decodeChunk(encodeChunk(customers, ops), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ops[1] = []op{} // decoding gives an empty list, not nil
	if !reflect.DeepEqual(gotC, customers) || !reflect.DeepEqual(gotO, ops) {
		t.Fatalf("round trip: %v %v", gotC, gotO)
	}
	for _, bad := range [][]byte{nil, {0x02}, {chunkV1, 1, 5, 'a'}, append(encodeChunk(customers, ops), 0)} {
		if _, _, err := decodeChunk(bad, nil, nil); err == nil {
			t.Errorf("decodeChunk(%x) took a malformed chunk", bad)
		}
	}
}

// FuzzDecodeChunk: a summary chunk read back from the store either decodes
// to what its own encoding decodes to, or is refused (and the day is folded
// afresh); it never panics.
func FuzzDecodeChunk(f *testing.F) {
	f.Add(encodeChunk([]string{"c1", "c2"}, [][]op{{{field: opAdded, member: "m", channel: "ch"}}, {{field: opLost7d}}}))
	f.Add([]byte{chunkV1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, ops, err := decodeChunk(data, nil, nil)
		if err != nil {
			return
		}
		cs2, ops2, err := decodeChunk(encodeChunk(cs, ops), nil, nil)
		if err != nil || !reflect.DeepEqual(cs, cs2) || !reflect.DeepEqual(ops, ops2) {
			t.Fatalf("decode(%x) = %v %v, which re-decodes as %v %v, %v", data, cs, ops, cs2, ops2, err)
		}
	})
}
