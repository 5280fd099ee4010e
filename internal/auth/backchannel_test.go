package auth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// loginWithSID logs a new browser in on k through the fake provider, whose
// ID token names the provider session sid.
func loginWithSID(t *testing.T, k *kgate, op *fakeOP, sid string) *browser {
	t.Helper()
	op.mu.Lock()
	op.idToken = mutate(func(c map[string]any) { c["sid"] = sid })
	op.mu.Unlock()
	b := newBrowser(t, k)
	if p := b.Chase(b.Get(b.fakeLoginToCallback(k)), nil); p.Status != 200 {
		t.Fatalf("login with sid %s: %d %q", sid, p.Status, p.Body)
	}
	return b
}

// signedIn reports whether b's session still opens the API on k.
func signedIn(t *testing.T, k *kgate, b *browser) bool {
	t.Helper()
	p := b.Get(k.url("/k/v1/records.json"))
	if p.Status != 200 && p.Status != http.StatusUnauthorized {
		t.Fatalf("%d %q", p.Status, p.Body)
	}
	return p.Status == 200
}

// logoutClaims are a good logout token's claims for the provider session
// sid of user-1.
func logoutClaims(op *fakeOP, sid string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.issuer, "aud": op.clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": randomString(), "sub": "user-1", "sid": sid, "events": map[string]any{backchannelEvent: map[string]any{}}}
}

func (op *fakeOP) logoutToken(t *testing.T, claims map[string]any) string {
	return signHeader(t, op.f.key, map[string]any{"alg": "RS256", "kid": op.f.kid, "typ": "logout+jwt"}, claims)
}

type logoutAnswer struct {
	status int
	cache  string
	Error  string `json:"error"`
	Desc   string `json:"error_description"`
}

// deliver posts a logout token to k as a provider does.
func deliver(t *testing.T, k *kgate, token string) logoutAnswer {
	t.Helper()
	resp, err := k.srv.Client().PostForm(k.url("/kgate/backchannel-logout"), url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := logoutAnswer{status: resp.StatusCode, cache: resp.Header.Get("Cache-Control")}
	if body, _ := io.ReadAll(resp.Body); resp.Header.Get("Content-Type") == "application/json" {
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("%d %q is not JSON", resp.StatusCode, body)
		}
	}
	return a
}

func backchannelConfig(op *fakeOP) Config {
	cfg := fakeConfig(op)
	cfg.BackchannelLogout = true
	return cfg
}

