package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/siyuhq/siyu/infra/local/stack"
	"github.com/siyuhq/siyu/shared/channels"
	"github.com/siyuhq/siyu/shared/events"
	"github.com/siyuhq/siyu/shared/jobs"
	"github.com/siyuhq/siyu/shared/wecom/wecomsim"
)

// ChannelShare is the share of each day's new relationships that arrive
// through the brand's managed channel: a 「联系我」 QR code with a welcome
// (text and a link) and two tags, the shape first touch is built for. The
// rest keep the simulator's mix (its own channel states, which name no
// managed channel, and customers who searched a phone number): those get
// the invocation but neither welcome nor tags. A third is a middle guess
// for a brand that puts its QR codes in stores and parcels but still
// gains customers through members' own cards; the per-add figures do not
// depend on it, the monthly line grows with it.
const ChannelShare = 1.0 / 3

// DeliveryLag is how long after the change WeCom's callback is received
// (and the first-touch invoke made): the clock is set to the event's time
// plus this before each delivery, so the welcome code (20 s) is fresh and
// the event young, as live.
const DeliveryLag = time.Second

// splitAdds splits a brand's daily adds between the simulator's traffic
// and arrivals through the managed channel.
func splitAdds(daily int) (simulated, arrivals int) {
	arrivals = int(math.Round(float64(daily) * ChannelShare))
	simulated = max(daily-arrivals, 1)
	return simulated, arrivals
}

// arrivalTimes spreads n arrivals evenly over 09:00–22:00 of the day that
// starts at dayStart, on whole seconds; weekends bring a third more, as
// the simulator's own adds.
func arrivalTimes(dayStart time.Time, n int) []time.Time {
	if wd := dayStart.Weekday(); wd == time.Saturday || wd == time.Sunday {
		n += n / 3
	}
	const open, hours = 9 * time.Hour, 13 * time.Hour
	out := make([]time.Time, 0, n)
	for i := range n {
		at := dayStart.Add(open + hours*time.Duration(2*i+1)/time.Duration(2*n))
		out = append(out, at.Truncate(time.Second))
	}
	return out
}

// makeChannel creates the brand's QR code through the stack's channels
// service, as an operator would in the console: a tag group of two tags
// and a contact way on two members with a welcome. Onboarding, not counted.
func makeChannel(ctx context.Context, s *stack.Stack, sim *wecomsim.Sim) (channels.Channel, error) {
	members := sim.Members()
	if len(members) < 2 {
		return channels.Channel{}, fmt.Errorf("channel: the simulator has %d members, want 2", len(members))
	}
	group, err := s.Channels.AddTags(ctx, channels.NewTags{GroupName: "渠道来源", Tags: []channels.NewTag{{Name: "门店"}, {Name: "新客"}}})
	if err != nil {
		return channels.Channel{}, fmt.Errorf("channel tags: %w", err)
	}
	var tags []string
	for _, t := range group.Tags {
		tags = append(tags, t.ID)
	}
	c, err := s.Channels.Create(ctx, channels.Draft{Name: "门店二维码", Kind: channels.KindContactWay, State: "store-qr",
		Members: []string{members[0].UserID, members[1].UserID}, Tags: tags,
		Welcome: &channels.Welcome{Text: "%NICKNAME%，欢迎光临！到店出示本消息可领取会员礼一份。",
			Attachments: []channels.Attachment{{Type: "link", URL: "https://shop.example.com/member", Title: "会员权益"}}}})
	if err != nil {
		return channels.Channel{}, fmt.Errorf("channel: %w", err)
	}
	if len(c.Tags) != 2 || c.Welcome.Empty() || c.ConfigID == "" {
		return channels.Channel{}, fmt.Errorf("channel %+v: want a contact way with a welcome and two tags", c)
	}
	return c, nil
}

// firstTouch stands in for the callback's asynchronous invoke of the
// poster (lambdainvoke on Lambda): Dispatch keeps the event's key, and run
// — after the callback has answered — invokes the poster's "firsttouch"
// job with it, one metered invocation per event, as the Lambda path does.
type firstTouch struct {
	ctx context.Context
	a   *stack.Stack
	mt  *meter

	mu    sync.Mutex
	keys  []string
	total Usage // every invocation
	// welcomed, while set, also books invocations to welcomedU.
	welcomed  bool
	welcomedU Usage
	events    int
	errors    int
}

func (f *firstTouch) dispatch(_ context.Context, rec events.Record) {
	f.mu.Lock()
	f.keys = append(f.keys, rec.Key)
	f.mu.Unlock()
}

// run invokes the poster for each event dispatched since the last run.
func (f *firstTouch) run() {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := f.keys
	f.keys = nil
	for _, k := range keys {
		s := f.mt.snap()
		start := time.Now()
		_, err := f.a.RunJob(f.ctx, jobs.Request{Job: "firsttouch", Key: k})
		u := f.mt.since(s, 1, billedMs(time.Since(start)))
		f.events++
		if err != nil {
			f.errors++
		}
		f.total.add(u)
		if f.welcomed {
			f.welcomedU.add(u)
		}
	}
}

// usage is every first-touch invocation's usage so far.
func (f *firstTouch) usage() Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

func (f *firstTouch) setWelcomed(on bool) {
	f.mu.Lock()
	f.welcomed = on
	f.mu.Unlock()
}
