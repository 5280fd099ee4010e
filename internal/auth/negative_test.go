package auth

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// assertNoSession checks that the browser holds no session and that the
// store holds no session record.
func assertNoSession(t *testing.T, k *kgate, b *browser) {
	t.Helper()
	if v := b.cookie(k, SessionCookie); v != "" {
		t.Fatalf("a session cookie was set")
	}
	if p := b.Get(k.url("/k/v1/records.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("identified without a session: %d %q", p.Status, p.Body)
	}
	ms := k.a.store.(*MemoryStore)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for key := range ms.m {
		if len(key) > 8 && key[:8] == "session/" {
			t.Fatalf("a session record was stored: %s", key)
		}
	}
}

func TestFakeProviderHappyPath(t *testing.T) {
	op := startFakeOP(t)
	cfg := fakeConfig(op)
	cfg.UserInfo = true
	k := startKgate(t, listenTLS(t), cfg)
	b := newBrowser(t, k)
	p := b.Chase(b.Get(b.fakeLoginToCallback(k)), nil)
	if p.Status != 200 || p.Body != "hello user-1 silver  session" {
		t.Fatalf("good token refused: %d %q", p.Status, p.Body)
	}
}

// Each bad ID token is refused at the callback and leaves no session.
func TestBadIDTokensAreRejected(t *testing.T) {
	other := newForger(t)
	other.key = forgerKeys[1] // not published by the provider
	now := time.Now()
	for _, tc := range []struct {
		name string
		make func(op *fakeOP, nonce string) string
	}{
		{"wrong iss", mutate(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"wrong aud", mutate(func(c map[string]any) { c["aud"] = "another-client" })},
		{"bad signature", func(op *fakeOP, nonce string) string {
			return signWith(testingTB{}, other.key, "RS256", op.f.kid, op.claims(nonce))
		}},
		{"alg none", func(op *fakeOP, nonce string) string {
			return op.f.sign(testingTB{}, "none", op.f.kid, op.claims(nonce))
		}},
		{"HS256 keyed with the public key", func(op *fakeOP, nonce string) string {
			return op.f.sign(testingTB{}, "HS256", op.f.kid, op.claims(nonce))
		}},
		{"expired beyond the clock skew", mutate(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })},
		{"nbf in the future", mutate(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })},
		{"missing sub", mutate(func(c map[string]any) { delete(c, "sub") })},
		{"missing iat", mutate(func(c map[string]any) { delete(c, "iat") })},
		{"iat in the future", mutate(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })},
		{"stale iat", mutate(func(c map[string]any) { c["iat"] = now.Add(-time.Hour).Unix() })},
		{"nonce mismatch", mutate(func(c map[string]any) { c["nonce"] = "someone-elses-nonce" })},
		{"missing nonce", mutate(func(c map[string]any) { delete(c, "nonce") })},
		{"at_hash mismatch", mutate(func(c map[string]any) { c["at_hash"] = atHash("another-token") })},
		{"several audiences without azp", mutate(func(c map[string]any) { c["aud"] = []string{"kgate", "other"} })},
		{"azp names another client", mutate(func(c map[string]any) { c["azp"] = "other" })},
		{"an access token (typ at+jwt)", func(op *fakeOP, nonce string) string {
			return signHeader(testingTB{}, op.f.key, map[string]any{"alg": "RS256", "kid": op.f.kid, "typ": "at+jwt"}, op.claims(nonce))
		}},
		{"unknown kid", func(op *fakeOP, nonce string) string {
			return op.f.sign(testingTB{}, "RS256", "no-such-key", op.claims(nonce))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := startFakeOP(t)
			op.idToken = tc.make
			k := startKgate(t, listenTLS(t), fakeConfig(op))
			b := newBrowser(t, k)
			p := b.Get(b.fakeLoginToCallback(k))
			if p.Status != http.StatusUnauthorized {
				t.Fatalf("callback answered %d %q, want 401", p.Status, p.Body)
			}
			assertNoSession(t, k, b)
			if kinds := k.auditKinds(); len(kinds) != 1 || kinds[0] != "login_failure" {
				t.Fatalf("audit: %v", kinds)
			}
		})
	}
}

// mutate makes an otherwise good, correctly signed ID token with one change.
func mutate(change func(map[string]any)) func(op *fakeOP, nonce string) string {
	return func(op *fakeOP, nonce string) string {
		c := op.claims(nonce)
		change(c)
		return op.f.sign(testingTB{}, "RS256", op.f.kid, c)
	}
}

func TestUserinfoAboutAnotherSubjectIsRejected(t *testing.T) {
	op := startFakeOP(t)
	op.userinfoSub = "someone-else"
	cfg := fakeConfig(op)
	cfg.UserInfo = true
	k := startKgate(t, listenTLS(t), cfg)
	b := newBrowser(t, k)
	if p := b.Get(b.fakeLoginToCallback(k)); p.Status != http.StatusUnauthorized {
		t.Fatalf("callback: %d %q", p.Status, p.Body)
	}
	assertNoSession(t, k, b)
}

