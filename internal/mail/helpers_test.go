package mail

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/mail/mailcatch"
	"github.com/kgate/kgate/internal/testenv"
)

// catcher starts a mail catcher that the test stops.
func catcher(t *testing.T, opts mailcatch.Options) *mailcatch.Catcher {
	t.Helper()
	c, err := mailcatch.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// smtpTo is the settings that reach c over its TLS mode.
func smtpTo(c *mailcatch.Catcher, tlsMode string) SMTP {
	return SMTP{Addr: c.Addr, TLS: tlsMode, RootCAs: c.Roots, Timeout: 10 * time.Second}
}

// fast retries, so a test sees several tries of a message.
var fast = Backoff{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond}

// store is where an outbox under test queues: a directory or Redis.
type store struct {
	name string
	open func(cfg Config) (*SMTPOutbox, error)
	// restart stops what holds the queue, as a crash of it would, and
	// starts it again; for a directory there is nothing to restart.
	restart func()
}

func stores(t *testing.T) []store {
	dir := t.TempDir()
	return []store{
		{name: "directory", open: func(cfg Config) (*SMTPOutbox, error) { return NewDir(dir, cfg) }, restart: func() {}},
		redisStore(t),
	}
}

func redisStore(t *testing.T) store {
	var r *testenv.Redis
	var client *redis.Client
	return store{name: "Redis",
		open: func(cfg Config) (*SMTPOutbox, error) {
			if r == nil {
				r = testenv.StartRedis(t)
				client = redis.NewClient(&redis.Options{Addr: r.Addr})
				t.Cleanup(func() { client.Close() })
			}
			return NewRedis(client, cfg)
		},
		restart: func() { r.Kill(); r.Start() },
	}
}

// open makes an outbox the test stops.
func open(t *testing.T, s store, cfg Config) *SMTPOutbox {
	t.Helper()
	o, err := s.open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Stop() })
	return o
}

// logs records the outbox's log lines.
func logs() (*zap.Logger, *observer.ObservedLogs) {
	core, seen := observer.New(zapcore.DebugLevel)
	return zap.New(core), seen
}

// drained waits until o holds nothing.
func drained(t *testing.T, o *SMTPOutbox) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := o.Len(context.Background())
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still holds %d messages (%v)", n, err)
		}
	}
}

func note(i int) Message {
	return Message{To: fmt.Sprintf("member%02d@acme.example", i), Lang: "en", Kind: "notification",
		Subject: fmt.Sprintf("Record %d changed", i), Text: fmt.Sprintf("Record %d was edited.\n", i)}
}

// recipients lists who got mail, and fails on a duplicate.
func recipients(t *testing.T, mails []mailcatch.Mail) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	ids := map[string]bool{}
	for _, m := range mails {
		to := strings.Join(m.To, ",")
		id := m.Header.Get("Message-ID")
		if got[to] || ids[id] {
			t.Errorf("%s got %s twice", to, id)
		}
		got[to], ids[id] = true, true
	}
	return got
}

type zapField = zap.Field

func zapInt(key string, v int) zap.Field { return zap.Int(key, v) }
