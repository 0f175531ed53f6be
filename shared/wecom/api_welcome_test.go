package wecom_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestSendWelcomeMsg(t *testing.T) {
	ctx := context.Background()
	// arrive adds a customer now and returns the add event's welcome code.
	arrive := func(t *testing.T, f *fixture, customer string) string {
		t.Helper()
		ev, err := f.sim.AddCustomer(ctx, "zhangsan", customer, "poster_sh", f.clock.Now())
		if err != nil || ev.WelcomeCode == "" {
			t.Fatalf("add: %+v, %v", ev, err)
		}
		return ev.WelcomeCode
	}
	setup := func(t *testing.T) (*fixture, *wecom.Client) {
		f := newFixture(t, wecomsim.Options{})
		withStaff(f)
		return f, f.client()
	}

	t.Run("a welcome within 20 s reaches the customer once, with its attachments", func(t *testing.T) {
		f, c := setup(t)
		code := arrive(t, f, "wmAlice")
		img, err := c.UploadMedia(ctx, wecom.Media{Type: "image", Filename: "a.png", ContentType: "image/png", Data: png})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(19 * time.Second)
		msg := wecom.WelcomeMsg{WelcomeCode: code, Text: &wecom.Text{Content: "王女士您好，欢迎光临"},
			Attachments: []wecom.MsgAttachment{
				{MsgType: "image", Image: &wecom.MsgImage{MediaID: img.MediaID}},
				{MsgType: "link", Link: &wecom.MsgLink{Title: "新人礼", URL: "https://brand.example/gift"}},
				{MsgType: "miniprogram", MiniProgram: &wecom.MsgMiniProgram{Title: "商城", PicMediaID: img.MediaID, AppID: "wx8bd80126147dfAAA", Page: "/index"}},
			}}
		if err := c.SendWelcomeMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if err := c.SendWelcomeMsg(ctx, msg); !wecom.IsCode(err, wecom.CodeWelcomeNotAllowed) {
			t.Fatalf("a second send with the same code: %v, want 41051", err)
		}
		got := f.sim.Welcomes()
		if len(got) != 1 {
			t.Fatalf("%d welcomes, want exactly one", len(got))
		}
		w := got[0]
		if w.Code != code || w.Member != "zhangsan" || w.Customer != "wmAlice" || w.Text != "王女士您好，欢迎光临" ||
			len(w.Attachments) != 3 || w.Attachments[2].MiniProgram.AppID != "wx8bd80126147dfAAA" || !w.At.Equal(f.clock.Now()) {
			t.Errorf("welcome %+v", w)
		}
	})

	tests := []struct {
		name  string
		after time.Duration
		msg   func(code string) wecom.WelcomeMsg
		want  int
	}{
		{"a code used after 20 s is 41050", 21 * time.Second,
			func(code string) wecom.WelcomeMsg {
				return wecom.WelcomeMsg{WelcomeCode: code, Text: &wecom.Text{Content: "hi"}}
			}, wecom.CodeInvalidWelcomeCode},
		{"an unknown code is 41050", 0,
			func(string) wecom.WelcomeMsg {
				return wecom.WelcomeMsg{WelcomeCode: "WELCOMEUNKNOWN", Text: &wecom.Text{Content: "hi"}}
			}, wecom.CodeInvalidWelcomeCode},
		{"ten attachments are 41064", 0,
			func(code string) wecom.WelcomeMsg {
				var atts []wecom.MsgAttachment
				for range 10 {
					atts = append(atts, wecom.MsgAttachment{MsgType: "link", Link: &wecom.MsgLink{Title: "t", URL: "https://x"}})
				}
				return wecom.WelcomeMsg{WelcomeCode: code, Attachments: atts}
			}, wecom.CodeTooManyAttachments},
		{"an attachment of an unknown kind is 41065", 0,
			func(code string) wecom.WelcomeMsg {
				return wecom.WelcomeMsg{WelcomeCode: code, Attachments: []wecom.MsgAttachment{{MsgType: "voice"}}}
			}, wecom.CodeBadAttachmentType},
		{"an image that was never uploaded is 40007", 0,
			func(code string) wecom.WelcomeMsg {
				return wecom.WelcomeMsg{WelcomeCode: code, Attachments: []wecom.MsgAttachment{{MsgType: "file", File: &wecom.MediaRef{MediaID: "nope"}}}}
			}, 40007},
		{"text over 4000 bytes is refused", 0,
			func(code string) wecom.WelcomeMsg {
				return wecom.WelcomeMsg{WelcomeCode: code, Text: &wecom.Text{Content: strings.Repeat("欢", 1334)}}
			}, wecom.CodeInvalidParameter},
		{"nothing to send is refused", 0,
			func(code string) wecom.WelcomeMsg { return wecom.WelcomeMsg{WelcomeCode: code} }, wecom.CodeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := setup(t)
			code := arrive(t, f, "wmBob")
			f.clock.Advance(tt.after)
			if err := c.SendWelcomeMsg(ctx, tt.msg(code)); !wecom.IsCode(err, tt.want) {
				t.Fatalf("got %v, want errcode %d", err, tt.want)
			}
			if n := len(f.sim.Welcomes()); n != 0 {
				t.Errorf("%d welcomes went out on a refused call", n)
			}
			if tt.after < wecom.WelcomeCodeTTL && tt.want != wecom.CodeInvalidWelcomeCode {
				// A refused message leaves the code usable.
				if err := c.SendWelcomeMsg(ctx, wecom.WelcomeMsg{WelcomeCode: code, Text: &wecom.Text{Content: "hi"}}); err != nil {
					t.Errorf("the code should survive a refused message: %v", err)
				}
			}
		})
	}

	t.Run("a system-busy answer is retried and the customer is welcomed once", func(t *testing.T) {
		f, c := setup(t)
		code := arrive(t, f, "wmCarol")
		f.sim.Inject(wecomsim.PathSendWelcomeMsg, wecom.CodeBusy, 1)
		if err := c.SendWelcomeMsg(ctx, wecom.WelcomeMsg{WelcomeCode: code, Text: &wecom.Text{Content: "hi"}}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.sim.Welcomes()); n != 1 || len(f.sleeps) != 1 {
			t.Errorf("%d welcomes after %d waits, want 1 after 1", n, len(f.sleeps))
		}
	})
}

