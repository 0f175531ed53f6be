package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func TestMessagesStayWithinWeComsTextLimitWhateverTheNames(t *testing.T) {
	long := strings.Repeat("𠜎", 500) // 4 bytes each
	at := testclock.Date(2026, 11, 13, 10, 0, 0, 0, time.UTC)
	for _, lang := range []string{LangZH, LangEN} {
		msgs := map[string]string{
			"churn alert": churnText(churnFacts{Member: long, Customer: long, Remark: long + "x", Channel: long,
				Since: at, Deleted: at.Add(time.Hour)}, lang, time.UTC),
			"删人提醒": deletionText(long, 100000, 100000, at, at.AddDate(0, 1, 0), lang, time.UTC),
		}
		for name, m := range msgs {
			if len(m) > wecom.MaxAppTextBytes {
				t.Errorf("%s in %s is %d bytes, over %d", name, lang, len(m), wecom.MaxAppTextBytes)
			}
			if !strings.Contains(m, "…") {
				t.Errorf("%s in %s does not show a long name was cut:\n%s", name, lang, m)
			}
		}
	}
}

func TestDaysStayedAreCalendarDaysInTheBrandsZone(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	added := testclock.Date(2026, 11, 13, 23, 30, 0, 0, loc)
	for _, tc := range []struct {
		name    string
		deleted time.Time
		zh, en  string
	}{
		{"the same evening", added.Add(20 * time.Minute), "相处天数：不到 1 天", "Stayed: less than a day"},
		{"after midnight", added.Add(time.Hour), "相处天数：1 天", "Stayed: 1 day"},
		{"a month later", added.AddDate(0, 1, 0), "相处天数：30 天", "Stayed: 30 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := churnFacts{Customer: "c", Since: added, Deleted: tc.deleted}
			if got := churnText(f, LangZH, loc); !strings.Contains(got, tc.zh) {
				t.Errorf("zh-CN lacks %q:\n%s", tc.zh, got)
			}
			if got := churnText(f, LangEN, loc); !strings.Contains(got, tc.en) {
				t.Errorf("en lacks %q:\n%s", tc.en, got)
			}
		})
	}
}
