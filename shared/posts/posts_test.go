package posts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/posts"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

func TestCreateRefusesBadPostsNamingTheField(t *testing.T) {
	e := newEnv(t, openMemory)
	long := strings.Repeat("字", 2001)
	tests := []struct {
		name  string
		draft posts.Draft
		field string
	}{
		{"an unknown kind", posts.Draft{Kind: "story", SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Text: "hi"}, "kind"},
		{"a missing send_at", posts.Draft{Kind: posts.Moment, Text: "hi"}, "send_at"},
		{"a send_at two days ago", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-23T08:00:00+08:00"), Text: "hi"}, "send_at"},
		{"an empty post", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00")}, "text"},
		{"text over 2000 characters", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Text: long}, "text"},
		{"a media URL that is not http", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"),
			Attachments: []posts.Attachment{{Type: posts.Image, URL: "ftp://example.invalid/a.png"}}}, "attachments[0].url"},
		{"media over 10 MB", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"),
			Attachments: []posts.Attachment{{Type: posts.Image, Data: append(pngBytes, make([]byte, 10<<20)...)}}}, "attachments[0].data"},
		{"a GIF image", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"),
			Attachments: []posts.Attachment{{Type: posts.Image, Data: []byte("GIF89a......")}}}, "attachments[0].data"},
		{"images mixed with a link", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Attachments: []posts.Attachment{
			{Type: posts.Image, URL: "https://x.invalid/a.png"}, {Type: posts.Link, URL: "https://x.invalid", Title: "t", CoverURL: "https://x.invalid/c.png"}}}, "attachments"},
		{"ten images", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Attachments: func() []posts.Attachment {
			var a []posts.Attachment
			for range 10 {
				a = append(a, posts.Attachment{Type: posts.Image, URL: "https://x.invalid/a.png"})
			}
			return a
		}()}, "attachments"},
		{"a link title over 64 bytes", posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Attachments: []posts.Attachment{
			{Type: posts.Link, URL: "https://x.invalid", Title: strings.Repeat("标题", 11), CoverURL: "https://x.invalid/c.png"}}}, "attachments[0].title"},
		{"a group message to customer groups without a sender", posts.Draft{Kind: posts.GroupMessage, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"),
			Text: "hi", ChatType: "group"}, "sender"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := e.svc.Create(context.Background(), tt.draft)
			var fe *posts.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Create = %v, want a FieldError on %q", err, tt.field)
			}
		})
	}
}

func TestCapOnMomentsACustomerSeesPerDay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, openMemory)
	var ids []string
	for i := range 3 {
		ids = append(ids, e.create(morning(fmt.Sprintf("post %d", i), "alice")).ID)
	}

	t.Run("a fourth Moment to the same members is refused naming the three", func(t *testing.T) {
		_, err := e.svc.Create(ctx, morning("fourth", "alice", "bob"))
		var ce *posts.CapError
		if !errors.As(err, &ce) || ce.Day != testclock.Shift("2026-11-25") || len(ce.Colliding) != 3 {
			t.Fatalf(testclock.Shift("Create = %v, want a cap error on 2026-11-25 with 3 posts"), err)
		}
	})
	t.Run("a Moment to everyone overlaps too", func(t *testing.T) {
		_, err := e.svc.Create(ctx, morning("to all"))
		var ce *posts.CapError
		if !errors.As(err, &ce) {
			t.Fatalf("Create = %v, want a cap error", err)
		}
	})
	t.Run("a Moment to other members fits", func(t *testing.T) {
		e.create(morning("for bob", "bob"))
	})
	t.Run("next_free_slot moves it to the same time the next day", func(t *testing.T) {
		d := morning("moved", "alice")
		d.IfFull = posts.IfFullNextFreeSlot
		p := e.create(d)
		want := testclock.Date(2026, 11, 26, 8, 0, 0, 0, shanghai)
		if !p.SendAt.Equal(want) || p.RequestedSendAt == nil {
			t.Fatalf("send_at = %v (requested %v), want %v", p.SendAt, p.RequestedSendAt, want)
		}
	})
	t.Run("canceling one frees its slot", func(t *testing.T) {
		if _, err := e.svc.Cancel(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		e.create(morning("in the freed slot", "alice"))
	})
	t.Run("the listing shows each day's usage", func(t *testing.T) {
		l, err := e.svc.List(ctx, posts.ListQuery{From: day(testclock.Shift("2026-11-25")), To: day(testclock.Shift("2026-11-26"))})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Cap[testclock.Shift("2026-11-25")]; got.Moments != 4 || got.Limit != 3 {
			t.Errorf(testclock.Shift("cap 2026-11-25 = %+v, want 4 Moments (3 to alice, 1 to bob) of 3"), got)
		}
		if got := l.Cap[testclock.Shift("2026-11-26")]; got.Moments != 1 {
			t.Errorf(testclock.Shift("cap 2026-11-26 = %+v, want 1"), got)
		}
	})
}