// The first-touch paths share the client's error handling: busy and rate
// limits back off and retry, a revoked token is refreshed once.
func TestFirstTouchPathsRecoverFromInjectedErrors(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		path string
		call func(f *fixture, c *wecom.Client) error
	}{
		{wecomsim.PathAddContactWay, func(_ *fixture, c *wecom.Client) error {
			_, err := c.AddContactWay(ctx, wecom.ContactWay{Type: 1, Scene: 2, User: []string{"lisi"}})
			return err
		}},
		{wecomsim.PathCreateLink, func(_ *fixture, c *wecom.Client) error {
			_, err := c.CreateAcquisitionLink(ctx, wecom.AcquisitionLinkSpec{LinkName: "l", Range: wecom.AcquisitionRange{UserList: []string{"lisi"}}})
			return err
		}},
		{wecomsim.PathGetCorpTagList, func(_ *fixture, c *wecom.Client) error { _, err := c.GetCorpTagList(ctx, nil, nil); return err }},
		{wecomsim.PathMarkTag, func(f *fixture, c *wecom.Client) error {
			f.sim.AddTags("etVIP")
			if _, err := f.sim.AddCustomer(ctx, "lisi", "wmX", "", f.clock.Now()); err != nil {
				return err
			}
			return c.MarkTag(ctx, wecom.MarkTagRequest{UserID: "lisi", ExternalUserID: "wmX", AddTag: []string{"etVIP"}})
		}},
		{wecomsim.PathMessageSend, func(f *fixture, c *wecom.Client) error {
			_, err := c.SendAppMessage(ctx, wecom.AppMessage{AgentID: f.sim.AgentID(), ToUser: []string{"lisi"}, MsgType: "text", Text: &wecom.Text{Content: "x"}})
			return err
		}},
	}
	codes := []struct {
		code, sleeps, tokens int
	}{
		{wecom.CodeBusy, 1, 1}, {wecom.CodeRateLimited, 1, 1}, {wecom.CodeInvalidToken, 0, 2}, {wecom.CodeTokenExpired, 0, 2},
	}
	for _, cl := range calls {
		for _, cd := range codes {
			t.Run(fmt.Sprintf("%s recovers from one %d", cl.path, cd.code), func(t *testing.T) {
				f := newFixture(t, wecomsim.Options{})
				withStaff(f)
				f.sim.Inject(cl.path, cd.code, 1)
				if err := cl.call(f, f.client()); err != nil {
					t.Fatal(err)
				}
				if n := f.sim.Calls(cl.path); n != 2 {
					t.Errorf("%d calls, want 2", n)
				}
				if len(f.sleeps) != cd.sleeps || f.sim.Calls(wecomsim.PathGetToken) != cd.tokens {
					t.Errorf("%d waits and %d tokens, want %d and %d", len(f.sleeps), f.sim.Calls(wecomsim.PathGetToken), cd.sleeps, cd.tokens)
				}
			})
		}
	}
}
