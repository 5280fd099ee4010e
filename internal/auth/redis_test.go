package auth

import (
	"net/http"
	"testing"
	"time"
)

// Two kgate instances sharing one Redis accept each other's sessions, see
// each other's logouts, and a refresh on one is adopted by the other.
func TestTwoInstancesShareSessionsThroughRedis(t *testing.T) {
	rc := startRedis(t)
	srvA, srvB := listenTLS(t), listenTLS(t)
	op := startDevIDP(t, serverURL(srvA)+"/kgate/callback", serverURL(srvB)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Store = NewRedisStore(rc, "kgate-e2e:")
	cfg.RefreshInterval = 2 * time.Minute
	a := startKgate(t, srvA, cfg)
	cfg.BaseURL = ""
	b := startKgate(t, srvB, cfg)

	// The jar keys cookies by host, not port: one browser, two instances.
	br := newBrowser(t, a)
	if p := br.devLogin(a, op, "u-carol", "/"); p.Body != "hello u-carol gold bluebird session" {
		t.Fatalf("login on A: %q", p.Body)
	}
	if p := br.Get(b.url("/")); p.Body != "hello u-carol gold bluebird session" {
		t.Fatalf("A's session on B: %d %q", p.Status, p.Body)
	}

	// B refreshes; A adopts B's refresh instead of spending the rotated token again.
	a.clock.advance(3 * time.Minute)
	b.clock.advance(3 * time.Minute)
	if p := br.Get(b.url("/")); p.Status != 200 {
		t.Fatalf("refresh on B: %d %q", p.Status, p.Body)
	}
	if p := br.Get(a.url("/")); p.Status != 200 {
		t.Fatalf("A after B's refresh: %d %q", p.Status, p.Body)
	}
	if n := op.refreshs.Load(); n != 1 {
		t.Fatalf("%d refreshes at the provider, want 1", n)
	}

	old := br.cookie(a, SessionCookie)
	if p := br.postForm(b.url("/kgate/logout"), nil, map[string]string{"Origin": b.srv.URL}); p.Status != http.StatusSeeOther {
		t.Fatalf("logout on B: %d", p.Status)
	}
	br.setCookie(a, SessionCookie, old)
	if p := br.Get(a.url("/k/v1/records.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("A after logout on B: %d %q", p.Status, p.Body)
	}
}
