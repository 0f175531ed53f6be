package wecomsim

import (
	"encoding/binary"
	"hash/fnv"
	"slices"
	"testing"
	"time"

	"github.com/siyuhq/siyu/shared/wecom"
)

func customersOf(xs []wecom.MomentInteraction) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.ExternalUserID)
	}
	return out
}

// fnvChance is the simulator's draw spelled with hash/fnv: FNV-1a 64 over
// the seed's eight little-endian bytes, then each part and a zero byte.
func fnvChance(seed int64, n uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64() % n
}

// The allocation-free draws are FNV-1a over the same bytes, and a draw
// continued part by part equals one drawn from all the parts at once: a
// seed plays the same brand whichever way the simulator draws it.
func TestDrawsAreFNVOfTheSeedAndParts(t *testing.T) {
	for _, seed := range []int64{0, 1, -7, 20261201} {
		s := &Sim{opts: Options{Seed: seed}}
		for _, parts := range [][]string{{}, {""}, {"simmom0000000003", "zhangsan", "wmAbC", "reach"}, {"朋友圈", "", "like-at"}} {
			for _, n := range []uint64{1, 100, 1440, 1 << 40} {
				if got, want := s.chance(n, parts...), fnvChance(seed, n, parts...); got != want {
					t.Fatalf("seed %d, parts %q, n %d: chance %d, FNV %d", seed, parts, n, got, want)
				}
			}
			if len(parts) > 1 {
				if got, want := s.draw(parts[0]).with(parts[1]).in(1000), s.chance(1000, parts[:2]...); got != want {
					t.Fatalf("seed %d, parts %q: continued draw %d, at once %d", seed, parts[:2], got, want)
				}
			}
		}
	}
	if (&Sim{}).chance(0, "x") != 0 {
		t.Fatal("a draw in [0, 0) is not 0")
	}
}

// Who saw a member's copy, and who liked or commented, is what drawing
// each customer's parts one by one says (the single pass over the audience
// draws the same numbers).
func TestSightingsDrawEachCustomerOnce(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := now
	s := New(Options{Seed: 11, Now: func() time.Time { return clock }})
	t.Cleanup(s.Close)
	s.SetCallbackURL("")
	s.Seed(SeedConfig{Customers: 400, Members: 2, Until: now})
	s.SetEngagement(Engagement{PublishPercent: 100, PublishWithin: time.Hour, ReachWithin: 24 * time.Hour, LikePercent: 30, CommentPercent: 20, ReactWithin: 3 * time.Hour})
	s.mu.Lock()
	member := s.st.memberOrder[0]
	m := &SimMoment{MomentID: "simmom1", CreateTime: now, Senders: []string{member}}
	s.posting().moments = append(s.posting().moments, m)
	s.mu.Unlock()
	clock = now.Add(13 * time.Hour) // some have seen it, some not yet
	s.mu.Lock()
	defer s.mu.Unlock()
	pub, ok := s.momentPublish(m.MomentID, member)
	if !ok {
		t.Fatal("the member has not published")
	}
	var reached, likes, comments []string
	for _, r := range s.st.twoWayOf(member) {
		c := r.ExternalUserID
		seen := pub.Add(time.Duration(s.chance(24*60, m.MomentID, member, c, "reach")) * time.Minute)
		if clock.Before(seen) {
			continue
		}
		reached = append(reached, c)
		if s.chance(100, m.MomentID, member, c, "like") < 30 && !clock.Before(seen.Add(time.Duration(s.chance(180, m.MomentID, member, c, "like-at"))*time.Minute)) {
			likes = append(likes, c)
		}
		if s.chance(100, m.MomentID, member, c, "comment") < 20 && !clock.Before(seen.Add(time.Duration(s.chance(180, m.MomentID, member, c, "comment-at"))*time.Minute)) {
			comments = append(comments, c)
		}
	}
	if n := len(s.st.twoWayOf(member)); len(reached) == 0 || len(reached) == n || len(likes) == 0 || len(comments) == 0 {
		t.Fatalf("a weak case: %d of %d reached, %d likes, %d comments", len(reached), n, len(likes), len(comments))
	}
	gotLikes, gotComments := s.reactions(m.MomentID, member)
	// The sightings kept for the next call at this instant do not outlive
	// a change: a customer who leaves, a new customer, another engagement.
	defer func() {
		if _, err := s.customerDeletesMember(member, reached[0], clock); err != nil {
			t.Fatal(err)
		}
		if got := s.reached(m.MomentID, member); !slices.Equal(got, reached[1:]) {
			t.Fatalf("after %s left, %d reached, want %d", reached[0], len(got), len(reached)-1)
		}
		s.engagement().cfg.ReachWithin = time.Hour
		if got := s.reached(m.MomentID, member); len(got) != len(s.st.twoWayOf(member)) {
			t.Fatalf("with every customer seeing it within an hour, %d of %d reached", len(got), len(s.st.twoWayOf(member)))
		}
		m.Canceled = true
		if got := s.reached(m.MomentID, member); len(got) != 0 {
			t.Fatalf("a canceled Moment reached %d", len(got))
		}
	}()
	if got := s.reached(m.MomentID, member); !slices.Equal(got, reached) {
		t.Fatalf("reached %d customers, drawn one by one %d", len(got), len(reached))
	}
	if !slices.Equal(customersOf(gotLikes), likes) || !slices.Equal(customersOf(gotComments), comments) {
		t.Fatalf("%d likes and %d comments, drawn one by one %d and %d", len(gotLikes), len(gotComments), len(likes), len(comments))
	}
}
