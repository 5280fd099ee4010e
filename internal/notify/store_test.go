package notify

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/testenv"
)

// stores opens each kind of digest store with the bounds given; reopen
// gives a second one on the same data, as a restart or another instance
// would.
var stores = []struct {
	name string
	open func(t *testing.T, perMember, total int) (first store, reopen func() store)
}{
	{"directory", func(t *testing.T, perMember, total int) (store, func() store) {
		dir := t.TempDir()
		open := func() store {
			s, err := openDirStore(dir, perMember, total)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return open(), open
	}},
	{"redis", func(t *testing.T, perMember, total int) (store, func() store) {
		rs := testenv.StartRedis(t)
		c := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { c.Close() })
		return newRedisStore(c, perMember, total), func() store { return newRedisStore(c, perMember, total) }
	}},
}

func entry(record, event string) pending {
	return pending{App: "5", Record: record, Event: event, At: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
}

// The bounds hold on what is stored, a restart included: past a member's
// bound or the total one a change is only counted; a further edit of a
// waiting record takes no room; a sent digest frees its room.
func TestTheStoreKeepsItsBounds(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s, reopen := st.open(t, 2, 3)
			add := func(s store, member string, p pending) {
				t.Helper()
				if err := s.add(ctx, member, p); err != nil {
					t.Fatal(err)
				}
			}
			add(s, "alice", entry("1", "added"))
			add(s, "alice", entry("2", "added"))
			add(s, "alice", entry("3", "added")) // past alice's 2
			add(s, "alice", entry("1", "edited"))
			add(s, "bob", entry("1", "added"))
			add(s, "bob", entry("2", "added")) // past the total 3
			s.close()

			s = reopen()
			add(s, "carol", entry("1", "added")) // still past the total
			want := map[string]struct{ items, more int }{"alice": {2, 1}, "bob": {1, 1}, "carol": {0, 1}}
			claimed := map[string]*queue{}
			for member, w := range want {
				q, err := s.claim(ctx, member)
				if err != nil || q == nil || len(q.Items) != w.items || q.More != w.more {
					t.Fatalf("%s: claimed %+v (%v), want %d entries and %d more", member, q, err, w.items, w.more)
				}
				claimed[member] = q
			}
			for _, ev := range claimed["alice"].Items {
				if ev.Record == "1" && ev.Event != "edited" {
					t.Errorf("alice's entry %+v, want record 1 edited", ev)
				}
			}
			if err := s.done(ctx, "alice", claimed["alice"]); err != nil {
				t.Fatal(err)
			}
			add(s, "carol", entry("2", "added")) // alice's room is free
			if err := s.release(ctx, "carol", claimed["carol"]); err != nil {
				t.Fatal(err)
			}
			q, err := s.claim(ctx, "carol")
			if err != nil || q == nil || len(q.Items) != 1 || q.More != 1 {
				t.Fatalf("carol after alice's digest: %+v (%v), want 1 entry and 1 more", q, err)
			}
		})
	}
}

// A member's changes are claimed by one flush at a time, whichever
// notifier asks; a release lets the next one take them, and a done leaves
// nothing, while a change added during the flush stays.
func TestAClaimHoldsAgainstEveryOtherFlush(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			a, reopen := st.open(t, 50, 100)
			b := reopen()
			if err := a.add(ctx, "alice", entry("1", "added")); err != nil {
				t.Fatal(err)
			}
			qa, err := a.claim(ctx, "alice")
			if err != nil || qa == nil {
				t.Fatalf("first claim: %+v, %v", qa, err)
			}
			for _, s := range []store{a, b} {
				if q, err := s.claim(ctx, "alice"); err != nil || q != nil {
					t.Fatalf("a second claim while the first holds got %+v, %v", q, err)
				}
			}
			if err := b.release(ctx, "alice", nil); err != nil {
				t.Fatal(err)
			}
			if q, _ := b.claim(ctx, "alice"); q != nil && st.name == "redis" {
				t.Fatal("another instance's release ended this one's claim")
			}
			if err := a.add(ctx, "alice", entry("1", "edited")); err != nil { // during the flush
				t.Fatal(err)
			}
			if err := a.done(ctx, "alice", qa); err != nil {
				t.Fatal(err)
			}
			q, err := b.claim(ctx, "alice")
			if err != nil || q == nil || len(q.Items) != 1 || q.Items[0].Event != "edited" {
				t.Fatalf("after the digest: %+v, %v; want the edit made during it", q, err)
			}
			if err := b.done(ctx, "alice", q); err != nil {
				t.Fatal(err)
			}
			if m, err := a.members(ctx); err != nil || len(m) != 0 {
				t.Fatalf("members waiting after every digest: %v, %v", m, err)
			}
		})
	}
}