// Every logout token that breaks a rule of section 2.6 is refused with
// 400 and a JSON error, and ends nothing.
func TestBadLogoutTokensAreRefusedAndEndNothing(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), backchannelConfig(op))
	b := loginWithSID(t, k, op, "op-1")
	other := forgerKeys[1] // not published by the provider
	good := func(change func(c map[string]any)) func() string {
		return func() string {
			c := logoutClaims(op, "op-1")
			change(c)
			return op.logoutToken(t, c)
		}
	}
	replayed := op.logoutToken(t, logoutClaims(op, "op-of-nobody"))
	if a := deliver(t, k, replayed); a.status != 200 {
		t.Fatalf("a valid token naming no session of ours: %+v", a)
	}
	for _, tc := range []struct {
		name, why string // why: what the refusal says
		token     func() string
	}{
		{"signed with a key the provider does not publish", "signature", func() string {
			return signHeader(t, other, map[string]any{"alg": "RS256", "kid": op.f.kid, "typ": "logout+jwt"}, logoutClaims(op, "op-1"))
		}},
		{"unsigned", "signature", func() string { return op.f.sign(t, "none", op.f.kid, logoutClaims(op, "op-1")) }},
		{"another issuer", "issuer", good(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"another audience", "audience", good(func(c map[string]any) { c["aud"] = "another-client" })},
		{"several audiences without azp", "azp", good(func(c map[string]any) { c["aud"] = []string{op.clientID, "another-client"} })},
		{"no events", "events", good(func(c map[string]any) { delete(c, "events") })},
		{"events without the logout event", "events", good(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})},
		{"the logout event with a value that is no object", "events", good(func(c map[string]any) {
			c["events"] = map[string]any{backchannelEvent: "yes"}
		})},
		{"a nonce", "nonce", good(func(c map[string]any) { c["nonce"] = "n-1" })},
		{"neither sub nor sid", "sub, sid", good(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })},
		{"no jti", "jti", good(func(c map[string]any) { delete(c, "jti") })},
		{"no iat", "iat", good(func(c map[string]any) { delete(c, "iat") })},
		{"issued ten minutes ago", "too old", good(func(c map[string]any) { c["iat"] = time.Now().Add(-10 * time.Minute).Unix() })},
		{"issued in the future", "future", good(func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() })},
		{"expired", "expired", good(func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() })},
		{"typed as an access token", "typ", func() string {
			return signHeader(t, op.f.key, map[string]any{"alg": "RS256", "kid": op.f.kid, "typ": "at+jwt"}, logoutClaims(op, "op-1"))
		}},
		{"an ID token", "events", func() string { return op.good("") }},
		{"its jti seen before", "replayed", func() string { return replayed }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := deliver(t, k, tc.token())
			if a.status != http.StatusBadRequest || a.Error != "invalid_request" || !strings.Contains(a.Desc, tc.why) || a.cache != "no-store" {
				t.Fatalf("answer %+v, want 400 invalid_request saying %q, no-store", a, tc.why)
			}
			if !signedIn(t, k, b) {
				t.Fatal("the session ended")
			}
		})
	}
}

func TestBackchannelLogoutTakesOneFormEncodedToken(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), backchannelConfig(op))
	token := op.logoutToken(t, logoutClaims(op, "op-1"))
	client := k.srv.Client()
	for _, tc := range []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"GET", "GET", "", "", http.StatusMethodNotAllowed},
		{"JSON", "POST", "application/json", `{"logout_token":"` + token + `"}`, http.StatusBadRequest},
		{"no token", "POST", "application/x-www-form-urlencoded", "other=1", http.StatusBadRequest},
		{"two tokens", "POST", "application/x-www-form-urlencoded", "logout_token=" + token + "&logout_token=" + token, http.StatusBadRequest},
		{"a body larger than a token needs", "POST", "application/x-www-form-urlencoded", "logout_token=" + strings.Repeat("a", 70<<10), http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(tc.method, k.url("/kgate/backchannel-logout"), strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s, want %d with a JSON error", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
		}
	}
}

func TestBackchannelLogoutIsOffUnlessConfigured(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), fakeConfig(op))
	b := loginWithSID(t, k, op, "op-1")
	if a := deliver(t, k, op.logoutToken(t, logoutClaims(op, "op-1"))); a.status != http.StatusNotFound {
		t.Fatalf("answer %+v, want 404", a)
	}
	if !signedIn(t, k, b) {
		t.Fatal("the session ended")
	}
}

