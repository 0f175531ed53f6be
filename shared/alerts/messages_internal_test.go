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
