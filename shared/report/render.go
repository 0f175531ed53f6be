package report

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/moments"
	"github.com/siyuhq/siyu/shared/wecom"
)

// Languages of the report.
const (
	LangZH = "zh-CN"
	LangEN = "en"
)

// texts are the report's words in one language.
type texts struct {
	title, newC, lost, removed, net, rate, avg7, customers, trend, trendFrom string
	channels, channelLine, noChannel                                         string
	members, memberHigh, memberCount, memberWeCom, sep                       string
	reconciled, more, omitted, colon, gap, avgFmt                            string
	posts, best, worst, postLine, kindMoment, kindGroup                      string
}

var lang = map[string]texts{
	LangZH: {
		title: "## 私域日报 · %s", newC: "新增客户", lost: "流失", removed: "删除", net: "净增",
		rate: "流失率", avg7: "7日均", customers: "客户总数", trend: "近7日流失率", trendFrom: "（%s 起）",
		channels: "**流失较高的渠道**（近7日 流失/新增）", channelLine: "%s：流失 %d / 新增 %d（%s）", noChannel: "（无渠道）",
		members: "**删除异常的成员**", memberHigh: "客户删除 %d（7日均 %.1f）", memberCount: "客户删除 %d", memberWeCom: "企业微信统计 %d", sep: "，", colon: "：", gap: "　", avgFmt: "（%s %s %s）",
		reconciled: "对账补录 **%d** 条（回调丢失后由夜间同步补记）", more: "…另有 %d 项", omitted: "（部分内容因长度限制省略）",
		posts: "**昨日发布效果**", best: "最佳", worst: "最差", postLine: "%s %s %s：触达 %d，互动 %d，点击 %d 人（点击率 %s）",
		kindMoment: "朋友圈", kindGroup: "群发",
	},
	LangEN: {
		title: "## Siyu daily report · %s", newC: "New customers", lost: "lost", removed: "removed", net: "net",
		rate: "Churn rate", avg7: "7-day avg", customers: "Customers", trend: "Churn rate, last 7 days", trendFrom: " (from %s)",
		channels: "**Channels losing the most** (last 7 days, lost/new)", channelLine: "%s: lost %d / new %d (%s)", noChannel: "(no channel)",
		members: "**Members with unusual deletions**", memberHigh: "deleted by customers %d (7-day avg %.1f)", memberCount: "deleted by customers %d", memberWeCom: "WeCom counts %d", sep: ", ", colon: ": ", gap: " · ", avgFmt: " (%s %s %s)",
		reconciled: "Reconciled **%d** events (recovered by the nightly sync after lost callbacks)", more: "…and %d more", omitted: "(some sections omitted for length)",
		posts: "**Yesterday's posts**", best: "Best", worst: "Worst", postLine: "%s: %s %s reached %d, engaged %d, %d clickers (click rate %s)",
		kindMoment: "Moment", kindGroup: "group message",
	},
}

func pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 2, 64) + "%" }

