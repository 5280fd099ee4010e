package auth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func (b *browser) logout(k *kgate) page {
	return b.postForm(k.url("/kgate/logout"), nil, map[string]string{"Origin": k.srv.URL})
}

func TestLoginIdentifyLogoutWithTheDemoProvider(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Directory = demoDirectory()
	cfg.PostLogoutRedirectURL = "https://portal.example.com/bye"
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)

	p := b.devLogin(k, op, "u-alice", "/apps/2?view=list")
	if p.Status != 200 || p.Body != "hello u-alice gold acme session" || p.URL.RequestURI() != "/apps/2?view=list" {
		t.Fatalf("after login: %d at %s: %q", p.Status, p.URL, p.Body)
	}
	if !slices.Contains(k.auditKinds(), "login") {
		t.Errorf("no login audited: %v", k.auditKinds())
	}
	session := b.cookie(k, SessionCookie)
	if session == "" || b.cookie(k, LoginCookie) != "" {
		t.Fatalf("want a session cookie and no login cookie left; session=%q login=%q", session, b.cookie(k, LoginCookie))
	}

	p = b.logout(k)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", p.Status, p.Body)
	}
	end := mustParse(p.Location)
	q := end.Query()
	if !strings.HasPrefix(p.Location, op.p.Issuer()+"end_session") || q.Get("id_token_hint") == "" ||
		q.Get("post_logout_redirect_uri") != "https://portal.example.com/bye" || q.Get("state") == "" {
		t.Fatalf("logout redirect = %s", p.Location)
	}
	p = b.Get(p.Location) // the provider ends its side and sends the browser back
	if !strings.HasPrefix(p.Location, "https://portal.example.com/bye?state="+url.QueryEscape(q.Get("state"))) {
		t.Fatalf("provider's end_session answered %d → %q: %s", p.Status, p.Location, p.Body)
	}
	if p := b.Get(k.url("/apps/2")); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") {
		t.Fatalf("after logout a page should redirect to login, got %d %q", p.Status, p.Location)
	}
	b.setCookie(k, SessionCookie, session) // replay the cookie from before logout
	if p := b.Get(k.url("/k/v1/records.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("old session cookie after logout: %d %q", p.Status, p.Body)
	}
	// An auditor finds a member's logout by the address of their login.
	byKind := map[string]map[string]any{}
	for _, e := range k.audits.All() {
		if _, seen := byKind[e.Message]; !seen {
			byKind[e.Message] = e.ContextMap()
		}
	}
	login, logout := byKind["login"], byKind["logout"]
	if logout == nil {
		t.Fatalf("no logout audited: %v", k.auditKinds())
	}
	if logout["email"] == nil || logout["email"] != login["email"] || logout["subject"] != login["subject"] {
		t.Errorf("logout audited as %v, want the e-mail and subject of the login %v", logout, login)
	}
}

func TestLoginIdentifyLogoutWithTheZitadelExampleProvider(t *testing.T) {
	srv := listenTLS(t)
	op, clientID := startExampleOP(t, serverURL(srv)+"/kgate/callback")
	dir := demoDirectory()
	k := startKgate(t, srv, Config{Issuer: op.issuer, ClientID: clientID, ClientSecret: "secret",
		UserInfo: true, Directory: dir})
	b := newBrowser(t, k)

	p := b.exampleLogin(k, op, "/apps/3")
	if p.Status != 200 || p.Body != "hello id1 gold acme session" {
		t.Fatalf("after login: %d at %s: %q", p.Status, p.URL, p.Body)
	}
	p = b.logout(k)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, op.issuer+"end_session?") ||
		mustParse(p.Location).Query().Get("id_token_hint") == "" {
		t.Fatalf("logout: %d → %q", p.Status, p.Location)
	}
	if p = b.Chase(b.Get(p.Location), nil); p.Status != 200 || !strings.Contains(p.Body, "signed out") {
		t.Fatalf("provider's logout page: %d %q", p.Status, p.Body)
	}
	if p := b.Get(k.url("/k/v1/app.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", p.Status)
	}
}

