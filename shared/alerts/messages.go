package alerts

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/calendar"
)

// Messages are plain text, a few short lines, in the report language
// (zh-CN unless it is en), times in the brand's zone. Every name is cut to
// maxNameRunes characters (at most 4 bytes each), so a message of at most
// four names and its fixed lines stays below WeCom's 2048-byte text limit
// (wecom.MaxAppTextBytes; longer text is cut by WeCom, not refused).

const maxNameRunes = 64

// churnText is the churn alert a member reads.
func churnText(f churnFacts, lang string, loc *time.Location) string {
	en := lang == LangEN
	name := cut(f.Customer)
	if f.Remark != "" && f.Remark != f.Customer {
		if en {
			name += " (remark: " + cut(f.Remark) + ")"
		} else {
			name += "（备注：" + cut(f.Remark) + "）"
		}
	}
	since, stayed := "未知", "未知"
	if en {
		since, stayed = "unknown", "unknown"
	}
	if !f.Since.IsZero() {
		since = f.Since.In(loc).Format("2006-01-02 15:04")
		days := calendar.Of(f.Since, loc).DaysUntil(calendar.Of(f.Deleted, loc))
		switch {
		case en && days <= 0:
			stayed = "less than a day"
		case days <= 0:
			stayed = "不到 1 天"
		case en && days == 1:
			stayed = "1 day"
		case en:
			stayed = fmt.Sprintf("%d days", days)
		default:
			stayed = fmt.Sprintf("%d 天", days)
		}
	}
	channel := cut(f.Channel)
	if channel == "" {
		channel = "未知渠道"
		if en {
			channel = "unknown channel"
		}
	}
	deleted := f.Deleted.In(loc).Format("2006-01-02 15:04")
	var b strings.Builder
	if en {
		fmt.Fprintf(&b, "Customer lost: %s deleted you\nAdded: %s\nChannel: %s\nStayed: %s\nDeleted: %s", name, since, channel, stayed, deleted)
	} else {
		fmt.Fprintf(&b, "流失提醒：客户 %s 删除了你\n添加时间：%s\n来源渠道：%s\n相处天数：%s\n删除时间：%s", name, since, channel, stayed, deleted)
	}
	return b.String()
}

// deletionText is the 删人提醒 the admins read.
func deletionText(member string, count, window int, from, to time.Time, lang string, loc *time.Location) string {
	layout := "2006-01-02 15:04"
	end := to.In(loc).Format(layout)
	if calendar.Of(from, loc) == calendar.Of(to, loc) {
		end = to.In(loc).Format("15:04")
	}
	span := from.In(loc).Format(layout) + " – " + end
	var s string
	if lang == LangEN {
		s = fmt.Sprintf("Deletion alert: member %s deleted %d customers within %d minutes\nTime: %s", cut(member), count, window, span)
	} else {
		s = fmt.Sprintf("删人提醒：成员 %s 在 %d 分钟内删除了 %d 位客户\n时间：%s", cut(member), window, count, span)
	}
	return s
}

// cut shortens a name to maxNameRunes characters.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= maxNameRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxNameRunes-1]) + "…"
}
