package posts

import (
	"fmt"
	"time"
)

// Table layout. Nothing here is ever scanned: every read names a partition.
//
//	post#<id>          post                         the post (JSON, versioned)
//	post#<id>          media#<att>#<chunk>          uploaded bytes, ≤ ChunkSize each
//	due#<UTC hour>     <send_at unix>#<id>          scheduled posts by send hour
//	posts#pending      <id>                         posts awaiting a WeCom job or an unknown outcome
//	posts#<YYYY-MM>    <send_at unix>#<id>          month index: listing and caps
//	posts#gate         <YYYY-MM>                    serializes cap decisions of a month
//	posts#poster       cursor                       first due bucket the next tick reads
//	posts#rate         add_moment_task#<minute>     add_moment_task calls in a clock minute
const (
	skPost     = "post"
	pkPending  = "posts#pending"
	pkGate     = "posts#gate"
	pkPoster   = "posts#poster"
	skCursor   = "cursor"
	pkRate     = "posts#rate"
	hourLayout = "2006-01-02T15"
)

// ChunkSize bounds one stored media chunk so an item stays under DynamoDB's
// 400 KB limit with room for keys and attributes.
const ChunkSize = 350 << 10

func pkPost(id string) string { return "post#" + id }

func skChunk(att, chunk int) string { return fmt.Sprintf("media#%02d#%03d", att, chunk) }

func pkDue(t time.Time) string { return "due#" + t.UTC().Format(hourLayout) }

func skTimed(t time.Time, id string) string { return fmt.Sprintf("%011d#%s", t.Unix(), id) }

func pkMonth(t time.Time, loc *time.Location) string { return "posts#" + t.In(loc).Format("2006-01") }

// skUntil is the last sk of a timed partition at or before t.
func skUntil(t time.Time) string { return fmt.Sprintf("%011d#~", t.Unix()) }

func skFrom(t time.Time) string { return fmt.Sprintf("%011d#", t.Unix()) }
