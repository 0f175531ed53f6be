package channels_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/siyuhq/siyu/shared/channels"
)

// The draft a channel embeds is flattened: a stored channel and the API's
// answer name its fields at the top level, as records written before it did.
func TestAChannelsDraftFieldsAreItsOwnInJSON(t *testing.T) {
	c := channels.Channel{ID: "ch1", Draft: channels.Draft{Name: "海报", Kind: channels.KindContactWay, State: "poster",
		Type: channels.TypeMulti, Members: []string{"alice"}, Departments: []int{2}, SkipVerify: true, Remark: "r",
		Tags: []string{"t1"}, Welcome: &channels.Welcome{Text: "hi"}}, ConfigID: "cfg", QRCode: "qr",
		LinkID: "l", LinkURL: "u", Pending: true}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{"config_id", "created_at", "departments", "id", "kind", "link_id", "link_url", "members", "name",
		"pending", "qr_code", "remark", "skip_verify", "state", "tags", "type", "updated_at", "welcome"}
	if !slices.Equal(names, want) {
		t.Fatalf("Channel JSON names %v, want %v", names, want)
	}
	var back channels.Channel
	if err := json.Unmarshal(data, &back); err != nil || back.Name != "海报" || back.State != "poster" || back.Welcome.Text != "hi" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
