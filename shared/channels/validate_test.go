package channels_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/channels"
)

func TestWeComsLimitsAreAcceptedUpToTheirEdge(t *testing.T) {
	img := channels.Attachment{Type: "image", MediaID: "m1"}
	tests := []struct {
		name  string
		w     *channels.Welcome
		field string // "" when valid
	}{
		{"no welcome", nil, ""},
		{"4000 bytes of text", &channels.Welcome{Text: strings.Repeat("a", 4000)}, ""},
		{"4001 bytes of text", &channels.Welcome{Text: strings.Repeat("a", 4001)}, "w.text"},
		{"1333 three-byte characters and a byte", &channels.Welcome{Text: strings.Repeat("字", 1333) + "a"}, ""},
		{"nine attachments", &channels.Welcome{Attachments: []channels.Attachment{img, img, img, img, img, img, img, img, img}}, ""},
		{"ten attachments", &channels.Welcome{Attachments: []channels.Attachment{img, img, img, img, img, img, img, img, img, img}}, "w.attachments"},
		{"a file by URL", &channels.Welcome{Attachments: []channels.Attachment{{Type: "file", URL: "https://cdn.example/a.pdf"}}}, ""},
		{"a link with a cover", &channels.Welcome{Attachments: []channels.Attachment{{Type: "link", URL: "http://a.example", Title: "t", PicURL: "https://a.example/p.png"}}}, ""},
		{"a link whose cover is not http", &channels.Welcome{Attachments: []channels.Attachment{{Type: "link", URL: "http://a.example", Title: "t", PicURL: "data:image/png;base64,AA"}}}, "w.attachments[0].pic_url"},
		{"a URL with credentials", &channels.Welcome{Attachments: []channels.Attachment{{Type: "image", URL: "https://u:p@a.example/a.png"}}}, "w.attachments[0].url"},
		{"a miniprogram with its cover", &channels.Welcome{Attachments: []channels.Attachment{{Type: "miniprogram", Title: "t", AppID: "wx1", Page: "pages/a", MediaID: "m"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := channels.ValidateWelcome("w", tt.w)
			var fe *channels.FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("error %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestSettingsBoundsAreInclusive(t *testing.T) {
	s := channels.DefaultSettings()
	for _, b := range [][2]int{{1, 1}, {1000, 1440}} {
		s.DeletionAlert.Threshold, s.DeletionAlert.WindowMinutes = b[0], b[1]
		if err := channels.ValidateSettings(s); err != nil {
			t.Errorf("threshold %d, window %d refused: %v", b[0], b[1], err)
		}
	}
	s.DeletionAlert.Admins = make([]string, channels.MaxAdmins)
	for i := range s.DeletionAlert.Admins {
		s.DeletionAlert.Admins[i] = "u"
	}
	if err := channels.ValidateSettings(s); err != nil {
		t.Errorf("100 admins refused: %v", err)
	}
	if err := channels.ValidateSettings(channels.DefaultSettings()); err != nil {
		t.Errorf("the defaults are refused: %v", err)
	}
}