func TestGroupMessagesFollowTheMonthlyRule(t *testing.T) {
	e := newEnv(t, openMemory)
	e.svc.GroupMsgsPerMonth = func(int, time.Month) int { return 2 }
	gm := posts.Draft{Kind: posts.GroupMessage, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Text: "双十二预告", Sender: "alice"}
	e.create(gm)
	gm.SendAt = testclock.Shift("2026-11-28T08:00:00+08:00")
	e.create(gm)
	gm.SendAt = testclock.Shift("2026-11-29T08:00:00+08:00")
	_, err := e.svc.Create(context.Background(), gm)
	var ce *posts.CapError
	if !errors.As(err, &ce) || ce.Day != testclock.Shift("2026-11") {
		t.Fatalf("third group message in November = %v, want a monthly cap error", err)
	}
}

func TestPosterSendsAMomentOnceAndFollowsItsJob(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run("on "+sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open)
			e.sim.SetMomentJobDelay(30 * time.Second)
			d := morning("早安 ☀️", "alice")
			d.Attachments = []posts.Attachment{{Type: posts.Image, URL: e.media.URL + "/cat.png"}}
			p := e.create(d)

			if r := e.tick(); r.Created != 0 {
				t.Fatalf("a tick before 08:00 created %d tasks", r.Created)
			}
			e.clock.Advance(10 * time.Minute)
			if r := e.tick(); r.Created != 1 {
				t.Fatalf("the 08:00 tick created %d tasks, want 1", r.Created)
			}
			if got := e.get(p.ID); got.Status != posts.Sending || got.JobID == "" {
				t.Fatalf("after creation the post is %s with jobid %q", got.Status, got.JobID)
			}
			e.clock.Advance(time.Minute)
			e.tick()
			got := e.get(p.ID)
			if got.Status != posts.Sent || got.MomentID == "" || got.SentAt == nil || got.Late {
				t.Fatalf("after the job finished: %+v", got)
			}
			if n := len(e.sim.Moments()); n != 1 {
				t.Errorf("WeCom has %d Moments, want 1", n)
			}
			if e.sim.Uploads() != 1 {
				t.Errorf("uploads = %d, want 1 (the image)", e.sim.Uploads())
			}
		})
	}
}

func TestExactlyOnceWithTwoConcurrentPollers(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run("on "+sk.name, func(t *testing.T) {
			e := newEnv(t, sk.open)
			e.svc.MomentsPerDay = 0 // this test is about sending, not the cap
			var ids []string
			for i := range 10 {
				ids = append(ids, e.create(morning(fmt.Sprintf("post %d", i), "alice")).ID)
			}
			e.clock.Advance(10 * time.Minute)
			a, b := e.service(e.client), e.service(e.client)
			for round := 0; round < 3; round++ {
				var wg sync.WaitGroup
				for _, s := range []*posts.Service{a, b} {
					wg.Go(func() {
						if _, err := s.Tick(context.Background()); err != nil {
							t.Errorf("tick: %v", err)
						}
					})
				}
				wg.Wait()
				e.clock.Advance(time.Minute)
			}
			if n := e.sim.Calls(wecomsim.PathAddMomentTask); n != 10 {
				t.Errorf("add_moment_task called %d times for 10 posts", n)
			}
			for _, id := range ids {
				if p := e.get(id); p.Status != posts.Sent || p.Attempts != 1 {
					t.Errorf("post %s: %s after %d attempts", id, p.Status, p.Attempts)
				}
			}
		})
	}
}

