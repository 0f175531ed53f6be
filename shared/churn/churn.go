// Package churn turns the event log into the numbers brands read every
// morning: customers at the start and end of a day, new, lost and removed
// customers, the churn rate, the same flows per member and per channel, the
// early churn of each day's cohort of new customers (also split by the
// channel that brought them), and group churn.
//
// # Definitions
//
// These are the numbers brands read; the README's "Definitions" section says
// the same for operators.
//
// Days are calendar days in the brand's zone (SIYU_TZ, default Asia/Shanghai),
// the buckets WeCom's own statistics use. A relationship is one member
// (UserID) and one customer (ExternalUserID); a customer is an
// ExternalUserID, whichever members they have.
//
//   - added: add_external_contact, and add_half_external_contact, counted
//     once per relationship.
//   - deleted_by_customer: del_follow_user (the customer deleted or blocked
//     the member); WeCom's negative_feedback_cnt counts the same per member.
//   - deleted_by_member: del_external_contact, except Source
//     DELETE_BY_TRANSFER (a transfer, not a loss).
//   - customers_start(D): customers with at least one live relationship at
//     00:00 of D.
//   - new_customers(D): customers who had no live relationship and gained
//     one during D.
//   - lost_customers(D): customers whose last live relationship ended during
//     D by deleted_by_customer; removed_customers(D): the same, ended by
//     deleted_by_member.
//   - customers_end(D) = customers_start + new − lost − removed (an invariant
//     the tests check).
//   - churn_rate(D) = lost_customers / (customers_start + new_customers), 0
//     when that is 0.
//   - early churn of a cohort: of the customers new on D, the share lost
//     within 1, 7 and 30 days.
//   - channel: the State of the add event (the contact way or acquisition
//     link that brought the customer); a loss is charged to the channel of
//     the relationship it ends. Per-member and per-channel rows carry flows
//     only, since a customer with two members belongs to both.
//   - group churn per customer group and day: joins, quits (by themselves or
//     removed), members at the end, quit rate.
//
// The baseline (customers who existed before Siyu was switched on) comes from
// the first sync of WeCom's follow lists; the nightly sync writes what the
// log lacks as reconciled events, so a callback lost while a function was
// down is still counted, once.
//
// # Storage (one key-value table)
//
// The rollup never reads all history. Its state is kept so that every
// question it asks is a point lookup or a small partition read:
//
//	cust#<customer>        sk <member>#<unix>#<event key>   one fact per relationship event (add, half add,
//	                                                        baseline, delete by customer/member, transfer),
//	                                                        compact binary (facts.go: factV2)
//	rel#live               sk <customer>#<member>           the relationships Siyu believes live (for Live;
//	                                                        the row format is package liverel)
//	rel#meta               sk baseline | live_asof          baseline day and count; last day folded into rel#live
//	                       sk applied#YYYY-MM-DD            what the day's last finished run saw (event count,
//	                                                        digest of the sort keys, fact format)
//	                       sk gen                           the number of the last rel#gen entry (a counter)
//	rel#gen                sk %016d                         an entry: the customers whose facts a run was about
//	                                                        to write (expires after 120 days)
//	rel#sum#YYYY-MM-DD     sk h | c%05d                     the day's summary: each customer's ops (what they add
//	                                                        to the day's numbers), 2,000 customers an item, and a
//	                                                        header (entry number, chunk hashes, group tallies,
//	                                                        hash of the stored results); summary.go
//	grp#<chat_id>          sk YYYY-MM-DD                    a group's member count at the end of a day (carry)
//	stat#daily             sk YYYY-MM-DD                    brand-level Daily
//	stat#member            sk YYYY-MM-DD#<member>           Daily flows per member
//	stat#channel           sk YYYY-MM-DD#<channel>          Daily flows per channel (State of the add)
//	stat#cohort            sk YYYY-MM-DD                    Cohort (early churn of the customers new that day)
//	stat#cohort#channel    sk YYYY-MM-DD#<channel>          ChannelCohort (the same per channel of the add)
//	stat#group             sk YYYY-MM-DD#<chat_id>          GroupDay
//
// A re-run of a day (the nightly run re-runs a month of them, as cohorts
// keep filling) folds again only the day's customers named by entries
// written since its summary, and sums every customer's ops.
//
// Facts are written idempotently from events (same event, same key, same
// bytes), and never mutated. Whether a customer was live at an instant is a
// fold over that customer's own facts before the instant, so re-running any
// day — even an old one after later days were computed — derives the same
// answer, whatever else is stored. customers_start is carried from the
// previous day's stored customers_end (or the baseline), never recounted.
package churn

