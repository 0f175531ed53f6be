package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// get reads an admin API route as JSON.
func get(t *testing.T, url, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// demoRun is the local stack in demo mode over a directory, as `make run`
// starts it, with the first-touch worker running.
type demoRun struct {
	d   *demo
	s   *stack.Stack
	url string // the stack's server
	// stop shuts it down as Ctrl-C does; the test's cleanup calls it too.
	stop func()
}

// startDemoRun starts the demo over dir and plays its start.
func startDemoRun(t *testing.T, dir, token string) demoRun {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"SIYU_ADMIN_TOKEN": token, "SIYU_STORE": "sqlite:" + filepath.Join(dir, "siyu.db")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	quietLog := slog.New(slog.DiscardHandler)
	d, err := startDemo(&cfg, dir, quietLog, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	s, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: quietLog, Now: d.clock.Now})
	if err != nil {
		d.Close()
		st.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler()) // 127.0.0.1
	worker, cancel := context.WithCancel(ctx)
	s.FirstTouch.Start(worker)
	r := demoRun{d: d, s: s, url: srv.URL, stop: sync.OnceFunc(func() {
		srv.Close()
		cancel()
		s.FirstTouch.Wait()
		d.Close()
		st.Close()
	})}
	t.Cleanup(r.stop)
	if err := d.Start(ctx, srv.URL+"/wecom/callback", s); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTheDemoMomentsFunnelFillsWithinMinutes(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo's month")
	}
	ctx := context.Background()
	const token = "demo-test-token"
	r := startDemoRun(t, t.TempDir(), token)
	d, s, srvURL := r.d, r.s, r.url

	t.Run("the demo's customers arrive through its two named channels", func(t *testing.T) {
		var chans struct {
			Channels []struct{ Name, Kind, State string }
		}
		get(t, srvURL+"/api/channels", token, &chans)
		// Oldest first: the demo's own two, then the states its brand's
		// history used without a channel, adopted unnamed by the rollup.
		if len(chans.Channels) < 3 || chans.Channels[0].Name != "门店二维码" || chans.Channels[1].Kind != "acquisition_link" ||
			chans.Channels[2].Kind != "adopted" || chans.Channels[2].Name != "" {
			t.Fatalf("channels %+v", chans.Channels)
		}
		var daily struct {
			Days []struct {
				ChannelName  string `json:"channel_name"`
				NewCustomers int    `json:"new_customers"`
			}
		}
		get(t, srvURL+"/api/stats/daily?by=channel", token, &daily)
		brought := map[string]int{}
		for _, d := range daily.Days {
			brought[d.ChannelName] += d.NewCustomers
		}
		if brought["门店二维码"] == 0 || brought["抖音直播获客链接"] == 0 {
			t.Errorf("new customers by channel name: %v", brought)
		}
	})

	var listing struct {
		Posts []struct {
			ID, Kind, Status string
		} `json:"posts"`
	}
	get(t, srvURL+"/api/posts", token, &listing)
	momentID := ""
	for _, p := range listing.Posts {
		if p.Kind == "moment" && p.Status == "sent" {
			momentID = p.ID
		}
	}
	if momentID == "" {
		t.Fatalf("the demo sent no Moment at start: %+v", listing.Posts)
	}

	// The live loop, on the demo's clock, for the minutes the demo promises.
	start := d.clock.Now()
	last := start
	for m := 1; m <= 12; m++ {
		d.clock.Travel(start.Add(time.Duration(m) * time.Minute))
		last = d.liveStep(ctx, s, last)
	}
	var funnel struct {
		Published int `json:"members_published"`
		Reached   int `json:"customers_reached"`
		Engaged   int `json:"customers_engaged"`
	}
	get(t, srvURL+"/api/posts/"+momentID+"/stats", token, &funnel)
	moments := d.sim.Moments()
	if len(moments) != 1 {
		t.Fatalf("the simulator has %d Moments, want the demo's one", len(moments))
	}
	truth := d.sim.MomentTruth(moments[0].MomentID)
	tests := []struct {
		name      string
		got, want int
	}{
		{"members have published the Moment", funnel.Published, truth.Published},
		{"customers have seen it", funnel.Reached, truth.Reached},
		{"customers have liked or commented on it", funnel.Engaged, truth.Engaged},
	}
	for _, tt := range tests {
		t.Run(tt.name+" twelve minutes after it was sent, as the dashboard's funnel shows", func(t *testing.T) {
			if tt.got == 0 || tt.got != tt.want {
				t.Errorf("the funnel shows %d, WeCom says %d (funnel %+v)", tt.got, tt.want, funnel)
			}
		})
	}
}

