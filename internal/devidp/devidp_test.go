package devidp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const callback = "https://rp.example/callback"

// start serves a provider with the demo users under issuerPath ("/" or
// "/idp/"); tune may change its configuration first.
func start(t *testing.T, issuerPath string, tune ...func(*Config)) (*Provider, *http.Client) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Issuer: "http://" + l.Addr().String() + issuerPath,
		Clients: []Client{
			{ID: "rp", Secret: "rp-secret", RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{"https://rp.example/bye"}},
			{ID: "machine", Secret: "m-secret", ActAsUsers: true, Audience: []string{"api"}},
		},
		Users: DemoUsers(),
	}
	for _, f := range tune {
		f(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: p}}
	srv.Start()
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p, c
}

func rpConfig(p *Provider, prov *oidc.Provider) *oauth2.Config {
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", Endpoint: ep, RedirectURL: callback,
		Scopes: []string{"openid", "profile", "email", "offline_access"}}
}

var reqIDRe = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// login runs the code flow as sub with the given extra auth-code options
// and returns the code from the redirect to the relying party.
func login(t *testing.T, c *http.Client, cfg *oauth2.Config, sub string, opts ...oauth2.AuthCodeOption) (string, *http.Response) {
	t.Helper()
	resp, err := c.Get(cfg.AuthCodeURL("st", opts...))
	if err != nil {
		t.Fatal(err)
	}
	for resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), callback) {
		next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if resp, err = c.Get(next.String()); err != nil {
			t.Fatal(err)
		}
	}
	if resp.StatusCode == http.StatusFound {
		return mustQuery(resp.Header.Get("Location")).Get("code"), resp
	}
	body, _ := io.ReadAll(resp.Body)
	m := reqIDRe.FindSubmatch(body)
	if m == nil {
		return "", resp
	}
	action := regexp.MustCompile(`action="([^"]+)"`).FindSubmatch(body)
	resp, err = c.PostForm(string(action[1]), url.Values{"authRequestID": {string(m[1])}, "user": {sub}})
	if err != nil {
		t.Fatal(err)
	}
	for resp.StatusCode == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), callback) {
		next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if resp, err = c.Get(next.String()); err != nil {
			t.Fatal(err)
		}
	}
	q := mustQuery(resp.Header.Get("Location"))
	if q.Get("state") != "st" {
		t.Fatalf("state not returned: %v", q)
	}
	return q.Get("code"), resp
}

func mustQuery(s string) url.Values {
	u, _ := url.Parse(s)
	return u.Query()
}

func TestCodeFlowWithPKCERefreshUserinfoAndLogout(t *testing.T) {
	for _, path := range []string{"/", "/idp/"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			p, c := start(t, path)
			ctx := context.Background()
			prov, err := oidc.NewProvider(ctx, p.Issuer())
			if err != nil {
				t.Fatal(err)
			}
			cfg := rpConfig(p, prov)
			verifier := oauth2.GenerateVerifier()
			code, _ := login(t, c, cfg, "u-alice", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1"))
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			idt, err := prov.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, tok.Extra("id_token").(string))
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			idt.Claims(&claims)
			if idt.Subject != "u-alice" || idt.Nonce != "n-1" || claims["org"] != "acme" || claims["level"] != "gold" ||
				claims["email"] != "alice@acme.example" || claims["email_verified"] != true {
				t.Fatalf("ID token claims: %v", claims)
			}
			if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
				t.Fatal("a code worked twice")
			}
			ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != "u-alice" || ui.Email != "alice@acme.example" {
				t.Fatalf("userinfo: %+v %v", ui, err)
			}

			// Refresh rotates: the new token works once, the old one never again.
			fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
			if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh: %v", err)
			}
			if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}).Token(); err == nil {
				t.Fatal("a spent refresh token worked again")
			}
			idt2, err := prov.Verifier(&oidc.Config{ClientID: "rp"}).Verify(ctx, fresh.Extra("id_token").(string))
			if err != nil || idt2.Subject != "u-alice" {
				t.Fatalf("refreshed ID token: %v", err)
			}

			// RP-initiated logout ends the user's tokens at this client.
			var meta struct {
				EndSession string `json:"end_session_endpoint"`
			}
			prov.Claims(&meta)
			q := url.Values{"id_token_hint": {fresh.Extra("id_token").(string)}, "post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"s9"}}
			resp, err := c.Get(meta.EndSession + "?" + q.Encode())
			if err != nil || resp.Header.Get("Location") != "https://rp.example/bye?state=s9" {
				t.Fatalf("end_session: %v %v", resp.Header.Get("Location"), err)
			}
			if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Unix(1, 0)}).Token(); err == nil {
				t.Fatal("refresh token survived logout")
			}
		})
	}
}

