package mail

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/testenv"
)

// A message claimed by an instance that then died is handed out again once
// its lease runs out, and not before.
func TestAnExpiredLeaseIsClaimedAgain(t *testing.T) {
	r := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	q := newRedisQueue(c, RedisPrefix, time.Minute)
	ctx := context.Background()
	now := time.Now()
	if err := q.push(ctx, &envelope{ID: "a", To: "a@x.example", Due: now}, 10); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		at   time.Duration
		want string
	}{{0, "a"}, {time.Second, ""}, {59 * time.Second, ""}, {61 * time.Second, "a"}, {62 * time.Second, ""}} {
		e, err := q.claim(ctx, now.Add(step.at))
		if err != nil {
			t.Fatal(err)
		}
		if got := idOf(e); got != step.want {
			t.Fatalf("claim at +%s: %q, want %q", step.at, got, step.want)
		}
	}
	if n, _ := q.size(ctx); n != 1 {
		t.Fatalf("size %d, want 1", n)
	}
}

func idOf(e *envelope) string {
	if e == nil {
		return ""
	}
	return e.ID
}

// What a crash leaves in a queue directory: a half-written file in tmp
// (its Enqueue never returned) is dropped, a damaged queued file is set
// aside in failed, whole ones are queued.
func TestADirectoryQueueRecoversWhatACrashLeft(t *testing.T) {
	dir := t.TempDir()
	q, err := openDirQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.push(ctx, &envelope{ID: "good", To: "a@x.example", Due: time.Now()}, 10); err != nil {
		t.Fatal(err)
	}
	q.close()
	os.WriteFile(filepath.Join(dir, "tmp", "half-123"), []byte(`{"id":"ha`), 0o600)
	os.WriteFile(filepath.Join(dir, "queue", "bad.json"), []byte(`{"id":"ba`), 0o600)

	q, err = openDirQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	if n, _ := q.size(ctx); n != 1 {
		t.Fatalf("size %d, want 1", n)
	}
	if e, _ := q.claim(ctx, time.Now()); idOf(e) != "good" {
		t.Fatalf("claimed %q", idOf(e))
	}
	for path, want := range map[string]bool{"tmp/half-123": false, "queue/bad.json": false, "failed/bad.json": true} {
		if _, err := os.Stat(filepath.Join(dir, path)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", path, err == nil, want)
		}
	}
}
