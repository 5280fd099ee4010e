package notify_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/notify"
	"github.com/kgate/kgate/internal/testenv"
)

// digestStores are the two places the changes waiting for digests are
// kept: the instance's directory, and the Redis instances share. Each
// gives a tweak making a notifier use it, and a restart of what holds it
// (nothing for a directory; the redis-server killed and started again).
var digestStores = []struct {
	name string
	open func(t *testing.T) (tweak func(*notify.Config), restart func())
}{
	{"directory", func(t *testing.T) (func(*notify.Config), func()) {
		dir := t.TempDir()
		return func(c *notify.Config) { c.DigestDir = dir }, func() {}
	}},
	{"redis", func(t *testing.T) (func(*notify.Config), func()) {
		rs := testenv.StartRedis(t)
		c := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { c.Close() })
		return func(cfg *notify.Config) { cfg.Redis = c }, func() { rs.Kill(); rs.Start() }
	}},
}

// The changes waiting for a digest are stored before the webhook is
// answered: a notifier stopped before its digest leaves them to the next
// one, which mails them once, and then never again.
func TestWaitingDigestsSurviveARestart(t *testing.T) {
	for _, st := range digestStores {
		t.Run(st.name, func(t *testing.T) {
			w := newWorld(t, orgPolicy, 20, func(ppl []member) []member {
				ppl[0].digest = true // alice
				return ppl
			})
			tweak, restart := st.open(t)
			w.n = w.notifier(tweak)
			w.post(secret, hook("UPDATE_RECORD", "1"))
			w.post(secret, hook("ADD_RECORD", "3"))
			w.box.take() // bob's own mails
			w.n.Close()
			restart()

			next := w.notifier(tweak)
			if err := next.FlushDigests(context.Background()); err != nil {
				t.Fatal(err)
			}
			checkMails(t, w.box.take(), map[string]mailWant{
				"alice@acme.example": {lang: "en", has: []string{"[Partner Portal] 2 changes", "Acme printer order", "Acme second order"},
					not: []string{hiddenNote}},
			})
			for _, n := range []*notify.Notifier{next, w.notifier(tweak)} {
				if err := n.FlushDigests(context.Background()); err != nil {
					t.Fatal(err)
				}
				if msgs := w.box.take(); len(msgs) != 0 {
					t.Fatalf("a sent digest was sent again: %v", recipients(msgs))
				}
			}
		})
	}
}

// Two notifiers on one store (instances on one Redis; a reload's old and
// new notifier on one directory) flushing at once send a member's digest
// once.
func TestTwoNotifiersOnOneStoreSendOneDigest(t *testing.T) {
	for _, st := range digestStores {
		t.Run(st.name, func(t *testing.T) {
			w := newWorld(t, orgPolicy, 20, func(ppl []member) []member {
				ppl[0].digest = true
				ppl[1].digest = true // bob
				return ppl
			})
			tweak, _ := st.open(t)
			a, b := w.notifier(tweak), w.notifier(tweak)
			w.n = a
			w.post(secret, hook("UPDATE_RECORD", "1"))
			w.n = b
			w.post(secret, hook("UPDATE_RECORD", "3"))
			w.box.take()
			var wg sync.WaitGroup
			for _, n := range []*notify.Notifier{a, b, a, b} {
				wg.Go(func() {
					if err := n.FlushDigests(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			msgs := w.box.take()
			checkMails(t, msgs, map[string]mailWant{
				"alice@acme.example": {lang: "en", has: []string{"2 changes", "Acme printer order", "Acme second order"}},
				"bob@acme.example":   {lang: "ja", has: []string{"Acme printer order", "Acme second order"}},
			})
			for _, m := range msgs {
				if n := strings.Count(m.Text, "/apps/tickets/records/1\n"); n != 1 {
					t.Errorf("%s's digest links record 1 %d times:\n%s", m.To, n, m.Text)
				}
			}
		})
	}
}