// Two instances share sessions through Redis. A logout token delivered to
// one ends, on both, the sessions of the provider session it names — or
// every session of the person when it names none — and nothing else.
func TestBackchannelLogoutEndsTheSessionsOnEveryInstance(t *testing.T) {
	op := startFakeOP(t)
	cfg := backchannelConfig(op)
	cfg.Store = NewRedisStore(startRedis(t), "kgate-bcl:")
	a, b := startKgate(t, listenTLS(t), cfg), startKgate(t, listenTLS(t), cfg)
	onA := loginWithSID(t, a, op, "op-1")
	onB := loginWithSID(t, b, op, "op-2")
	for _, k := range []*kgate{a, b} {
		if !signedIn(t, k, onA) || !signedIn(t, k, onB) {
			t.Fatal("the instances do not share the sessions")
		}
	}

	someoneElse := logoutClaims(op, "op-1")
	someoneElse["sub"] = "user-2"
	if ans := deliver(t, b, op.logoutToken(t, someoneElse)); ans.status != 200 || !signedIn(t, a, onA) {
		t.Fatalf("a token for op-1 of another subject: %+v, and the session ended: %v", ans, !signedIn(t, a, onA))
	}

	if ans := deliver(t, b, op.logoutToken(t, logoutClaims(op, "op-1"))); ans.status != 200 {
		t.Fatalf("a valid token: %+v", ans)
	}
	for _, k := range []*kgate{a, b} {
		if signedIn(t, k, onA) {
			t.Fatal("the session of op-1 lives on")
		}
		if !signedIn(t, k, onB) {
			t.Fatal("the session of op-2 ended with op-1's")
		}
	}
	if p := onA.Get(a.url("/apps/1")); p.Status != http.StatusFound || !strings.Contains(p.Location, "/kgate/login") {
		t.Fatalf("the next page after the logout: %d %q, want the way to login", p.Status, p.Location)
	}

	bySubject := logoutClaims(op, "")
	delete(bySubject, "sid")
	if ans := deliver(t, a, op.logoutToken(t, bySubject)); ans.status != 200 {
		t.Fatalf("a token naming only the subject: %+v", ans)
	}
	if signedIn(t, b, onB) {
		t.Fatal("a token naming only the subject left a session of it")
	}
}

// While the session store is down a valid token is refused without being
// remembered, so the provider's next delivery of it ends the session.
func TestALogoutTheStoreCouldNotCarryOutCanBeDeliveredAgain(t *testing.T) {
	op := startFakeOP(t)
	cfg := backchannelConfig(op)
	store := &failingStore{SessionStore: NewMemoryStore()}
	cfg.Store = store
	k := startKgate(t, listenTLS(t), cfg)
	b := loginWithSID(t, k, op, "op-1")
	token := op.logoutToken(t, logoutClaims(op, "op-1"))
	store.failIndex.Store(true)
	if a := deliver(t, k, token); a.status != http.StatusBadRequest || a.Error != "temporarily_unavailable" {
		t.Fatalf("with the store failing: %+v, want 400 temporarily_unavailable", a)
	}
	store.failIndex.Store(false)
	if a := deliver(t, k, token); a.status != 200 {
		t.Fatalf("the same token again: %+v", a)
	}
	if signedIn(t, k, b) {
		t.Fatal("the session lives on")
	}
}

// failingStore fails index reads on demand, as a store that went away
// between two calls.
type failingStore struct {
	SessionStore
	failIndex atomic.Bool
}

func (s *failingStore) IndexMembers(ctx context.Context, key string) ([]string, error) {
	if s.failIndex.Load() {
		return nil, errors.New("connection refused")
	}
	return s.SessionStore.IndexMembers(ctx, key)
}

// A session is in the logout indexes while it lives and leaves them at
// logout, so that they hold live sessions only.
func TestASessionIsIndexedUntilItEnds(t *testing.T) {
	op := startFakeOP(t)
	k := startKgate(t, listenTLS(t), backchannelConfig(op))
	b := loginWithSID(t, k, op, "op-1")
	count := func() (bySID, bySub int) {
		s, _ := k.a.store.IndexMembers(t.Context(), opSessionIndexKey(op.issuer, "op-1"))
		u, _ := k.a.store.IndexMembers(t.Context(), subIndexKey(op.issuer, "user-1"))
		return len(s), len(u)
	}
	if s, u := count(); s != 1 || u != 1 {
		t.Fatalf("after login: %d under the provider session, %d under the subject; want 1 and 1", s, u)
	}
	if p := b.postForm(k.url("/kgate/logout"), nil, map[string]string{"Origin": k.srv.URL}); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	if s, u := count(); s != 0 || u != 0 {
		t.Fatalf("after logout: %d under the provider session, %d under the subject; want none", s, u)
	}
}
