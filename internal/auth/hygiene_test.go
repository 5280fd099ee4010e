package auth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestForgedForwardedHeadersAreNotReflectedInRedirects(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.PostLogoutRedirectURL = "https://portal.example.com/bye"
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	forge := func(req *http.Request) {
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("Forwarded", "host=evil.example;proto=http")
	}
	req, _ := http.NewRequest("GET", k.url("/kgate/login?return=/apps"), nil)
	forge(req)
	p := b.Do(req)
	redirectURI := mustParse(p.Location).Query().Get("redirect_uri")
	if p.Status != http.StatusFound || redirectURI != k.srv.URL+"/kgate/callback" {
		t.Fatalf("login redirect_uri = %q (status %d)", redirectURI, p.Status)
	}
	b.devLogin(k, op, "u-alice", "/")
	req, _ = http.NewRequest("POST", k.url("/kgate/logout"), nil)
	forge(req)
	req.Header.Set("Origin", k.srv.URL)
	p = b.Do(req)
	if strings.Contains(p.Location, "evil.example") || mustParse(p.Location).Query().Get("post_logout_redirect_uri") != "https://portal.example.com/bye" {
		t.Fatalf("logout redirect = %q", p.Location)
	}
	// A page's redirect to login is relative: it names no host at all.
	req, _ = http.NewRequest("GET", k.url("/apps"), nil)
	forge(req)
	if p := newBrowser(t, k).Do(req); !strings.HasPrefix(p.Location, "/kgate/login?") {
		t.Fatalf("login redirect = %q", p.Location)
	}
}

func TestLogoutNeedsPOSTFromTheSameOrigin(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-alice", "/")

	if p := b.Get(k.url("/kgate/logout")); p.Status != http.StatusMethodNotAllowed || p.Header.Get("Allow") != "POST" {
		t.Fatalf("GET logout: %d", p.Status)
	}
	for _, hdr := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "null"},
		{},
	} {
		if p := b.postForm(k.url("/kgate/logout"), nil, hdr); p.Status != http.StatusForbidden {
			t.Fatalf("logout with %v: %d", hdr, p.Status)
		}
	}
	if p := b.Get(k.url("/")); p.Body != "hello u-alice gold acme session" {
		t.Fatalf("refused logouts ended the session: %q", p.Body)
	}
	if p := b.postForm(k.url("/kgate/logout"), nil, map[string]string{"Sec-Fetch-Site": "same-origin"}); p.Status != http.StatusSeeOther {
		t.Fatalf("same-origin logout: %d", p.Status)
	}
	if p := b.Get(k.url("/")); p.Status != http.StatusFound {
		t.Fatalf("after logout: %d %q", p.Status, p.Body)
	}
}