func signed(n int64) string {
	if n > 0 {
		return "+" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// Render writes the day's report as WeCom robot markdown in language l
// (LangZH when unknown), within max bytes (wecom.MaxRobotMarkdownBytes
// when 0). The headline always fits; the channel and member sections keep
// as many whole lines as fit and say how many they left out, so no line —
// and no multibyte character — is ever cut.
func Render(d Data, l string, max int) string {
	t, ok := lang[l]
	if !ok {
		t = lang[LangZH]
	}
	if max <= 0 {
		max = wecom.MaxRobotMarkdownBytes
	}
	day := d.Daily
	net := day.NewCustomers - day.LostCustomers - day.RemovedCustomers

	var head []string
	head = append(head, fmt.Sprintf(t.title, d.Day))
	head = append(head, fmt.Sprintf("%s **%d**%s%s <font color=\"warning\">%d</font>%s%s %d%s%s **%s**",
		t.newC, day.NewCustomers, t.gap, t.lost, day.LostCustomers, t.gap, t.removed, day.RemovedCustomers, t.gap, t.net, signed(net)))
	rateLine := fmt.Sprintf("%s **%s**", t.rate, pct(day.ChurnRate))
	if len(d.Trend) > 0 {
		var sum float64
		for _, x := range d.Trend {
			sum += x.ChurnRate
		}
		avg := sum / float64(len(d.Trend))
		arrow := "→"
		switch {
		case day.ChurnRate > avg+1e-9:
			arrow = "↑"
		case day.ChurnRate < avg-1e-9:
			arrow = "↓"
		}
		rateLine += fmt.Sprintf(t.avgFmt, t.avg7, pct(avg), arrow)
	}
	rateLine += fmt.Sprintf("%s%s %d → %d", t.gap, t.customers, day.CustomersStart, day.CustomersEnd)
	head = append(head, rateLine)
	if len(d.Trend) > 0 {
		rates := make([]string, 0, len(d.Trend)+1)
		for _, x := range d.Trend {
			rates = append(rates, pct(x.ChurnRate))
		}
		rates = append(rates, "**"+pct(day.ChurnRate)+"**")
		head = append(head, "> "+t.trend+fmt.Sprintf(t.trendFrom, d.Trend[0].Date[5:])+t.colon+strings.Join(rates, " · "))
	}
	if day.Reconciled > 0 {
		head = append(head, fmt.Sprintf(t.reconciled, day.Reconciled))
	}

	var chans []string
	for _, c := range d.Channels {
		name := cmp.Or(c.Name, c.Channel, t.noChannel)
		chans = append(chans, "> "+fmt.Sprintf(t.channelLine, name, c.Lost, c.New, pct(c.Rate)))
	}
	var members []string
	for _, m := range d.Members {
		var parts []string
		if m.High || !m.Mismatch {
			parts = append(parts, fmt.Sprintf(t.memberHigh, m.DeletedByCustomer, m.Average))
		} else {
			parts = append(parts, fmt.Sprintf(t.memberCount, m.DeletedByCustomer))
		}
		if m.Mismatch {
			parts = append(parts, fmt.Sprintf(t.memberWeCom, m.WeCom))
		}
		members = append(members, "> "+m.Member+t.colon+strings.Join(parts, t.sep))
	}

	var postLines []string
	for _, p := range []struct {
		label string
		f     *moments.Funnel
	}{{t.best, d.BestPost}, {t.worst, d.WorstPost}} {
		if p.f == nil {
			continue
		}
		kind := t.kindMoment
		if p.f.Kind == "group_message" {
			kind = t.kindGroup
		}
		postLines = append(postLines, "> "+fmt.Sprintf(t.postLine, p.label, kind, p.f.PostID,
			p.f.CustomersReached, p.f.CustomersEngaged, p.f.UniqueClickers, pct(p.f.ClickRate)))
	}

	b := &budget{max: max}
	for _, line := range head {
		b.line(line)
	}
	b.section(t.posts, postLines, t.more, 2)
	b.section(t.channels, chans, t.more, MaxChannelLines)
	b.section(t.members, members, t.more, MaxMemberLines)
	if b.cut {
		b.line(t.omitted)
	}
	return truncate(strings.Join(b.lines, "\n"), max)
}

// budget collects whole lines up to max bytes (joined by "\n").
type budget struct {
	max   int
	used  int
	lines []string
	cut   bool
}

func (b *budget) cost(line string) int {
	if len(b.lines) == 0 {
		return len(line)
	}
	return len(line) + 1
}

func (b *budget) fits(line string, reserve int) bool { return b.used+b.cost(line)+reserve <= b.max }

func (b *budget) line(line string) bool {
	if !b.fits(line, 0) {
		b.cut = true
		return false
	}
	b.used += b.cost(line)
	b.lines = append(b.lines, line)
	return true
}

// reserve is room kept for the closing "omitted" and "…and N more" lines.
const reserve = 120

// Lines a section shows at most; the rest is summed up as "…and N more".
const (
	MaxChannelLines = 5
	MaxMemberLines  = 10
)

// section adds title and up to limit items, as many as fit, then
// "…and N more".
func (b *budget) section(title string, items []string, more string, limit int) {
	if len(items) == 0 {
		return
	}
	if !b.fits(title, reserve) || !b.fits(items[0], reserve+len(title)+1) {
		b.cut = true
		return
	}
	b.line(title)
	for i, it := range items {
		if i == limit || !b.fits(it, reserve) {
			b.line("> " + fmt.Sprintf(more, len(items)-i))
			return
		}
		b.line(it)
	}
}

// truncate cuts s to at most max bytes at a rune boundary (a last guard:
// Render's budget already keeps whole lines).
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
