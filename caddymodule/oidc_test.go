package caddymodule

import (
	"context"
	"errors"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
)

// Each config reload provisions a new handler; the old one's Redis
// connection pool must go with it.
func TestCleanupClosesTheRedisSessionStoresClient(t *testing.T) {
	h := &Handler{OIDC: &OIDC{SessionStore: "redis://127.0.0.1:1/0"}}
	if _, err := h.sessionStore(caddy.NewReplacer()); err != nil {
		t.Fatal(err)
	}
	client := h.redis
	if client == nil {
		t.Fatal("the handler keeps no Redis client")
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("after Cleanup the client answers %v, want redis.ErrClosed", err)
	}
}
