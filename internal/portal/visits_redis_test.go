package portal

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/testenv"
)

// Instances sharing their sessions in Redis share members' visits: a visit
// on one instance is the last visit another counts what is new from.
func TestVisitsAreSharedThroughTheRedisSessionStore(t *testing.T) {
	rs := testenv.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { client.Close() })
	store := auth.NewRedisStore(client, "kgate:session:")
	shared := func(c *Config) { c.Visits = store }
	a, b := newWorld(t, shared), newWorld(t, shared)
	who := demoMember("alice")

	a.h.now = func() time.Time { return demoNow }
	if r := a.get(t, who, "/", "Accept-Language", "en"); !strings.Contains(r.body, "from your next visit") {
		t.Fatal("the first visit, on A, is not shown as the first")
	}
	later := demoNow.Add(2 * time.Hour)
	b.h.now = func() time.Time { return later }
	r := b.get(t, who, "/", "Accept-Language", "en")
	if strings.Contains(r.body, "from your next visit") {
		t.Error("B treats alice's second visit as her first")
	}
	if _, fresh, _ := cardCounts(t, r.body, "budget"); fresh == "-" {
		t.Error("B shows no new count after a visit on A")
	}
	raw, err := store.Get(context.Background(), visitKey(who.Issuer, who.Subject))
	if err != nil {
		t.Fatal(err)
	}
	var v visits
	if err := json.Unmarshal(raw, &v); err != nil || !v.Prev.Equal(demoNow) || !v.Last.Equal(later) {
		t.Errorf("Redis holds %s (%v), want prev %v and last %v", raw, err, demoNow, later)
	}
}