func TestLoginIssuesANewSessionAndEndsThePreLoginOne(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	// An attacker's valid session cookie planted in the victim's browser.
	attacker := newBrowser(t, k)
	attacker.devLogin(k, op, "u-bob", "/")
	planted := attacker.cookie(k, SessionCookie)

	victim := newBrowser(t, k)
	victim.setCookie(k, SessionCookie, planted)
	if p := victim.devLogin(k, op, "u-alice", "/kgate/login?return=%2F"); p.Body != "hello u-alice gold acme session" {
		t.Fatalf("victim's login: %q", p.Body)
	}
	if after := victim.cookie(k, SessionCookie); after == "" || after == planted {
		t.Fatal("login kept the pre-login session cookie")
	}
	if p := attacker.Get(k.url("/k/v1/app.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("the planted session still works: %d %q", p.Status, p.Body)
	}
	// A second login in the same browser gets yet another session.
	first := victim.cookie(k, SessionCookie)
	victim.devLogin(k, op, "u-alice", "/kgate/login?return=%2F")
	if victim.cookie(k, SessionCookie) == first {
		t.Fatal("a second login reused the session")
	}
}

func TestBadSessionCookiesAreRefused(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-alice", "/")
	good := b.cookie(k, SessionCookie)

	for name, v := range map[string]string{
		"tampered":         good[:len(good)/2] + string(good[len(good)/2]^1) + good[len(good)/2+1:],
		"truncated":        good[:len(good)-4],
		"empty":            "",
		"not base64":       "%%%",
		"login cookie":     b.cookie(k, LoginCookie),
		"from another key": mustSealer(t, []byte("another key, 32 bytes long......"), "session cookie").seal(SessionCookie, []byte(`{"s":"x"}`)),
	} {
		b2 := newBrowser(t, k)
		b2.setCookie(k, SessionCookie, v)
		if p := b2.Get(k.url("/k/v1/records.json")); p.Status != http.StatusUnauthorized {
			t.Errorf("%s cookie: %d %q", name, p.Status, p.Body)
		}
	}
	// The same sealed bytes under another cookie name do not open.
	if _, err := k.a.cookieSeal.open(LoginCookie, good); err == nil {
		t.Error("a session cookie opened as a login cookie")
	}
}

func mustSealer(t *testing.T, key []byte, purpose string) *sealer {
	s, err := newSealer([][]byte{key}, purpose)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExpiredSessionsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration
	}{
		{"absolute lifetime", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}}, // active, yet over 2h
		{"idle timeout", []time.Duration{31 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := listenTLS(t)
			op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
			cfg := devConfig(op)
			cfg.SessionLifetime, cfg.IdleTimeout, cfg.RefreshInterval = 2*time.Hour, 30*time.Minute, 24*time.Hour
			k := startKgate(t, srv, cfg)
			b := newBrowser(t, k)
			b.devLogin(k, op, "u-alice", "/")
			var last page
			for _, d := range tc.steps {
				k.clock.advance(d)
				last = b.Get(k.url("/k/v1/records.json"))
			}
			if last.Status != http.StatusUnauthorized {
				t.Fatalf("expired session: %d %q", last.Status, last.Body)
			}
		})
	}
}

func TestIdleTimeoutSlidesWithUse(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.IdleTimeout, cfg.RefreshInterval = 30*time.Minute, 24*time.Hour
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-alice", "/")
	for range 4 { // two hours in 20-minute steps: never idle for 30
		k.clock.advance(20 * time.Minute)
		if p := b.Get(k.url("/")); p.Status != 200 {
			t.Fatalf("active session refused: %d", p.Status)
		}
	}
}

