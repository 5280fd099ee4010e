package auth

import (
	"net/http"
	"testing"
	"time"
)

// setMember changes the members directory's entry for email.
func (d *fakeDirectory) setMember(email string, change func(*Member)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.members["email:"+email]
	change(&m)
	d.members["email:"+email] = m
}

// A member the members app sets inactive loses a portal session and the
// API within member_recheck (default a minute) — not at the session's
// next refresh, and not when a long members cache would let go — and a
// changed level arrives within the same time.
func TestTheMembersAppIsRecheckedWithinMemberRecheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recheck time.Duration // zero: the default
		wait    time.Duration
	}{
		{"default", 0, 61 * time.Second},
		{"member_recheck 10s", 10 * time.Second, 11 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := listenTLS(t)
			op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
			dir := demoDirectory()
			cfg := devConfig(op)
			cfg.Directory, cfg.MemberRecheck, cfg.MemberCacheTTL = dir, tc.recheck, 10*time.Minute
			k := startKgate(t, srv, cfg)
			bob, carol := newBrowser(t, k), newBrowser(t, k)
			bob.devLogin(k, op, "u-bob", "/")
			carol.devLogin(k, op, "u-carol", "/")
			bobsToken, err := op.p.MintAccessToken("machine", "u-bob", []string{"kgate-api"}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if p := k.bearer(t, bobsToken); p.Status != 200 {
				t.Fatalf("bob's token: %d %q", p.Status, p.Body)
			}

			dir.setMember("bob@acme.example", func(m *Member) { m.State = MemberInactive })
			dir.setMember("carol@bluebird.example", func(m *Member) { m.Level = "silver" })
			k.clock.advance(tc.wait)
			if p := bob.Get(k.url("/")); p.Status != http.StatusForbidden {
				t.Errorf("bob's session after he was set inactive: %d %q, want 403", p.Status, p.Body)
			}
			if p := bob.Get(k.url("/k/v1/app.json")); p.Status != http.StatusUnauthorized {
				t.Errorf("bob's session should be over: %d %q", p.Status, p.Body)
			}
			if p := k.bearer(t, bobsToken); p.Status != http.StatusForbidden {
				t.Errorf("bob's token after he was set inactive: %d %q, want 403", p.Status, p.Body)
			}
			if p := carol.Get(k.url("/")); p.Body != "hello u-carol silver bluebird session" {
				t.Errorf("carol after her level changed: %d %q", p.Status, p.Body)
			}
		})
	}
}
