package caddymodule

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// API refusals say, in WWW-Authenticate (RFC 6750), whether a token was
// sent and why it was refused; every 401 and redirect to login is kept
// out of caches. Among the refused tokens is the one the brief of this
// test came from: the ID token a logged-out person's browser was shown in
// kgate's logout redirect.
func TestE2ERefusalsSayWhyAndAreNotCached(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	b := newBrowser(t)
	s.login(b, "u-alice", "/")
	p := b.PostForm(s.base+"/kgate/logout", nil, "Origin", s.base)
	idToken := mustURL(t, p.Location).Query().Get("id_token_hint")
	if idToken == "" {
		t.Fatalf("logout: %d → %q, want the provider's end_session with id_token_hint", p.Status, p.Location)
	}
	expired, err := s.op.dev.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, -2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, authorization, challenge string
	}{
		{"no credentials", "", `Bearer realm="kgate"`},
		{"a logged-out person's ID token", "Bearer " + idToken, `Bearer realm="kgate", error="invalid_token", error_description="token is for another audience"`},
		{"an expired access token", "Bearer " + expired, `Bearer realm="kgate", error="invalid_token", error_description="token expired"`},
		{"not a JWT", "Bearer abc", `Bearer realm="kgate", error="invalid_token", error_description="signature, issuer or format not accepted"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.authorization != "" {
				hdr = []string{"Authorization", tc.authorization}
			}
			p := newBrowser(t).Get(s.base+"/k/v1/records.json?app=2", hdr...)
			if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" {
				t.Fatalf("%d %s, want 401 CB_AU01", p.Status, p.Body)
			}
			if got := p.Header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if got := p.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q on a 401, want no-store", got)
			}
		})
	}
	t.Run("a page without a session", func(t *testing.T) {
		p := newBrowser(t).Get(s.base + "/apps/budget")
		if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") || p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d → %q with Cache-Control %q, want 302 to login, no-store", p.Status, p.Location, p.Header.Get("Cache-Control"))
		}
		p = newBrowser(t).Get(s.base + p.Location)
		if u := mustURL(t, p.Location); p.Status != http.StatusFound || u.Host != mustURL(t, s.op.issuer).Host || p.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("login: %d → %q with Cache-Control %q, want 302 to the provider, no-store", p.Status, p.Location, p.Header.Get("Cache-Control"))
		}
	})
}

// The operator sets bob inactive in kintone's members app: his session
// (whose refresh is a quarter of an hour away) and his bearer token stop
// working within member_recheck.
func TestE2EAMemberSetInactiveIsRefusedWithinMemberRecheck(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{members: "member_recheck 1s"})
	b := newBrowser(t)
	s.login(b, "u-bob", "/")
	token := s.op.token(t, "machine", "machine-secret", "openid user:u-bob")
	s.checkBudget(s.budget(b), "acme", true)
	s.checkBudget(s.budget(newBrowser(t), "Authorization", "Bearer "+token), "acme", true)

	if _, err := s.sim.EditRecord(1, s.memberRow("bob@acme.example"), "", map[string]any{"state": map[string]any{"value": "inactive"}}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		b   *browser
		hdr []string
	}{"session": {b, []string{"X-Requested-With", "XMLHttpRequest"}}, "bearer token": {newBrowser(t), []string{"Authorization", "Bearer " + token}}} {
		var p page
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if p = c.b.Get(s.base+"/k/v1/records.json?app=2", c.hdr...); p.Status != 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: bob is still served after being set inactive", name)
			}
		}
		if e := kintoneError(t, p); p.Status != http.StatusForbidden || e.Code != "CB_NO02" {
			t.Fatalf("%s: %d %s, want 403 CB_NO02", name, p.Status, p.Body)
		}
	}
	if p := b.Get(s.base + "/k/v1/records.json?app=2"); p.Status != http.StatusUnauthorized {
		t.Fatalf("the refused member's session lives on: %d %s", p.Status, p.Body)
	}
}

// The member logs out at the demo provider, which delivers a logout token
// to kgate's back-channel logout URI: the session ends, and the next page
// leads to login.
func TestE2EALogoutAtTheProviderEndsTheSession(t *testing.T) {
	withBackchannel := func(t *testing.T, site string) *provider {
		return startDevIDPWith(t, site, site+"/kgate/backchannel-logout")
	}
	s := startE2E(t, withBackchannel, e2eOptions{oidc: "backchannel_logout"})
	b := newBrowser(t)
	s.login(b, "u-alice", "/")
	s.checkBudget(s.budget(b), "acme", false)
	if err := s.op.dev.Logout(t.Context(), "u-alice"); err != nil {
		t.Fatalf("the provider's back-channel logout: %v", err)
	}
	p := b.Get(s.base + "/apps/budget")
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") {
		t.Fatalf("after the logout at the provider: %d → %q, want 302 to login", p.Status, p.Location)
	}
}