func TestExactlyOnceWhenAnAttemptLosesItsAnswer(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run("on "+sk.name, func(t *testing.T) {
			t.Run("a task WeCom accepted is found, not sent again", func(t *testing.T) {
				e := newEnv(t, sk.open)
				p := e.create(morning("crash after accept", "alice"))
				e.clock.Advance(10 * time.Minute)
				e.sim.DropAnswers(wecomsim.PathAddMomentTask, 1)
				if r := e.tick(); r.Unknown != 1 {
					t.Fatalf("tick = %+v, want one unknown outcome", r)
				}
				// Ticks within the lease and the settle time leave it alone.
				for range 4 {
					e.clock.Advance(time.Minute)
					e.tick()
				}
				if got := e.get(p.ID); got.Status != posts.Sending {
					t.Fatalf("before resolving the post is %s", got.Status)
				}
				e.clock.Advance(2 * time.Minute)
				e.tick()
				got := e.get(p.ID)
				if got.Status != posts.Sent || !got.Resolved || got.MomentID != e.sim.Moments()[0].MomentID {
					t.Fatalf("after resolving: %+v", got)
				}
				if n := len(e.sim.Moments()); n != 1 {
					t.Errorf("WeCom has %d Moments, want 1", n)
				}
			})
			t.Run("a task WeCom never got is sent again, once", func(t *testing.T) {
				e := newEnv(t, sk.open)
				lost := &lostAnswer{WeCom: e.client, times: 1}
				e.svc = e.service(lost)
				p := e.create(morning("lost before WeCom", "alice"))
				e.clock.Advance(10 * time.Minute)
				e.tick()
				for range 8 {
					e.clock.Advance(time.Minute)
					e.tick()
				}
				got := e.get(p.ID)
				if got.Status != posts.Sent || got.Attempts != 2 || got.Resolved {
					t.Fatalf("post = %+v, want sent on the second attempt", got)
				}
				if n := len(e.sim.Moments()); n != 1 {
					t.Errorf("WeCom has %d Moments, want 1", n)
				}
			})
		})
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	t.Run("before sending nothing reaches WeCom", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("never", "alice"))
		got, err := e.svc.Cancel(ctx, p.ID)
		if err != nil || got.Status != posts.Canceled {
			t.Fatalf("Cancel = %+v, %v", got, err)
		}
		e.clock.Advance(time.Hour)
		e.tick()
		if n := e.sim.Calls(wecomsim.PathAddMomentTask); n != 0 {
			t.Errorf("add_moment_task called %d times", n)
		}
	})
	t.Run("after sending the Moment is canceled in WeCom", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("oops", "alice"))
		e.clock.Advance(10 * time.Minute)
		e.tick()
		e.tick()
		got, err := e.svc.Cancel(ctx, p.ID)
		if err != nil || got.Status != posts.Canceled || !e.sim.Moments()[0].Canceled {
			t.Fatalf("Cancel = %+v, %v; sim moment canceled = %v", got, err, e.sim.Moments()[0].Canceled)
		}
	})
	t.Run("a Moment canceled while its job runs is canceled when it finishes", func(t *testing.T) {
		e := newEnv(t, openMemory)
		e.sim.SetMomentJobDelay(90 * time.Second)
		p := e.create(morning("oops", "alice"))
		e.clock.Advance(10 * time.Minute)
		e.tick()
		if got, err := e.svc.Cancel(ctx, p.ID); err != nil || !got.CancelRequested {
			t.Fatalf("Cancel = %+v, %v", got, err)
		}
		e.clock.Advance(2 * time.Minute)
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Canceled || !e.sim.Moments()[0].Canceled {
			t.Fatalf("post = %s, sim canceled = %v", got.Status, e.sim.Moments()[0].Canceled)
		}
	})
	t.Run("after sending the group message is canceled in WeCom", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(posts.Draft{Kind: posts.GroupMessage, SendAt: testclock.Shift("2026-11-25T08:00:00+08:00"), Text: "hi", Sender: "alice"})
		e.clock.Advance(10 * time.Minute)
		e.tick()
		got, err := e.svc.Cancel(ctx, p.ID)
		if err != nil || got.Status != posts.Canceled || !e.sim.GroupMsgs()[0].Canceled {
			t.Fatalf("Cancel = %+v, %v", got, err)
		}
	})
	t.Run("a canceled post cannot be canceled again", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("twice", "alice"))
		e.svc.Cancel(ctx, p.ID)
		var ce *posts.ConflictError
		if _, err := e.svc.Cancel(ctx, p.ID); !errors.As(err, &ce) {
			t.Fatalf("second Cancel = %v, want a conflict", err)
		}
	})
}

func TestLatePosts(t *testing.T) {
	t.Run("a post due while the poster was down goes out on the next tick, marked late", func(t *testing.T) {
		e := newEnv(t, openMemory)
		e.tick() // the poster ran at 07:50, then went down
		p := e.create(morning("missed", "alice"))
		e.clock.Advance(5 * time.Hour)
		e.tick()
		e.tick()
		got := e.get(p.ID)
		if got.Status != posts.Sent || !got.Late || got.SentAt == nil || !got.SentAt.After(got.SendAt.Add(4*time.Hour)) {
			t.Fatalf("post = %+v", got)
		}
	})
	t.Run("a send_at hours in the past goes out on the next tick", func(t *testing.T) {
		e := newEnv(t, openMemory)
		e.tick()
		p := e.create(posts.Draft{Kind: posts.Moment, SendAt: testclock.Shift("2026-11-25T04:00:00+08:00"), Text: "catch up"})
		e.tick()
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Sent || !got.Late {
			t.Fatalf("post = %+v", got)
		}
	})
}