func TestSessionRefreshWithTheZitadelExampleProvider(t *testing.T) {
	srv := listenTLS(t)
	op, clientID := startExampleOP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, Config{Issuer: op.issuer, ClientID: clientID, ClientSecret: "secret",
		UserInfo: true, Directory: demoDirectory(), RefreshInterval: 2 * time.Minute})
	b := newBrowser(t, k)
	if p := b.exampleLogin(k, op, "/"); p.Body != "hello id1 gold acme session" {
		t.Fatalf("login: %q", p.Body)
	}
	before := b.cookie(k, SessionCookie)
	k.clock.advance(3 * time.Minute)
	if p := b.Get(k.url("/")); p.Body != "hello id1 gold acme session" {
		t.Fatalf("after refresh: %d %q", p.Status, p.Body)
	}
	if b.cookie(k, SessionCookie) == before {
		t.Fatal("the refreshed session kept its old cookie")
	}
	sc, _ := k.a.readSessionCookie(&http.Request{Header: http.Header{"Cookie": {SessionCookie + "=" + b.cookie(k, SessionCookie)}}})
	if sc.Gen != 2 {
		t.Fatalf("session generation %d after one refresh, want 2", sc.Gen)
	}
}

func TestConcurrentRequestsShareOneRefresh(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.RefreshInterval = 2 * time.Minute
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-bob", "/")
	k.clock.advance(3 * time.Minute)

	cookie := SessionCookie + "=" + b.cookie(k, SessionCookie)
	var wg sync.WaitGroup
	bodies := make([]string, 8)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", k.url("/"), nil)
			req.Header.Set("Cookie", cookie)
			resp, err := k.srv.Client().Do(req)
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 100)
			n, _ := resp.Body.Read(buf)
			bodies[i] = string(buf[:n])
		}()
	}
	wg.Wait()
	for i, body := range bodies {
		if body != "hello u-bob silver acme session" {
			t.Errorf("request %d: %q", i, body)
		}
	}
	if n := op.refreshs.Load(); n != 1 {
		t.Fatalf("%d refreshes reached the provider, want exactly 1", n)
	}
}

func TestRefreshRefusedByTheProviderEndsTheSession(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.RefreshInterval = 2 * time.Minute
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-bob", "/")

	// Spend the session's refresh token behind kgate's back: rotation makes
	// the one kgate holds invalid (invalid_grant).
	sc, _ := k.a.readSessionCookie(&http.Request{Header: http.Header{"Cookie": {SessionCookie + "=" + b.cookie(k, SessionCookie)}}})
	rec, err := k.a.loadRecord(context.Background(), sc.SID)
	if err != nil || rec.RefreshToken == "" {
		t.Fatalf("record: %+v, %v", rec, err)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rec.RefreshToken}}
	req, _ := http.NewRequest("POST", op.p.Issuer()+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("kgate", "kgate-secret")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("spending the refresh token: %v %v", resp, err)
	}

	k.clock.advance(3 * time.Minute)
	if p := b.Get(k.url("/k/v1/records.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("after a refused refresh: %d %q", p.Status, p.Body)
	}
	if _, err := k.a.loadRecord(context.Background(), sc.SID); err == nil {
		t.Fatal("the session record survived a refused refresh")
	}
}

