package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/config"
	"github.com/siyuhq/siyu/shared/start"
	"github.com/siyuhq/siyu/shared/store"
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

func TestTheDemoMomentsFunnelFillsWithinMinutes(t *testing.T) {
	if testing.Short() {
		t.Skip("plays the demo's month")
	}
	ctx := context.Background()
	dir := t.TempDir()
	const token = "demo-test-token"
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
	defer d.Close()
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := stack.New(start.Deps{Config: cfg, Store: st, Logger: quietLog, Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler()) // 127.0.0.1
	defer srv.Close()
	if err := d.Start(ctx, srv.URL+"/wecom/callback", s); err != nil {
		t.Fatal(err)
	}

	t.Run("the demo's customers arrive through its two named channels", func(t *testing.T) {
		var chans struct {
			Channels []struct{ Name, Kind, State string }
		}
		get(t, srv.URL+"/api/channels", token, &chans)
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
		get(t, srv.URL+"/api/stats/daily?by=channel", token, &daily)
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
	get(t, srv.URL+"/api/posts", token, &listing)
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
	get(t, srv.URL+"/api/posts/"+momentID+"/stats", token, &funnel)
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