func TestFailuresAndBackoff(t *testing.T) {
	t.Run("a permanent WeCom error fails the post with errcode and errmsg", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("bad", "alice"))
		e.sim.Inject(wecomsim.PathAddMomentTask, wecom.CodeInvalidParameter, 1)
		e.clock.Advance(10 * time.Minute)
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Failed || got.ErrCode != wecom.CodeInvalidParameter || got.ErrMsg == "" {
			t.Fatalf("post = %+v", got)
		}
	})
	t.Run("an unknown tag fails the post showing the invalid tag", func(t *testing.T) {
		e := newEnv(t, openMemory)
		d := morning("tagged", "alice")
		d.VisibleRange.CustomerTags = []string{"etNOPE"}
		p := e.create(d)
		e.clock.Advance(10 * time.Minute)
		e.tick()
		e.tick()
		got := e.get(p.ID)
		if got.Status != posts.Failed || got.ErrCode == 0 || len(got.InvalidTags) != 1 || got.InvalidTags[0] != "etNOPE" {
			t.Fatalf("post = %+v", got)
		}
	})
	t.Run("an unknown sender is shown on a sent Moment", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("mixed", "alice", "ghost"))
		e.clock.Advance(10 * time.Minute)
		e.tick()
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Sent || len(got.InvalidSenders) != 1 || got.InvalidSenders[0] != "ghost" {
			t.Fatalf("post = %+v", got)
		}
	})
	t.Run("system busy leaves the post scheduled for the next tick", func(t *testing.T) {
		e := newEnv(t, openMemory)
		p := e.create(morning("busy", "alice"))
		e.sim.Inject(wecomsim.PathAddMomentTask, wecom.CodeBusy, 1)
		e.clock.Advance(10 * time.Minute)
		if r := e.tick(); r.Deferred != 1 {
			t.Fatalf("tick = %+v", r)
		}
		if got := e.get(p.ID); got.Status != posts.Scheduled {
			t.Fatalf("post = %s", got.Status)
		}
		e.clock.Advance(time.Minute)
		e.tick()
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Sent {
			t.Fatalf("post = %s", got.Status)
		}
	})
	t.Run("more than 10 Moments in a minute wait for the next minute", func(t *testing.T) {
		e := newEnv(t, openMemory)
		e.svc.MomentsPerDay = 0
		for i := range 12 {
			e.create(morning(fmt.Sprintf("burst %d", i), "alice"))
		}
		e.clock.Advance(10 * time.Minute)
		if r := e.tick(); r.Created != 10 || r.Deferred != 2 {
			t.Fatalf("first tick = %+v, want 10 created and 2 deferred", r)
		}
		e.clock.Advance(time.Minute)
		if r := e.tick(); r.Created != 2 {
			t.Fatalf("second tick = %+v, want 2 created", r)
		}
		if n := e.sim.Calls(wecomsim.PathAddMomentTask); n != 12 {
			t.Errorf("add_moment_task called %d times, want 12 (no 45009)", n)
		}
	})
	t.Run("a media URL answering 404 fails the post naming the attachment", func(t *testing.T) {
		e := newEnv(t, openMemory)
		d := morning("gone", "alice")
		d.Attachments = []posts.Attachment{{Type: posts.Image, URL: e.media.URL + "/gone.png"}}
		p := e.create(d)
		e.clock.Advance(10 * time.Minute)
		e.tick()
		if got := e.get(p.ID); got.Status != posts.Failed || !strings.Contains(got.ErrMsg, "attachments[0]") {
			t.Fatalf("post = %+v", got)
		}
	})
}

func TestUploadedMediaIsChunkedAndSent(t *testing.T) {
	e := newEnv(t, openMemory)
	img := append(append([]byte{}, pngBytes...), make([]byte, posts.ChunkSize+1000)...)
	d := morning("big picture", "alice")
	d.Attachments = []posts.Attachment{{Type: posts.Image, Data: img, Filename: "big.png"}}
	p := e.create(d)
	if p.Attachments[0].Chunks != 2 || p.Attachments[0].Size != len(img) {
		t.Fatalf("stored attachment = %+v, want 2 chunks of %d bytes", p.Attachments[0], len(img))
	}
	e.clock.Advance(10 * time.Minute)
	e.tick()
	e.tick()
	if got := e.get(p.ID); got.Status != posts.Sent || e.sim.Uploads() != 1 {
		t.Fatalf("post = %s, uploads = %d", got.Status, e.sim.Uploads())
	}
}