func TestBearerTokens(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Directory = demoDirectory()
	k := startKgate(t, srv, cfg)
	call := func(token string) page {
		req, _ := http.NewRequest("GET", k.url("/k/v1/records.json?app=2"), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return newBrowser(t, k).Do(req)
	}

	tok, err := op.p.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p := call(tok); p.Status != 200 || p.Body != "hello u-alice gold acme bearer" {
		t.Fatalf("minted token: %d %q", p.Status, p.Body)
	}

	// The way scripts and the Node client get one: client_credentials for a
	// demo user, from an ActAsUsers client.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"openid user:u-carol"}}
	req, _ := http.NewRequest("POST", op.p.Issuer()+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("machine", "machine-secret")
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := doJSON(req, &body); err != nil || body.AccessToken == "" {
		t.Fatalf("client_credentials: %v", err)
	}
	if p := call(body.AccessToken); p.Status != 200 || p.Body != "hello u-carol gold bluebird bearer" {
		t.Fatalf("client_credentials token: %d %q", p.Status, p.Body)
	}

	other, _ := op.p.MintAccessToken("machine", "u-alice", []string{"someone-else"}, time.Hour)
	if p := call(other); p.Status != http.StatusUnauthorized {
		t.Fatalf("token for another audience: %d", p.Status)
	}
	erin, _ := op.p.MintAccessToken("machine", "u-erin", []string{"kgate-api"}, time.Hour)
	if p := call(erin); p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonInactiveMember) {
		t.Fatalf("inactive member's token: %d %q", p.Status, p.Body)
	}
	if p := call("not.a.jwt"); p.Status != http.StatusUnauthorized {
		t.Fatalf("garbage token: %d", p.Status)
	}
}

func TestProviderKeyRotationIsFollowed(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	old, _ := op.p.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	b := newBrowser(t, k)
	if p := b.devLogin(k, op, "u-dave", "/"); p.Body != "hello u-dave silver bluebird session" {
		t.Fatalf("login before rotation: %q", p.Body)
	}
	oldKid := op.p.SigningKeyID()
	if _, err := op.p.RotateKey(); err != nil {
		t.Fatal(err)
	}
	if err := op.p.RemoveKey(oldKid); err != nil {
		t.Fatal(err)
	}
	k.clock.advance(time.Minute) // past the JWKS refetch interval

	// A login whose ID token is signed with the new key: kgate refetches.
	b2 := newBrowser(t, k)
	if p := b2.devLogin(k, op, "u-carol", "/"); p.Body != "hello u-carol gold bluebird session" {
		t.Fatalf("login after rotation: %d %q", p.Status, p.Body)
	}
	fresh, _ := op.p.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	req, _ := http.NewRequest("GET", k.url("/k/v1/records.json"), nil)
	req.Header.Set("Authorization", "Bearer "+fresh)
	if p := b.Do(req); p.Status != 200 {
		t.Fatalf("bearer token with the new key: %d %q", p.Status, p.Body)
	}
	// A key removed from rotation verifies nothing any more.
	req.Header.Set("Authorization", "Bearer "+old)
	if p := b.Do(req); p.Status != http.StatusUnauthorized {
		t.Fatalf("bearer token signed with a removed key: %d %q", p.Status, p.Body)
	}
}

func TestUnknownKeyIDFloodFetchesTheJWKSAtMostOncePerInterval(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	good, _ := op.p.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	req, _ := http.NewRequest("GET", k.url("/k/v1/records.json"), nil)
	req.Header.Set("Authorization", "Bearer "+good)
	b := newBrowser(t, k)
	if p := b.Do(req); p.Status != 200 {
		t.Fatalf("good token: %d", p.Status)
	}
	before := op.jwks.Load()
	k.clock.advance(time.Minute) // one refetch is due
	forger := newForger(t)
	for i := range 50 {
		tok := forger.sign(t, "RS256", forger.kid+string(rune('a'+i%26))+strings.Repeat("x", i), map[string]any{
			"iss": op.p.Issuer(), "sub": "u-alice", "aud": "kgate-api", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
		req.Header.Set("Authorization", "Bearer "+tok)
		if p := b.Do(req); p.Status != http.StatusUnauthorized {
			t.Fatalf("forged kid %d: %d", i, p.Status)
		}
	}
	if n := op.jwks.Load() - before; n > 1 {
		t.Fatalf("50 unknown kids caused %d JWKS fetches, want at most 1", n)
	}
}