func TestPKCEWithS256IsRequired(t *testing.T) {
	p, c := start(t, "/")
	prov, err := oidc.NewProvider(context.Background(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	cfg := rpConfig(p, prov)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no PKCE": nil,
		"plain":   {oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		code, resp := login(t, c, cfg, "u-bob", opts...)
		if code != "" || !strings.Contains(resp.Header.Get("Location"), "error=invalid_request") {
			t.Errorf("%s: code %q, redirect %q", name, code, resp.Header.Get("Location"))
		}
	}
	verifier := oauth2.GenerateVerifier()
	code, _ := login(t, c, cfg, "u-bob", oauth2.S256ChallengeOption(verifier))
	if _, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a wrong verifier was accepted")
	}
}

func TestClientCredentialsActsForANamedDemoUser(t *testing.T) {
	p, _ := start(t, "/")
	token := func(client, secret, scope string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
		req, _ := http.NewRequest("POST", p.Issuer()+"oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	status, body := token("machine", "m-secret", "openid user:u-dave")
	if status != 200 {
		t.Fatalf("client_credentials: %d %v", status, body)
	}
	prov, _ := oidc.NewProvider(context.Background(), p.Issuer())
	v := prov.Verifier(&oidc.Config{ClientID: "api"})
	at, err := v.Verify(context.Background(), body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	at.Claims(&claims)
	if at.Subject != "u-dave" || claims["org"] != "bluebird" || claims["level"] != "silver" {
		t.Fatalf("access token claims: %v", claims)
	}
	for _, tc := range []struct{ client, secret, scope string }{
		{"machine", "m-secret", "openid"},             // names nobody
		{"machine", "m-secret", "openid user:nobody"}, // an unknown user
		{"machine", "wrong", "openid user:u-dave"},
		{"rp", "rp-secret", "openid user:u-dave"}, // not an ActAsUsers client
	} {
		if status, _ := token(tc.client, tc.secret, tc.scope); status == 200 {
			t.Errorf("%+v: got a token", tc)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	p, _ := start(t, "/")
	old := p.SigningKeyID()
	if err := p.RemoveKey(old); err == nil {
		t.Fatal("removed the signing key")
	}
	kid, err := p.RotateKey()
	if err != nil || kid == old || p.SigningKeyID() != kid {
		t.Fatalf("rotate: %v", err)
	}
	keys := func() string {
		resp, err := http.Get(p.Issuer() + "keys")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if k := keys(); !strings.Contains(k, old) || !strings.Contains(k, kid) {
		t.Fatalf("both keys should be published: %s", k)
	}
	if err := p.RemoveKey(old); err != nil {
		t.Fatal(err)
	}
	if k := keys(); strings.Contains(k, old) {
		t.Fatalf("removed key still published: %s", k)
	}
}

func TestLoginPageListsTheDemoUsersInBothLanguages(t *testing.T) {
	p, c := start(t, "/")
	prov, _ := oidc.NewProvider(context.Background(), p.Issuer())
	cfg := rpConfig(p, prov)
	resp, err := c.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	for err == nil && resp.StatusCode == http.StatusFound {
		next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		resp, err = c.Get(next.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	for _, u := range DemoUsers() {
		if !strings.Contains(string(body), u.Email) || !strings.Contains(string(body), u.NameJA) {
			t.Errorf("login page lacks %s", u.Sub)
		}
	}
	if r, _ := c.PostForm(p.Issuer()+"login", url.Values{"authRequestID": {"forged"}, "user": {"u-sam"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("login with a forged request id: %d", r.StatusCode)
	}
}

// jwtParts decodes a compact JWT's header and claims without verifying
// it; the tests that use it verify the token separately.
func jwtParts(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %.40s…", raw)
	}
	for i, into := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// A login's ID token is for the client that logged in and nobody else,
// and the access token beside it is opaque: neither can pass for a
// resource server's access token.
func TestTheCodeFlowIssuesNoTokenAnAPIWouldAccept(t *testing.T) {
	p, c := start(t, "/")
	ctx := context.Background()
	prov, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	cfg := rpConfig(p, prov)
	verifier := oauth2.GenerateVerifier()
	code, _ := login(t, c, cfg, "u-alice", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1"))
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	header, claims := jwtParts(t, tok.Extra("id_token").(string))
	if header["typ"] != "JWT" {
		t.Errorf("ID token typ %v, want JWT", header["typ"])
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "rp" {
		t.Errorf("ID token aud %v, want exactly [rp]", claims["aud"])
	}
	if strings.Count(tok.AccessToken, ".") == 2 {
		t.Errorf("the login's access token is a JWT (%.30s…): a resource server could take it for one of its own", tok.AccessToken)
	}
	if ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil || ui.Subject != "u-alice" {
		t.Fatalf("userinfo with the opaque access token: %+v %v", ui, err)
	}
}

func TestAudienceIsOnlyForClientsThatGetAPITokens(t *testing.T) {
	_, err := New(Config{Issuer: "http://127.0.0.1:1/", Users: DemoUsers(), Clients: []Client{
		{ID: "portal", Secret: "s", RedirectURIs: []string{callback}, Audience: []string{"api"}}}})
	if err == nil || !strings.Contains(err.Error(), "ActAsUsers") {
		t.Fatalf("a login client with an API audience: %v, want an error naming ActAsUsers", err)
	}
}

// What client_credentials and MintAccessToken hand out is an RFC 9068
// access token: typ at+jwt, the API as audience, the client it was issued
// to, and none of an ID token's claims.
func TestAPITokensAreRFC9068AccessTokens(t *testing.T) {
	p, _ := start(t, "/")
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid user:u-dave"}}
	req, _ := http.NewRequest("POST", p.Issuer()+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("machine", "m-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.TokenType != "Bearer" || body.ExpiresIn <= 0 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("client_credentials: %d %+v (Cache-Control %q)", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
	minted, err := p.MintAccessToken("machine", "u-dave", []string{"api"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := oidc.NewProvider(context.Background(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"client_credentials": body.AccessToken, "MintAccessToken": minted} {
		t.Run(name, func(t *testing.T) {
			if _, err := prov.Verifier(&oidc.Config{ClientID: "api"}).Verify(context.Background(), raw); err != nil {
				t.Fatalf("signature, issuer or audience: %v", err)
			}
			header, claims := jwtParts(t, raw)
			if header["typ"] != "at+jwt" {
				t.Errorf("typ %v, want at+jwt", header["typ"])
			}
			if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "api" {
				t.Errorf("aud %v, want exactly [api]", claims["aud"])
			}
			if claims["client_id"] != "machine" || claims["sub"] != "u-dave" || claims["jti"] == nil ||
				claims["iat"] == nil || claims["exp"] == nil || claims["level"] != "silver" || claims["email_verified"] != true {
				t.Errorf("claims %v", claims)
			}
			for _, idOnly := range []string{"nonce", "at_hash", "c_hash", "azp"} {
				if _, ok := claims[idOnly]; ok {
					t.Errorf("an access token carries %s", idOnly)
				}
			}
		})
	}
	if _, err := p.MintAccessToken("nobody", "u-dave", []string{"api"}, time.Hour); err == nil {
		t.Error("minted a token for an unregistered client")
	}
}
