package wecomsim

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The index of two-way relationships a Moment's audience walks stays equal
// to the member's relationships without the one-way ones, through
// deletions by customers, re-adds and deletions by members.
func TestTheTwoWayIndexFollowsEveryChange(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := New(Options{Seed: 5, Now: func() time.Time { return now }})
	t.Cleanup(s.Close)
	s.SetCallbackURL("")
	s.Seed(SeedConfig{Customers: 120, Members: 4, Until: now})
	check := func(when string) {
		t.Helper()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range s.st.memberOrder {
			want := slices.DeleteFunc(slices.Clone(s.st.relsOf(m)), func(r *Relationship) bool { return r.OneWay })
			if got := s.st.twoWayOf(m); !slices.Equal(got, want) {
				t.Fatalf("%s: member %s has %d two-way relationships indexed, want %d", when, m, len(got), len(want))
			}
		}
	}
	check("after seeding")
	ctx := context.Background()
	var live []*Relationship
	for _, r := range s.Relationships() {
		if !r.OneWay {
			live = append(live, &r)
		}
	}
	a, b := live[0], live[1]
	if _, err := s.CustomerDeletesMember(ctx, a.UserID, a.ExternalUserID, now); err != nil {
		t.Fatal(err)
	}
	check("after a customer deleted a member")
	if _, err := s.AddCustomer(ctx, a.UserID, a.ExternalUserID, "", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("after the customer added the member back")
	if _, err := s.MemberDeletesCustomer(ctx, b.UserID, b.ExternalUserID, false, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("after a member deleted a customer")
}