// Relationships counts relationship events of a day (a relationship is one
// member and one customer).
type Relationships struct {
	// Added: relationships that started (a half add followed by a full add of
	// the same pair is one).
	Added int64 `json:"added"`
	// DeletedByCustomer: del_follow_user that ended a relationship.
	DeletedByCustomer int64 `json:"deleted_by_customer"`
	// DeletedByMember: del_external_contact that ended a relationship, except
	// transfers.
	DeletedByMember int64 `json:"deleted_by_member"`
}

// Daily is one day's brand-level churn (the /api/stats/daily row).
type Daily struct {
	Date             string        `json:"date"`
	CustomersStart   int64         `json:"customers_start"`
	NewCustomers     int64         `json:"new_customers"`
	LostCustomers    int64         `json:"lost_customers"`
	RemovedCustomers int64         `json:"removed_customers"`
	CustomersEnd     int64         `json:"customers_end"`
	ChurnRate        float64       `json:"churn_rate"`
	Relationships    Relationships `json:"relationships"`
	// Transferred: relationships ended by a transfer to another member (not a
	// loss; the customer stays).
	Transferred int64 `json:"transferred"`
	// Reconciled: events written by the nightly sync (found missing from the
	// callbacks) that changed a number of this day.
	Reconciled int64 `json:"reconciled"`
}

// Flows is one member's or one channel's day. Customer-level numbers are
// charged to the relationship that caused them: a new customer to the
// member/channel of the relationship that made them live, a lost or removed
// customer to the member/channel of the last relationship that ended.
// Customers at start/end are not split (a customer with two members belongs
// to both), so rows carry flows only.
type Flows struct {
	Date             string        `json:"date"`
	Member           string        `json:"member,omitempty"`
	Channel          *string       `json:"channel,omitempty"`
	NewCustomers     int64         `json:"new_customers"`
	LostCustomers    int64         `json:"lost_customers"`
	RemovedCustomers int64         `json:"removed_customers"`
	Relationships    Relationships `json:"relationships"`
	Transferred      int64         `json:"transferred"`
	Reconciled       int64         `json:"reconciled"`
}

// Cohort is the early churn of the customers new on Date: how many of them
// were lost (their last relationship ended by the customer) within 1, 7 and
// 30 days (24 h windows from the moment they became new). A cohort keeps
// filling for 30 days; the nightly job re-runs those days.
type Cohort struct {
	Date         string  `json:"date"`
	NewCustomers int64   `json:"new_customers"`
	Lost1d       int64   `json:"lost_1d"`
	Lost7d       int64   `json:"lost_7d"`
	Lost30d      int64   `json:"lost_30d"`
	Rate1d       float64 `json:"rate_1d"`
	Rate7d       float64 `json:"rate_7d"`
	Rate30d      float64 `json:"rate_30d"`
}

// ChannelCohort is the part of a day's cohort that one channel brought
// (the State of the add that made each customer new).
type ChannelCohort struct {
	Cohort
	Channel string `json:"channel"`
}

// GroupDay is one customer group's day.
type GroupDay struct {
	Date         string `json:"date"`
	ChatID       string `json:"chat_id"`
	MembersStart int64  `json:"members_start"`
	Joins        int64  `json:"joins"`
	QuitsSelf    int64  `json:"quits_self"`
	QuitsRemoved int64  `json:"quits_removed"`
	MembersEnd   int64  `json:"members_end"`
	// QuitRate = (quits_self + quits_removed) / (members_start + joins), 0
	// when that is 0.
	QuitRate  float64 `json:"quit_rate"`
	Dismissed bool    `json:"dismissed,omitempty"`
}

// Partition keys of stored results.
const (
	pkDaily   = "stat#daily"
	pkMember  = "stat#member"
	pkChannel = "stat#channel"
	pkCohort  = "stat#cohort"
	pkChanCoh = "stat#cohort#channel"
	pkGroup   = "stat#group"
	pkMeta    = "rel#meta"
)

func custPK(customer string) string { return "cust#" + customer }
func chatPK(chat string) string     { return "grp#" + chat }

func ratio(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}
