package auth

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// bearer calls the API at k with token.
func (k *kgate) bearer(t *testing.T, token string) page {
	t.Helper()
	req, _ := http.NewRequest("GET", k.url("/k/v1/records.json?app=2"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return newBrowser(t, k).Do(req)
}

// accessClaims are the claims of a good access token from the fake
// provider, issued to the client "partner-app".
func (op *fakeOP) accessClaims() map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.issuer, "sub": "user-1", "aud": "kgate-api", "client_id": "partner-app",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": randomString(),
		"email": "alice@acme.example", "email_verified": true}
}

// accessToken signs the fake provider's good access token with the
// header fields in hdr (typ at+jwt unless hdr says otherwise; a nil
// value removes a field) and the claims changed by change.
func (op *fakeOP) accessToken(hdr map[string]any, change func(c map[string]any)) string {
	h := map[string]any{"alg": "RS256", "kid": op.f.kid, "typ": "at+jwt"}
	for k, v := range hdr {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	c := op.accessClaims()
	if change != nil {
		change(c)
	}
	return signHeader(testingTB{}, op.f.key, h, c)
}

func set(kv ...any) func(map[string]any) {
	return func(c map[string]any) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
	}
}

func typ(v any) map[string]any { return map[string]any{"typ": v} }

// Only access tokens open the API: not an ID token (the portal's, even one
// naming the API's audience), not a refresh or logout token, not a token
// issued to the portal's own client, and, where configured, only at+jwt
// tokens of the allowed clients.
func TestBearerTokensMustBeAccessTokens(t *testing.T) {
	type tc struct {
		name  string
		hdr   map[string]any
		claim func(map[string]any)
		ok    bool
	}
	anyProvider := []tc{
		{"an RFC 9068 access token", nil, nil, true},
		{"typ application/at+jwt", typ("application/at+jwt"), nil, true},
		{"typ AT+JWT in another case", typ("AT+JWT"), nil, true},
		{"typ JWT", typ("JWT"), nil, true},
		{"no typ", typ(nil), nil, true},
		{"a Keycloak access token (typ claim Bearer)", typ("JWT"), set("typ", "Bearer"), true},
		{"an ID token (nonce)", typ("JWT"), set("nonce", "n-1"), false},
		{"an ID token (at_hash)", typ("JWT"), set("at_hash", atHash("x")), false},
		{"an ID token (c_hash)", typ("JWT"), set("c_hash", atHash("x")), false},
		{"an ID token (typ claim ID)", typ("JWT"), set("typ", "ID"), false},
		{"a refresh token (typ claim Refresh)", typ("JWT"), set("typ", "Refresh"), false},
		{"a logout token (typ claim Logout)", typ("JWT"), set("typ", "Logout"), false},
		{"a logout token (typ logout+jwt)", typ("logout+jwt"), nil, false},
		{"typ id_token+jwt", typ("id_token+jwt"), nil, false},
		{"typ JOSE", typ("JOSE"), nil, false},
		{"a typ that is not a string", typ(7), nil, false},
		{"issued to the portal (azp)", nil, set("client_id", nil, "azp", "kgate"), false},
		{"issued to the portal (client_id)", nil, set("client_id", "kgate"), false},
		{"client_id and azp disagree about the portal", nil, set("azp", "kgate"), false},
		{"for another audience", nil, set("aud", "another-api"), false},
	}
	requireATJWT := []tc{
		{"an RFC 9068 access token", nil, nil, true},
		{"typ application/at+jwt", typ("application/at+jwt"), nil, true},
		{"typ JWT", typ("JWT"), nil, false},
		{"no typ", typ(nil), nil, false},
		{"at+jwt without client_id", nil, set("client_id", nil), false},
	}
	allowlist := []tc{
		{"an allowed client_id", nil, nil, true},
		{"an allowed azp", typ("JWT"), set("client_id", nil, "azp", "partner-app"), true},
		{"another client", nil, set("client_id", "someone-else"), false},
		{"an allowed client_id with another azp", nil, set("azp", "someone-else"), false},
		{"no client named", typ("JWT"), set("client_id", nil), false},
	}
	for _, group := range []struct {
		name   string
		config func(*Config)
		cases  []tc
	}{
		{"any client", func(*Config) {}, anyProvider},
		{"bearer_require_at_jwt", func(c *Config) { c.BearerRequireATJWT = true }, requireATJWT},
		{"bearer_clients", func(c *Config) { c.BearerClients = []string{"partner-app", "reporting"} }, allowlist},
	} {
		t.Run(group.name, func(t *testing.T) {
			op := startFakeOP(t)
			cfg := fakeConfig(op)
			cfg.BearerAudiences = []string{"kgate-api"}
			group.config(&cfg)
			k := startKgate(t, listenTLS(t), cfg)
			for _, c := range group.cases {
				p := k.bearer(t, op.accessToken(c.hdr, c.claim))
				if ok := p.Status == 200; ok != c.ok {
					t.Errorf("%s: %d %q, want accepted=%v", c.name, p.Status, p.Body, c.ok)
				}
			}
		})
	}
}

