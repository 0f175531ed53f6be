package report

import (
	"strings"
	"testing"

	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/churn"
	"github.com/siyuhq/siyu/shared/moments"
)

func TestTheReportNamesYesterdaysBestAndWorstPosts(t *testing.T) {
	d := Data{
		Day:       calendar.Day{Year: 2026, Month: 11, Day: 23},
		Daily:     churn.Daily{NewCustomers: 10, CustomersStart: 100, CustomersEnd: 110},
		BestPost:  &moments.Funnel{PostID: "p-best", Kind: "moment", CustomersReached: 800, CustomersEngaged: 64, UniqueClickers: 40, ClickRate: 0.05},
		WorstPost: &moments.Funnel{PostID: "p-worst", Kind: "group_message", CustomersReached: 500, CustomersEngaged: 3, UniqueClickers: 1, ClickRate: 0.002},
	}
	zh := Render(d, LangZH, 0)
	for _, want := range []string{"昨日发布效果", "最佳 朋友圈 p-best：触达 800，互动 64，点击 40 人（点击率 5.00%）", "最差 群发 p-worst", "点击率 0.20%"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh-CN report lacks %q:\n%s", want, zh)
		}
	}
	en := Render(d, LangEN, 0)
	if !strings.Contains(en, "Best: Moment p-best reached 800") {
		t.Errorf("English report lacks the best post:\n%s", en)
	}
	if none := Render(Data{Day: d.Day, Daily: d.Daily}, LangZH, 0); strings.Contains(none, "昨日发布效果") {
		t.Error("a day without posts shows an empty posts section")
	}
}
