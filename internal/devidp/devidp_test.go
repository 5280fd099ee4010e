package devidp

import (
	"context"
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
// "/idp/").
func start(t *testing.T, issuerPath string) (*Provider, *http.Client) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{
		Issuer: "http://" + l.Addr().String() + issuerPath,
		Clients: []Client{
			{ID: "rp", Secret: "rp-secret", RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{"https://rp.example/bye"}},
			{ID: "machine", Secret: "m-secret", ActAsUsers: true, Audience: []string{"api"}},
		},
		Users: DemoUsers(),
	})
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