func TestReplayedStateIsRejected(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	b := newBrowser(t, k)
	callback := b.fakeLoginToCallback(k)
	loginCookie := b.cookie(k, LoginCookie)
	if p := b.Get(callback); p.Status != http.StatusSeeOther {
		t.Fatalf("first callback: %d %q", p.Status, p.Body)
	}

	// The same callback from a browser that kept the login cookie as it was.
	b2 := newBrowser(t, k)
	b2.setCookie(k, LoginCookie, loginCookie)
	if p := b2.Get(callback); p.Status != http.StatusBadRequest {
		t.Fatalf("replayed state: %d %q", p.Status, p.Body)
	}
	assertNoSessionCookie(t, k, b2)

	// And from the browser that used it: the state is gone from its cookie.
	b.Jar.SetCookies(mustParse(k.srv.URL), []*http.Cookie{{Name: SessionCookie, MaxAge: -1, Path: "/"}})
	if p := b.Get(callback); p.Status != http.StatusBadRequest {
		t.Fatalf("callback visited twice: %d", p.Status)
	}
}

func assertNoSessionCookie(t *testing.T, k *kgate, b *browser) {
	t.Helper()
	if b.cookie(k, SessionCookie) != "" {
		t.Fatal("a session cookie was set")
	}
}

func TestCallbackFromAnotherBrowserIsRejected(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	victim := newBrowser(t, k)
	callback := newBrowser(t, k).fakeLoginToCallback(k) // the attacker's login
	if p := victim.Get(callback); p.Status != http.StatusBadRequest {
		t.Fatalf("callback without the login cookie: %d", p.Status)
	}
	assertNoSession(t, k, victim)
}

func TestPKCEVerifierMismatchIsRejected(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	b := newBrowser(t, k)
	first := mustParse(b.fakeLoginToCallback(k))
	second := mustParse(b.fakeLoginToCallback(k))
	// The code of the first login under the state of the second: kgate
	// sends the second login's verifier, which does not fit the code.
	q := url.Values{"code": {first.Query().Get("code")}, "state": {second.Query().Get("state")}}
	second.RawQuery = q.Encode()
	if p := b.Get(second.String()); p.Status != http.StatusUnauthorized {
		t.Fatalf("mismatched verifier: %d %q", p.Status, p.Body)
	}
	assertNoSession(t, k, b)
}

func TestTamperedLoginCookieIsRejected(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	b := newBrowser(t, k)
	callback := b.fakeLoginToCallback(k)
	v := []byte(b.cookie(k, LoginCookie))
	v[len(v)/2] ^= 1
	b.setCookie(k, LoginCookie, string(v))
	if p := b.Get(callback); p.Status != http.StatusBadRequest {
		t.Fatalf("tampered login cookie: %d", p.Status)
	}
	assertNoSession(t, k, b)
}

func TestProviderErrorAtCallbackIsRejected(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	b := newBrowser(t, k)
	cb := mustParse(b.fakeLoginToCallback(k))
	cb.RawQuery = url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied<script>"}}.Encode()
	p := b.Get(cb.String())
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("error callback: %d", p.Status)
	}
	assertNoSession(t, k, b)
}

func TestTokenEndpointAuthStyleIsNeverGuessed(t *testing.T) {
	for _, tc := range []struct {
		style  string
		status int
	}{{"basic", http.StatusSeeOther}, {"post", http.StatusUnauthorized}} {
		t.Run(tc.style, func(t *testing.T) {
			op := startFakeOP(t) // accepts client_secret_basic only
			cfg := fakeConfig(op)
			cfg.ClientAuth = tc.style
			k := startKgate(t, listenTLS(t), cfg)
			b := newBrowser(t, k)
			if p := b.Get(b.fakeLoginToCallback(k)); p.Status != tc.status {
				t.Fatalf("callback: %d %q", p.Status, p.Body)
			}
			if op.calls() != 1 {
				t.Fatalf("%d calls at the token endpoint, want 1 (no retry with the other style)", op.calls())
			}
		})
	}
}

func TestRefreshedIDTokenMustKeepIssuerAndSubject(t *testing.T) {
	for name, mk := range map[string]func(op *fakeOP) string{
		"good":          nil,
		"other subject": func(op *fakeOP) string { return mutate(func(c map[string]any) { c["sub"] = "user-2" })(op, "") },
		"other issuer": func(op *fakeOP) string {
			return mutate(func(c map[string]any) { c["iss"] = "https://evil.example" })(op, "")
		},
		"bad signature": func(op *fakeOP) string {
			return signWith(testingTB{}, forgerKeys[1], "RS256", op.f.kid, op.claims(""))
		},
	} {
		t.Run(name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.RefreshInterval = 2 * time.Minute
			k := startKgate(t, listenTLS(t), cfg)
			b := newBrowser(t, k)
			if p := b.Chase(b.Get(b.fakeLoginToCallback(k)), nil); p.Status != 200 {
				t.Fatalf("login: %d", p.Status)
			}
			op.mu.Lock()
			op.refreshed = mk
			op.mu.Unlock()
			k.clock.advance(3 * time.Minute)
			p := b.Get(k.url("/k/v1/records.json"))
			if want := map[bool]int{true: 200, false: http.StatusUnauthorized}[mk == nil]; p.Status != want {
				t.Fatalf("after refresh: %d %q, want %d", p.Status, p.Body, want)
			}
			if op.calls() != 2 {
				t.Fatalf("%d token calls, want 2", op.calls())
			}
		})
	}
}
