package auth

import (
	"net/http"
	"strings"
	"testing"
)

// loginWith logs in at k through the fake provider, whose ID token gets
// change, and returns the callback's answer.
func loginWith(t *testing.T, k *kgate, op *fakeOP, change func(map[string]any)) page {
	t.Helper()
	op.mu.Lock()
	op.idToken = mutate(change)
	op.mu.Unlock()
	b := newBrowser(t, k)
	return b.Get(b.fakeLoginToCallback(k))
}

// An e-mail address identifies a member only when the provider says it
// verified it, unless the operator explicitly trusts unverified ones.
func TestAnEmailCountsOnlyWhenVerified(t *testing.T) {
	for _, group := range []struct {
		name  string
		trust bool
		cases map[any]bool // email_verified (nil: absent) → accepted
	}{
		{"verification required", false, map[any]bool{true: true, "true": true, nil: false, false: false, "false": false, "yes": false, 1: false}},
		{"trust_unverified_email", true, map[any]bool{true: true, nil: true, false: true}},
	} {
		t.Run(group.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.Directory, cfg.BearerAudiences, cfg.TrustUnverifiedEmail = demoDirectory(), []string{"kgate-api"}, group.trust
			k := startKgate(t, listenTLS(t), cfg)
			for verified, ok := range group.cases {
				change := set("email_verified", verified)
				p := loginWith(t, k, op, change)
				if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusForbidden}[ok]; p.Status != want ||
					(!ok && !strings.Contains(p.Body, ReasonEmailUnusable)) {
					t.Errorf("login with email_verified %v: %d %q, want %d", verified, p.Status, p.Body, want)
				}
				p = k.bearer(t, op.accessToken(nil, change))
				if ok != (p.Status == 200 && p.Body == "hello user-1 gold acme bearer") || (!ok && p.Status != http.StatusForbidden) {
					t.Errorf("bearer token with email_verified %v: %d %q, want accepted=%v", verified, p.Status, p.Body, ok)
				}
			}
		})
	}
}

// conflicts returns the identity_conflict audit events so far.
func (k *kgate) conflicts() []map[string]any {
	var out []map[string]any
	for _, e := range k.audits.FilterMessage("identity_conflict").All() {
		out = append(out, e.ContextMap())
	}
	return out
}

// Once an account of the provider has used an e-mail address, another
// account with the same address is refused — on this instance, on another
// sharing the session store (in memory or Redis), at login and with a
// bearer token — and the refusal is audited.
func TestAnEmailStaysWithTheAccountThatFirstUsedIt(t *testing.T) {
	other := set("sub", "user-2")
	type firstUse struct {
		name  string
		first func(t *testing.T, k *kgate, op *fakeOP) int
	}
	var cases []firstUse
	for _, store := range []string{"memory", "redis"} {
		cases = append(cases,
			firstUse{store + ": first seen at login", func(t *testing.T, k *kgate, op *fakeOP) int { return loginWith(t, k, op, set()).Status }},
			firstUse{store + ": first seen on a bearer token", func(t *testing.T, k *kgate, op *fakeOP) int {
				return k.bearer(t, op.accessToken(nil, nil)).Status
			}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.Directory, cfg.BearerAudiences, cfg.Store = demoDirectory(), []string{"kgate-api"}, NewMemoryStore()
			if strings.HasPrefix(tc.name, "redis") {
				cfg.Store = NewRedisStore(startRedis(t), "kgate-binding:")
			}
			a := startKgate(t, listenTLS(t), cfg)
			cfg.BaseURL = ""
			b := startKgate(t, listenTLS(t), cfg) // a second instance sharing the store
			if status := tc.first(t, a, op); status != http.StatusSeeOther && status != 200 {
				t.Fatalf("user-1's first use of alice's address: %d", status)
			}
			for _, k := range []*kgate{a, b} {
				p := loginWith(t, k, op, other)
				if p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonEmailTaken) {
					t.Errorf("user-2 logging in with alice's address: %d %q, want 403 %q", p.Status, p.Body, ReasonEmailTaken)
				}
				if p := k.bearer(t, op.accessToken(nil, other)); p.Status != http.StatusUnauthorized {
					t.Errorf("user-2's bearer token with alice's address: %d %q, want 401", p.Status, p.Body)
				}
				if p := k.bearer(t, op.accessToken(nil, nil)); p.Status != 200 {
					t.Errorf("user-1 after the conflict: %d %q", p.Status, p.Body)
				}
			}
			for _, k := range []*kgate{a, b} {
				ev := k.conflicts()
				if len(ev) != 2 || ev[0]["subject"] != "user-2" || ev[0]["email"] != "alice@acme.example" || ev[0]["outcome"] != "denied" {
					t.Errorf("identity_conflict events: %v", ev)
				}
			}
		})
	}
}

// A subject recorded in the members app binds the member's address to it
// from the first login on.
func TestTheMembersAppsSubjectBindsTheAddress(t *testing.T) {
	op := startFakeOP(t)
	dir := demoDirectory()
	m := dir.members["email:alice@acme.example"]
	m.Subject = "user-9"
	dir.members["email:alice@acme.example"] = m
	cfg := fakeConfig(op)
	cfg.Directory, cfg.BearerAudiences = dir, []string{"kgate-api"}
	k := startKgate(t, listenTLS(t), cfg)
	if p := loginWith(t, k, op, set()); p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonEmailTaken) {
		t.Fatalf("user-1 with the address the members app gives user-9: %d %q", p.Status, p.Body)
	}
	if p := k.bearer(t, op.accessToken(nil, set("sub", "user-9"))); p.Status != 200 {
		t.Fatalf("user-9: %d %q", p.Status, p.Body)
	}
}

// A binding sealed under a session key that has since been removed names
// nobody kgate can read: the address is bound afresh rather than locking
// its owner out.
func TestABindingUnderARemovedKeyIsBoundAfresh(t *testing.T) {
	op := startFakeOP(t)
	cfg := fakeConfig(op)
	cfg.BearerAudiences, cfg.Store = []string{"kgate-api"}, NewMemoryStore()
	old := startKgate(t, listenTLS(t), cfg)
	if p := old.bearer(t, op.accessToken(nil, nil)); p.Status != 200 {
		t.Fatalf("user-1: %d %q", p.Status, p.Body)
	}
	cfg.BaseURL, cfg.SessionKeys = "", [][]byte{[]byte("a brand new key of 32 bytes.....")}
	rotated := startKgate(t, listenTLS(t), cfg)
	if p := rotated.bearer(t, op.accessToken(nil, set("sub", "user-2"))); p.Status != 200 {
		t.Fatalf("user-2 after the key that sealed user-1's binding was removed: %d %q", p.Status, p.Body)
	}
	if p := rotated.bearer(t, op.accessToken(nil, nil)); p.Status != http.StatusUnauthorized {
		t.Fatalf("user-1 once user-2 holds the address: %d %q", p.Status, p.Body)
	}
}