// welcomed waits for the simulator to have sent more than n welcomes and
// returns the new ones: the stack's queue works apart from the demo loop.
func welcomed(t *testing.T, d *demo, n int) []wecomsim.Welcome {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ws := d.sim.Welcomes(); len(ws) > n {
			return ws[n:]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no welcome after %d within 30 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tagged waits for member to have put want on customer and reports whether
// they did within a bounded time.
func tagged(d *demo, member, customer string, want []string) bool {
	deadline := time.Now().Add(30 * time.Second)
	for !slices.Equal(d.sim.TagsOf(member, customer), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func TestTheDemoWelcomesAndTagsCustomersArrivingLiveAlsoAfterARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo's month twice")
	}
	ctx := context.Background()
	dir := t.TempDir()
	for _, run := range []string{"first run", "second run on the same directory"} {
		r := startDemoRun(t, dir, "demo-test-token")
		all, err := r.s.Channels.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byState := map[string]channels.Channel{}
		for _, c := range all {
			byState[c.State] = c
		}
		shop, live := byState[shopState], byState[liveState]
		if shop.ConfigID == "" || live.LinkID == "" || len(shop.Tags) != 2 {
			t.Fatalf("%s: the demo's channels %+v, %+v", run, shop, live)
		}

		// Two minutes of the live loop on the demo's clock: a customer
		// through the shop's QR code, then one through the live stream's link.
		start := r.d.clock.Now()
		last := start
		n := len(r.d.sim.Welcomes())
		var got []wecomsim.Welcome
		for m := 1; m <= 2; m++ {
			r.d.clock.Travel(start.Add(time.Duration(m) * time.Minute))
			last = r.d.liveStep(ctx, r.s, last)
			w := welcomed(t, r.d, n)
			n += len(w)
			got = append(got, w...)
		}
		var shopW, liveW []wecomsim.Welcome
		for _, w := range got {
			switch {
			case strings.HasSuffix(w.Text, strings.TrimPrefix(shop.Welcome.Text, "%NICKNAME%")):
				shopW = append(shopW, w)
			case w.Text == live.Welcome.Text:
				liveW = append(liveW, w)
			}
		}
		t.Run(run+": a customer scanning the shop's QR code is welcomed once, with its link, and tagged", func(t *testing.T) {
			if len(shopW) != 1 || len(shopW[0].Attachments) != 1 {
				t.Fatalf("shop welcomes %+v", shopW)
			}
			w := shopW[0]
			if !tagged(r.d, w.Member, w.Customer, shop.Tags) {
				t.Errorf("tags %v, want the channel's %v", r.d.sim.TagsOf(w.Member, w.Customer), shop.Tags)
			}
			if again := r.d.sim.Welcomes(); slices.ContainsFunc(again[n:], func(o wecomsim.Welcome) bool { return o.Customer == w.Customer }) {
				t.Errorf("welcomed twice: %+v", again[n:])
			}
		})
		t.Run(run+": a customer through the live stream's link gets its own welcome once", func(t *testing.T) {
			if len(liveW) != 1 || liveW[0].Customer == "" {
				t.Errorf("live welcomes %+v", liveW)
			}
		})
		r.stop()
	}
}