func TestSessionKeyRotation(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	k := startKgate(t, srv, devConfig(op))
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-alice", "/")
	cookie := b.cookie(k, SessionCookie)
	req := &http.Request{Header: http.Header{"Cookie": {SessionCookie + "=" + cookie}}}

	newKey := []byte("a brand new key of 32 bytes.....")
	rotated := k.a.withKeys(t, newKey, testKey)
	if _, err := rotated.readSessionCookie(req); err != nil {
		t.Fatalf("a cookie under the old key should still open: %v", err)
	}
	if _, err := rotated.cookieSeal.open(SessionCookie, rotated.cookieSeal.seal(SessionCookie, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if got := rotated.cookieSeal.seal(SessionCookie, []byte("x")); mustOpenWith(k.a.cookieSeal, got) {
		t.Fatal("the rotated instance still seals with the old key")
	}
	removed := k.a.withKeys(t, newKey)
	if _, err := removed.readSessionCookie(req); err == nil {
		t.Fatal("a cookie under a removed key still opens")
	}
}

func (a *Auth) withKeys(t *testing.T, keys ...[]byte) *Auth {
	cfg := a.cfg
	cfg.SessionKeys = keys
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustOpenWith(s *sealer, v string) bool {
	_, err := s.open(SessionCookie, v)
	return err == nil
}

func TestCookiesStayWithinTheHeaderBudget(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Claims.Attrs = map[string]string{"blob": "blob"}
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)

	// Many parallel logins with the longest return path allowed.
	long := "/" + strings.Repeat("a", MaxReturnLen-1)
	for range 10 {
		b.Get(k.url("/kgate/login?return=" + url.QueryEscape(long)))
	}
	login := b.cookie(k, LoginCookie)
	if len(login) > maxCookieValue || len(k.a.readLogins(reqWith(LoginCookie, login))) == 0 {
		t.Fatalf("login cookie: %d bytes, %d logins", len(login), len(k.a.readLogins(reqWith(LoginCookie, login))))
	}

	// The largest identity: groups and attributes far beyond a cookie.
	huge := map[string]any{"sub": "u-big", "level": "gold", "org": "acme",
		"groups": strings.Split(strings.Repeat("group-with-a-long-name,", 300), ","),
		"blob":   strings.Repeat("x", 20000)}
	id, _, err := k.a.profiles.resolve(context.Background(), "session", op.p.Issuer(), huge)
	if err != nil {
		t.Fatal(err)
	}
	rec := &record{Gen: 1, Iss: op.p.Issuer(), Sub: "u-big", Exp: time.Now().Add(time.Hour).Unix(),
		Due: time.Now().Add(time.Hour).Unix(), Claims: mustJSON(t, huge)}
	if err := k.a.saveRecord(context.Background(), "big", rec, true); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	k.a.writeSessionCookie(w, &sessionCookie{SID: "big", Gen: 1, Iat: time.Now().Unix(), Exp: rec.Exp,
		Seen: time.Now().Unix(), Due: rec.Due, ID: summarize(id)})
	setCookie := w.Result().Cookies()[0]
	if len(setCookie.Value) > maxCookieValue || len(setCookie.String()) > 4096 {
		t.Fatalf("session cookie %d bytes (Set-Cookie %d)", len(setCookie.Value), len(setCookie.String()))
	}
	// Without the summary the identity still comes through, from the record.
	r := reqWith(SessionCookie, setCookie.Value)
	got, err := k.a.Identify(httptest.NewRecorder(), r)
	if err != nil || got.Subject != "u-big" || len(got.Groups) != 300 {
		t.Fatalf("identity from an oversized session: %v, %v", got, err)
	}

	// Both cookies together with a browser's usual headers fit Caddy's
	// 16 KiB request-header limit with room to spare.
	hdr := http.Header{
		"Cookie":          {SessionCookie + "=" + setCookie.Value + "; " + LoginCookie + "=" + login + "; _ga=" + strings.Repeat("g", 200) + "; lang=ja"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"},
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		"Accept-Language": {"ja,en-US;q=0.9,en;q=0.8"},
		"Accept-Encoding": {"gzip, deflate, br, zstd"},
		"Referer":         {k.srv.URL + long},
		"Sec-Ch-Ua":       {`"Chromium";v="140", "Not=A?Brand";v="24"`},
		"Sec-Fetch-Site":  {"same-origin"}, "Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"},
	}
	size := len("GET "+long+" HTTP/1.1\r\nHost: portal.example.com\r\n") + 2
	for name, vs := range hdr {
		for _, v := range vs {
			size += len(name) + 2 + len(v) + 2
		}
	}
	if size >= 16<<10 {
		t.Fatalf("request headers with kgate's largest cookies: %d bytes, want < 16 KiB", size)
	}
}

func reqWith(name, value string) *http.Request {
	r := httptest.NewRequest("GET", "https://portal.example.com/", nil)
	r.AddCookie(&http.Cookie{Name: name, Value: value})
	return r
}

func TestMembersDirectoryDecidesWhoGetsIn(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	dir := demoDirectory()
	cfg := devConfig(op)
	cfg.Directory, cfg.AddPendingMembers = dir, true
	k := startKgate(t, srv, cfg)

	for _, tc := range []struct {
		sub, want string
		status    int
	}{
		{"u-alice", "hello u-alice gold acme session", 200},
		{"u-sam", "hello u-sam staff  session", 200},
		{"u-erin", ReasonInactiveMember, http.StatusForbidden},
		{"u-frank", ReasonPendingMember, http.StatusForbidden},
		{"u-frank", ReasonPendingMember, http.StatusForbidden}, // a second try adds nothing
	} {
		b := newBrowser(t, k)
		p := b.Get(b.devLoginToCallback(k, op, tc.sub, "/"))
		if tc.status == 200 {
			p = b.Chase(p, nil)
		}
		if p.Status != tc.status || !strings.Contains(p.Body, tc.want) {
			t.Fatalf("%s: %d %q", tc.sub, p.Status, p.Body)
		}
		if tc.status != 200 {
			assertNoSessionCookie(t, k, b)
		}
	}
	if len(dir.added) != 1 || dir.added[0].Email != "frank@unknown.example" || dir.added[0].State != MemberPending {
		t.Fatalf("pending members added: %+v", dir.added)
	}
	k.clock.advance(2 * time.Minute) // past the cache: the directory answers "pending" itself
	b := newBrowser(t, k)
	if p := b.Get(b.devLoginToCallback(k, op, "u-frank", "/")); p.Status != http.StatusForbidden || len(dir.added) != 1 {
		t.Fatalf("after the cache expired: %d, %d added", p.Status, len(dir.added))
	}
}

func TestWithoutAddPendingAnUnknownMemberIsRefused(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	dir := demoDirectory()
	cfg := devConfig(op)
	cfg.Directory = dir
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	p := b.Get(b.devLoginToCallback(k, op, "u-frank", "/"))
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonUnknownMember) || len(dir.added) != 0 {
		t.Fatalf("unknown member: %d %q, added %v", p.Status, p.Body, dir.added)
	}
}

func TestAMemberDeactivatedMidSessionIsStoppedByTheRecheck(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	dir := demoDirectory()
	cfg := devConfig(op)
	cfg.Directory, cfg.RefreshInterval = dir, 5*time.Minute
	k := startKgate(t, srv, cfg)
	b := newBrowser(t, k)
	b.devLogin(k, op, "u-bob", "/")
	dir.mu.Lock()
	m := dir.members["email:bob@acme.example"]
	m.State = MemberInactive
	dir.members["email:bob@acme.example"] = m
	dir.mu.Unlock()
	k.clock.advance(6 * time.Minute)
	if p := b.Get(k.url("/")); p.Status != http.StatusForbidden {
		t.Fatalf("deactivated member: %d %q", p.Status, p.Body)
	}
	if p := b.Get(k.url("/k/v1/app.json")); p.Status != http.StatusUnauthorized {
		t.Fatalf("the session should be over: %d", p.Status)
	}
}

func TestDiscoveryIsLazyAndRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there yet
	srv := listenTLS(t)
	k := startKgate(t, srv, Config{Issuer: "http://" + addr + "/", ClientID: "kgate", ClientSecret: "kgate-secret"})
	b := newBrowser(t, k)
	if p := b.Get(k.url("/kgate/login")); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("login with the provider down: %d", p.Status)
	}
	op := startDevIDPAt(t, addr, serverURL(srv)+"/kgate/callback")
	if p := b.Get(k.url("/kgate/login")); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("discovery should wait a moment before trying again: %d", p.Status)
	}
	k.clock.advance(10 * time.Second)
	if p := b.devLogin(k, op, "u-alice", "/"); p.Body != "hello u-alice gold acme session" {
		t.Fatalf("after the provider came up: %d %q", p.Status, p.Body)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Issuer: "https://op.example.com", ClientID: "c", ClientSecret: "s", BaseURL: "https://portal.example.com",
		SessionKeys: [][]byte{testKey}}
	if _, err := New(ok); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, change := range map[string]func(*Config){
		"http base URL":                     func(c *Config) { c.BaseURL = "http://portal.example.com" },
		"http base URL in demo, not local":  func(c *Config) { c.Demo, c.BaseURL = true, "http://portal.example.com" },
		"base URL with a path":              func(c *Config) { c.BaseURL = "https://portal.example.com/x" },
		"http issuer off loopback":          func(c *Config) { c.Issuer = "http://op.example.com" },
		"no client secret":                  func(c *Config) { c.ClientSecret = "" },
		"auto-detected client auth":         func(c *Config) { c.ClientAuth = "auto" },
		"alg none":                          func(c *Config) { c.Algorithms = []string{"none"} },
		"HS256":                             func(c *Config) { c.Algorithms = []string{"RS256", "HS256"} },
		"short key":                         func(c *Config) { c.SessionKeys = [][]byte{[]byte("short")} },
		"no key":                            func(c *Config) { c.SessionKeys = nil },
		"scopes without openid":             func(c *Config) { c.Scopes = []string{"email"} },
		"prefix without slash":              func(c *Config) { c.Prefix = "kgate" },
		"pending without a directory":       func(c *Config) { c.AddPendingMembers = true },
		"lookup by name":                    func(c *Config) { c.LookupBy = "name" },
		"logged-out page on a foreign host": func(c *Config) { c.LoggedOutURL = "https://evil.example/" },
		"clock skew above five minutes":     func(c *Config) { c.ClockSkew = 6 * time.Minute },
	} {
		c := ok
		change(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	demo := ok
	demo.Demo, demo.BaseURL = true, "http://localhost:8080"
	if _, err := New(demo); err != nil {
		t.Errorf("demo on http://localhost: %v", err)
	}
}