// endSessionHint returns the ID token kgate hands the browser in its
// logout redirect.
func endSessionHint(t *testing.T, p page) string {
	t.Helper()
	hint := mustParse(p.Location).Query().Get("id_token_hint")
	if p.Status != http.StatusSeeOther || hint == "" {
		t.Fatalf("logout: %d → %q, want a redirect with id_token_hint", p.Status, p.Location)
	}
	return hint
}

// The ID token a logout redirect shows the browser opens nothing, even
// where an operator made the portal's client id a bearer audience.
func TestALoggedOutPersonsIDTokenIsNoBearerToken(t *testing.T) {
	t.Run("devidp", func(t *testing.T) {
		srv := listenTLS(t)
		op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
		cfg := devConfig(op)
		cfg.BearerAudiences = []string{"kgate-api", "kgate"}
		k := startKgate(t, srv, cfg)
		b := newBrowser(t, k)
		b.devLogin(k, op, "u-alice", "/")
		hint := endSessionHint(t, b.logout(k))
		if p := k.bearer(t, hint); p.Status != http.StatusUnauthorized {
			t.Fatalf("the ID token from the logout redirect as a bearer token: %d %q", p.Status, p.Body)
		}
	})
	t.Run("zitadel", func(t *testing.T) {
		srv := listenTLS(t)
		op, clientID := startExampleOP(t, serverURL(srv)+"/kgate/callback")
		k := startKgate(t, srv, Config{Issuer: op.issuer, ClientID: clientID, ClientSecret: "secret",
			UserInfo: true, DefaultLevel: "silver", BearerAudiences: []string{clientID}})
		b := newBrowser(t, k)
		if p := b.exampleLogin(k, op, "/"); p.Status != 200 {
			t.Fatalf("login: %d %q", p.Status, p.Body)
		}
		hint := endSessionHint(t, b.logout(k))
		if p := k.bearer(t, hint); p.Status != http.StatusUnauthorized {
			t.Fatalf("the ID token from the logout redirect as a bearer token: %d %q", p.Status, p.Body)
		}
	})
}

func TestChallengeSaysWhetherATokenWasRefusedAndWhy(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no credentials", noIdentity("no session cookie"), `Bearer realm="kgate"`},
		{"a refused token", refuseToken("token expired"), `Bearer realm="kgate", error="invalid_token", error_description="token expired"`},
		{"a refused token, wrapped", fmt.Errorf("kgate: %w", refuseToken("names no client")),
			`Bearer realm="kgate", error="invalid_token", error_description="names no client"`},
		{"characters a quoted description may not hold", refuseToken("a \"quote\", a \\ and é\n"),
			`Bearer realm="kgate", error="invalid_token", error_description="a ?quote?, a ? and ???"`},
	} {
		if got := Challenge(tc.err); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
