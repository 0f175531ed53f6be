// Package posts schedules enterprise Moments and group messages and sends
// each exactly once: a post is stored with a time-bucketed "due" key, the
// poster job claims due posts with a conditional write and a lease, records
// an attempt before calling WeCom, and resolves an attempt whose answer was
// lost against WeCom's own lists before it ever sends again.
package posts

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what a post becomes in WeCom.
type Kind string

// Kinds.
const (
	Moment       Kind = "moment"        // add_moment_task
	GroupMessage Kind = "group_message" // add_msg_template
)

// Status is where a post is in its life.
type Status string

// Statuses. A post moves scheduled → sending → sent | failed, or to
// canceled from scheduled or sent.
const (
	Scheduled Status = "scheduled"
	Sending   Status = "sending"
	Sent      Status = "sent"
	Failed    Status = "failed"
	Canceled  Status = "canceled"
)

// Terminal reports whether nothing more will happen to a post by itself.
func (s Status) Terminal() bool { return s == Sent || s == Failed || s == Canceled }

// Attachment types.
const (
	Image = "image"
	Video = "video"
	Link  = "link"
)

// Attachment is an image, a video or a link. Media come by URL (fetched at
// send time) or as bytes (base64 "data" in JSON), which the store keeps in
// chunks beside the post.
type Attachment struct {
	Type     string `json:"type"`
	URL      string `json:"url,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Filename string `json:"filename,omitempty"`
	// Title, Desc and CoverURL describe a link card; a Moment's link needs
	// a cover image.
	Title string `json:"title,omitempty"`
	// OriginalURL is the link's own URL when URL was replaced by a tracked
	// one (SIYU_PUBLIC_URL/r/{token}).
	OriginalURL string `json:"original_url,omitempty"`
	Desc        string `json:"desc,omitempty"`
	CoverURL    string `json:"cover_url,omitempty"`
	// Size, ContentType and Chunks describe stored bytes.
	Size        int    `json:"size,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Chunks      int    `json:"chunks,omitempty"`
}

// VisibleRange is who sends (members, departments) and which customers see
// (enterprise tags). Empty members and departments mean every member.
type VisibleRange struct {
	Members      []string `json:"members,omitempty"`
	Departments  []int    `json:"departments,omitempty"`
	CustomerTags []string `json:"customer_tags,omitempty"`
}

// Everyone reports whether the range names no sender, i.e. all members.
func (v VisibleRange) Everyone() bool { return len(v.Members) == 0 && len(v.Departments) == 0 }

// Attempt is one try at creating the WeCom task, written before the call.
type Attempt struct {
	StartedAt  time.Time `json:"started_at"`
	LeaseUntil time.Time `json:"lease_until"`
	Holder     string    `json:"holder"`
}

// Post is a scheduled Moment or group message.
type Post struct {
	ID           string       `json:"id"`
	Kind         Kind         `json:"kind"`
	Status       Status       `json:"status"`
	SendAt       time.Time    `json:"send_at"`
	Text         string       `json:"text,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
	VisibleRange VisibleRange `json:"visible_range"`
	// Group messages: chat_type single (customers) or group (customer
	// groups), the sender, and explicit recipients.
	ChatType        string   `json:"chat_type,omitempty"`
	Sender          string   `json:"sender,omitempty"`
	ExternalUserIDs []string `json:"external_userids,omitempty"`
	ChatIDs         []string `json:"chat_ids,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	// RequestedSendAt is the time asked for when the cap moved the post.
	RequestedSendAt *time.Time `json:"requested_send_at,omitempty"`
	// Late is set when the post went out well after SendAt (the poster
	// was down or held back).
	Late   bool       `json:"late,omitempty"`
	SentAt *time.Time `json:"sent_at,omitempty"`

	JobID    string `json:"jobid,omitempty"`
	MomentID string `json:"moment_id,omitempty"`
	MsgID    string `json:"msgid,omitempty"`
	// Resolved is set when an attempt's answer was lost and the post was
	// found in WeCom's list instead.
	Resolved           bool     `json:"resolved,omitempty"`
	InvalidSenders     []string `json:"invalid_senders,omitempty"`
	InvalidDepartments []int    `json:"invalid_departments,omitempty"`
	InvalidTags        []string `json:"invalid_tags,omitempty"`
	FailList           []string `json:"fail_list,omitempty"`
	ErrCode            int      `json:"errcode,omitempty"`
	ErrMsg             string   `json:"errmsg,omitempty"`

	// Attempts counts the poster's tries; LastError is why the last one
	// did not send (kept after a later success, as history).
	Attempts int `json:"attempts"`
	// LostAttempts counts the tries whose outcome stayed unknown and that
	// WeCom turned out not to have: MaxAttempts bounds these, not the
	// deferrals (media not ready, WeCom busy) that Attempts also counts.
	LostAttempts    int      `json:"lost_attempts,omitempty"`
	LastError       string   `json:"last_error,omitempty"`
	Attempt         *Attempt `json:"attempt,omitempty"`
	CancelRequested bool     `json:"cancel_requested,omitempty"`

	version int64
}

// In returns p with every time in loc: the API shows times in the brand's
// zone (SIYU_TZ), with its offset.
func (p Post) In(loc *time.Location) Post {
	at := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := t.In(loc)
		return &v
	}
	p.SendAt, p.CreatedAt = p.SendAt.In(loc), p.CreatedAt.In(loc)
	p.RequestedSendAt, p.SentAt = at(p.RequestedSendAt), at(p.SentAt)
	if p.Attempt != nil {
		a := *p.Attempt
		a.StartedAt, a.LeaseUntil = a.StartedAt.In(loc), a.LeaseUntil.In(loc)
		p.Attempt = &a
	}
	return p
}

// FieldError is a post the caller must fix; Field names the JSON field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldf(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// CapError is a Moment that would push customers over the daily cap (or a
// group message over the monthly one).
type CapError struct {
	Day       string
	Limit     int
	Colliding []string
}

func (e *CapError) Error() string {
	return fmt.Sprintf("cap of %d reached on %s by overlapping posts %v", e.Limit, e.Day, e.Colliding)
}

// ErrNotFound is a post that does not exist.
var ErrNotFound = errors.New("post not found")

// ConflictError is an operation the post's state does not allow now.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }
