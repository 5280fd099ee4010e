package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	exstorage "github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The end-to-end tests below run what a partner meets: a browser (a
// cookie-keeping client that stops at every redirect), Caddy with kgate,
// an OpenID Provider in the test process — internal/devidp or zitadel's
// example OP — and the kintone simulator seeded with the partner-portal
// demo world and the shipped policies.

// e2eSite is Caddy with kgate logging partners in through op.
type e2eSite struct {
	t      *testing.T
	base   string
	op     *provider
	sim    *kintonesim.Server
	simURL string
}

// e2eOptions are what a test adds to the oidc and members blocks.
type e2eOptions struct {
	oidc, members string
}

// zitadelMember is the members-app row that makes the zitadel example
// OP's test user (e-mail test-user@zitadel.ch, in its userinfo) a gold
// member of bluebird.
var zitadelMember = map[string]json.RawMessage{
	"email": json.RawMessage(`{"value":"test-user@zitadel.ch"}`),
	"sub":   json.RawMessage(`{"value":""}`),
	"name":  json.RawMessage(`{"value":"Test User"}`),
	"org":   json.RawMessage(`{"value":"bluebird"}`),
	"level": json.RawMessage(`{"value":"gold"}`),
	"state": json.RawMessage(`{"value":"active"}`),
}

// startE2E starts the demo world, the provider that start makes for
// kgate's site URL, and Caddy with kgate between them.
func startE2E(t *testing.T, start func(t *testing.T, site string) *provider, o e2eOptions) *e2eSite {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range seed.Apps {
		if a := &seed.Apps[i]; a.ID == 1 {
			a.Records = append(a.Records, zitadelMember)
		}
	}
	sim, err := kintonesim.New(seed)
	if err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	policies, err := filepath.Abs("../policies")
	if err != nil {
		t.Fatal(err)
	}

	port := freePort()
	base := fmt.Sprintf("http://localhost:%d", port)
	op := start(t, base)
	key := make([]byte, 32)
	rand.Read(key)
	cfg := fmt.Sprintf(`%[1]s {
	route {
		kgate {
			kintone %[2]s
			app members 1 {
				token demo-token-members
			}
			app budget 2 {
				token demo-token-budget
			}
			app documents 3 {
				guest_space 7
				token demo-token-documents
			}
			policy %[3]s
			oidc %[4]s {
				base_url %[1]s
				session_key %[5]s
				demo
				%[6]s
				%[7]s
			}
			members members {
				lookup_by email
				%[8]s
			}
			portal {
				title "パートナーポータル" "Partner Portal"
			}
		}
	}
}
`, base, simSrv.URL, policies, op.issuer, base64.StdEncoding.EncodeToString(key), op.settings, o.oidc, o.members)
	initCaddy(t, port, cfg)
	return &e2eSite{t: t, base: base, op: op, sim: sim, simURL: simSrv.URL}
}

// --- the providers ---

// provider is an OpenID Provider in the test process.
type provider struct {
	name     string
	issuer   string
	settings string // its client in kgate's oidc block
	// signIn fills in the provider's login page p as user and submits it.
	signIn func(b *browser, p page, user string) page
	// signedOut tells whether p is where the provider's end_session
	// leaves the browser.
	signedOut func(site string, p page) bool
	// refreshes counts refresh_token grants the provider has seen.
	refreshes atomic.Int32
	// dev is the demo provider, when it is one.
	dev *devidp.Provider
}

// serveOP runs the provider that build makes for its issuer URL on a
// loopback port, counting the refresh grants it answers.
func serveOP(t *testing.T, op *provider, build func(issuer string) http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	op.issuer = "http://" + l.Addr().String() + "/"
	h := build(op.issuer)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/oauth/token" {
			r.ParseForm()
			if r.PostForm.Get("grant_type") == "refresh_token" {
				op.refreshes.Add(1)
			}
		}
		h.ServeHTTP(w, r)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
}

// startDevIDP runs the demo provider with the demo users, kgate as a
// client that may come back to site/, and a machine client that gets
// bearer tokens for any demo user.
func startDevIDP(t *testing.T, site string) *provider {
	op := &provider{name: "devidp", settings: "client_id kgate\n client_secret kgate-secret\n bearer_audience kgate-api\n post_logout_redirect " + site + "/"}
	serveOP(t, op, func(issuer string) http.Handler {
		p, err := devidp.New(devidp.Config{
			Issuer: issuer,
			Users:  devidp.DemoUsers(),
			Clients: []devidp.Client{
				{ID: "kgate", Secret: "kgate-secret", RedirectURIs: []string{site + "/kgate/callback"},
					PostLogoutRedirectURIs: []string{site + "/"}, Audience: []string{"kgate-api"}},
				{ID: "machine", Secret: "machine-secret", ActAsUsers: true, Audience: []string{"kgate-api"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		op.dev = p
		return p
	})
	op.signIn = func(b *browser, p page, user string) page {
		m := regexp.MustCompile(`name="authRequestID" value="([^"]+)"`).FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			b.t.Fatalf("expected the demo provider's login page, got %d at %s: %.300s", p.status, p.url, p.body)
		}
		return b.postForm(op.issuer+"login", url.Values{"authRequestID": {m[1]}, "user": {user}}, nil)
	}
	op.signedOut = func(site string, p page) bool { // back to the registered post-logout page
		return p.status == http.StatusFound && strings.HasPrefix(p.loc, site+"/?state=")
	}
	return op
}

var zitadelClients atomic.Int32

// startZitadel runs zitadel/oidc's example OP with a web client for kgate.
// The client registry is a package-level map of the example, so each test
// registers a client of its own. Its ID tokens carry no e-mail: kgate
// reads it from userinfo.
func startZitadel(t *testing.T, site string) *provider {
	id := fmt.Sprintf("kgate-%d", zitadelClients.Add(1))
	exstorage.RegisterClients(exstorage.WebClient(id, "secret", site+"/kgate/callback"))
	op := &provider{name: "zitadel", settings: "client_id " + id + "\n client_secret secret\n userinfo"}
	serveOP(t, op, func(issuer string) http.Handler {
		st := exstorage.NewStorage(exstorage.NewUserStore(issuer))
		return exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	})
	op.signIn = func(b *browser, p page, user string) page {
		m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			b.t.Fatalf("expected the example OP's login page, got %d at %s: %.300s", p.status, p.url, p.body)
		}
		return b.postForm(op.issuer+"login/username", url.Values{"id": {m[1]}, "username": {user},
			"password": {"verysecure"}}, nil)
	}
	op.signedOut = func(_ string, p page) bool { // its own page
		return p.status == 200 && strings.Contains(p.body, "signed out")
	}
	return op
}

// zitadelUser is the example OP's built-in user; its user name carries
// the issuer's host.
func zitadelUser(op *provider) string {
	u, _ := url.Parse(op.issuer)
	return "test-user@" + u.Hostname()
}

// --- the browser ---

// browser keeps cookies and takes one redirect at a time, so tests can
// look at every hop.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	url    *url.URL
	loc    string
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: req.URL, loc: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(u string, header ...string) page {
	b.t.Helper()
	return b.send("GET", u, "", "", header...)
}

func (b *browser) postForm(u string, form url.Values, header map[string]string) page {
	b.t.Helper()
	var h []string
	for k, v := range header {
		h = append(h, k, v)
	}
	return b.send("POST", u, "application/x-www-form-urlencoded", form.Encode(), h...)
}

// send makes a request with header name/value pairs.
func (b *browser) send(method, u, contentType, body string, header ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// chase follows redirects from p until a response is not one, or until
// stop says the next hop is one the test takes itself (its URL is then in
// loc, unvisited).
func (b *browser) chase(p page, stop func(*url.URL) bool) page {
	b.t.Helper()
	for i := 0; i < 20 && p.status >= 300 && p.status < 400; i++ {
		next, err := p.url.Parse(p.loc)
		if err != nil {
			b.t.Fatalf("bad Location %q: %v", p.loc, err)
		}
		if stop != nil && stop(next) {
			p.loc = next.String()
			return p
		}
		p = b.get(next.String())
	}
	return p
}

func (b *browser) cookie(site, name string) string {
	u, _ := url.Parse(site)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(site, name, value string) {
	u, _ := url.Parse(site)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/", Secure: true}})
}

func atCallback(u *url.URL) bool { return u.Path == "/kgate/callback" }

// toCallback starts at path, is sent to login and to the provider, signs
// in there as user and returns the provider's redirect to kgate's
// callback, not yet visited.
func (s *e2eSite) toCallback(b *browser, user, path string) string {
	s.t.Helper()
	p := b.chase(b.get(s.base+path), nil)
	p = b.chase(s.op.signIn(b, p, user), atCallback)
	if p.status < 300 || p.status >= 400 || !atCallback(mustURL(s.t, p.loc)) {
		s.t.Fatalf("signing in at %s did not come back to kgate's callback: %d %q %.300s", s.op.name, p.status, p.loc, p.body)
	}
	return p.loc
}

// login signs in as user starting at path and returns the page kgate
// shows afterwards.
func (s *e2eSite) login(b *browser, user, path string) page {
	s.t.Helper()
	return b.chase(b.get(s.toCallback(b, user, path)), nil)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// --- what kintone holds and what kgate answers ---

// budgetIDs asks the simulator itself, with the operator's token, for the
// ids of the budget requests of org: what a member of org may list.
func (s *e2eSite) budgetIDs(org string) []string {
	s.t.Helper()
	q := url.Values{"app": {"2"}, "query": {fmt.Sprintf(`org in (%q) limit 500`, org)}, "fields": {"$id"}}
	req, _ := http.NewRequest("GET", s.simURL+"/k/v1/records.json?"+q.Encode(), nil)
	req.Header.Set("X-Cybozu-API-Token", "demo-token-budget")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Records []kintone.Record }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		s.t.Fatalf("the simulator's own budget list: %d %v", resp.StatusCode, err)
	}
	return sortedIDs(out.Records)
}

func sortedIDs(recs []kintone.Record) []string {
	var ids []string
	for _, r := range recs {
		var id string
		json.Unmarshal(r["$id"].Value, &id)
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// budget lists the budget requests through kgate with b's cookies and the
// given headers; it fails the test unless kgate answers 200.
func (s *e2eSite) budget(b *browser, header ...string) []kintone.Record {
	s.t.Helper()
	p := b.get(s.base+"/k/v1/records.json?app=2&query="+url.QueryEscape("limit 50"), header...)
	if p.status != 200 {
		s.t.Fatalf("budget list through kgate: %d %s", p.status, p.body)
	}
	var out struct{ Records []kintone.Record }
	if err := json.Unmarshal([]byte(p.body), &out); err != nil {
		s.t.Fatalf("budget list through kgate: %v: %.200s", err, p.body)
	}
	return out.Records
}

// checkBudget asserts that recs are exactly org's budget requests, with
// the operator's internal note never shown and the approved amount masked
// unless masked is false.
func (s *e2eSite) checkBudget(recs []kintone.Record, org string, masked bool) {
	s.t.Helper()
	want := s.budgetIDs(org)
	if got := sortedIDs(recs); len(want) == 0 || !slices.Equal(got, want) {
		s.t.Fatalf("listed budget requests %v, want exactly %s's %v", got, org, want)
	}
	for _, r := range recs {
		var o, approved string
		json.Unmarshal(r["org"].Value, &o)
		if o != org {
			s.t.Fatalf("a budget request of %q was listed for %s", o, org)
		}
		if _, ok := r["internal_note"]; ok {
			s.t.Fatal("the internal note reached a partner")
		}
		json.Unmarshal(r["approved_amount"].Value, &approved)
		if masked != (approved == "***") {
			s.t.Fatalf("approved_amount = %q, masked should be %v", approved, masked)
		}
	}
}

// kintoneError decodes kintone's error shape, failing the test if p's
// body is not one.
func kintoneError(t *testing.T, p page) errBody {
	t.Helper()
	if !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d with Content-Type %q, want kintone's JSON error: %.200s", p.status, p.header.Get("Content-Type"), p.body)
	}
	return decodeErr(t, p.body)
}

// --- the tests ---

func bothProviders(t *testing.T, run func(t *testing.T, start func(*testing.T, string) *provider, user, org string, masked bool)) {
	t.Run("devidp", func(t *testing.T) { run(t, startDevIDP, "u-bob", "acme", true) })
	t.Run("zitadel", func(t *testing.T) { run(t, startZitadel, "", "bluebird", false) })
}

func TestE2ELoginListLogout(t *testing.T) {
	bothProviders(t, func(t *testing.T, start func(*testing.T, string) *provider, user, org string, masked bool) {
		s := startE2E(t, start, e2eOptions{})
		if user == "" {
			user = zitadelUser(s.op)
		}
		b := newBrowser(t)

		p := b.get(s.base + "/")
		if p.status != http.StatusFound || p.loc != "/kgate/login?return=%2F" {
			t.Fatalf("the home page without a session: %d → %q, want 302 to login", p.status, p.loc)
		}
		callback := s.toCallback(b, user, "/")
		p = b.get(callback)
		var session *http.Cookie
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == auth.SessionCookie && c.Value != "" {
				session = c
			}
		}
		if p.status/100 != 3 || p.loc != "/" || session == nil || !session.Secure || !session.HttpOnly ||
			session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
			t.Fatalf("callback: %d → %q with session cookie %+v", p.status, p.loc, session)
		}
		if b.cookie(s.base, auth.LoginCookie) != "" {
			t.Error("the login cookie outlived the callback")
		}

		p = b.chase(p, nil)
		if p.status != 200 || !strings.Contains(p.body, `href="/apps/budget"`) || strings.Contains(p.body, `href="/apps/members"`) {
			t.Fatalf("home page after login: %d %.300s", p.status, p.body)
		}
		s.checkBudget(s.budget(b), org, masked)

		old := b.cookie(s.base, auth.SessionCookie)
		p = b.postForm(s.base+"/kgate/logout", nil, map[string]string{"Origin": s.base})
		end := mustURL(t, p.loc)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, s.op.issuer+"end_session?") || end.Query().Get("id_token_hint") == "" {
			t.Fatalf("logout: %d → %q, want the provider's end_session with id_token_hint", p.status, p.loc)
		}
		if b.cookie(s.base, auth.SessionCookie) != "" {
			t.Error("logout left the session cookie in the browser")
		}
		p = b.chase(b.get(p.loc), func(u *url.URL) bool { return "http://"+u.Host == s.base })
		if !s.op.signedOut(s.base, p) {
			t.Fatalf("the provider's end_session ended at %d %q: %.200s", p.status, p.loc, p.body)
		}

		b.setCookie(s.base, auth.SessionCookie, old) // the cookie from before logout, replayed
		p = b.get(s.base + "/k/v1/records.json?app=2")
		if e := kintoneError(t, p); p.status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Fatalf("API with the logged-out cookie: %d %s", p.status, p.body)
		}
		b.setCookie(s.base, auth.SessionCookie, old)
		if p = b.get(s.base + "/apps/budget"); p.status != http.StatusFound || !strings.HasPrefix(p.loc, "/kgate/login?") {
			t.Fatalf("page with the logged-out cookie: %d → %q", p.status, p.loc)
		}
	})
}

func TestE2EASessionPastItsRefreshIntervalIsRefreshedAtTheProvider(t *testing.T) {
	bothProviders(t, func(t *testing.T, start func(*testing.T, string) *provider, user, org string, masked bool) {
		s := startE2E(t, start, e2eOptions{oidc: "refresh_interval 1s"})
		if user == "" {
			user = zitadelUser(s.op)
		}
		b := newBrowser(t)
		s.login(b, user, "/")
		first := b.cookie(s.base, auth.SessionCookie)
		// Within the interval the cookie alone answers; the first request
		// after it redeems the refresh token. Every request on the way must
		// be answered in full.
		for deadline := time.Now().Add(30 * time.Second); s.op.refreshes.Load() == 0; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no refresh reached the provider")
			}
			s.checkBudget(s.budget(b), org, masked)
		}
		if b.cookie(s.base, auth.SessionCookie) == first {
			t.Fatal("the refreshed session kept its old cookie")
		}
		s.checkBudget(s.budget(b), org, masked)
		if p := b.get(s.base + "/"); p.status != 200 || !strings.Contains(p.body, `href="/apps/budget"`) {
			t.Fatalf("home page after the refresh: %d", p.status)
		}
	})
}

// memberRow returns the id of the members-app row with e-mail email.
func (s *e2eSite) memberRow(email string) int64 {
	s.t.Helper()
	q := url.Values{"app": {"1"}, "query": {fmt.Sprintf(`email = %q`, email)}}
	req, _ := http.NewRequest("GET", s.simURL+"/k/v1/records.json?"+q.Encode(), nil)
	req.Header.Set("X-Cybozu-API-Token", "demo-token-members")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Records []kintone.Record }
	json.NewDecoder(resp.Body).Decode(&out)
	if len(out.Records) != 1 {
		s.t.Fatalf("%d member rows for %s", len(out.Records), email)
	}
	id, err := strconv.ParseInt(sortedIDs(out.Records)[0], 10, 64)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

func TestE2EAMemberDeactivatedInKintoneIsRefusedAtTheNextRefresh(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{oidc: "refresh_interval 1s", members: "cache_ttl 1s"})
	b := newBrowser(t)
	s.login(b, "u-bob", "/")
	s.checkBudget(s.budget(b), "acme", true)

	// The operator sets bob inactive in the members app, in kintone.
	if _, err := s.sim.EditRecord(1, s.memberRow("bob@acme.example"), "", map[string]any{"state": map[string]any{"value": "inactive"}}); err != nil {
		t.Fatal(err)
	}
	var p page
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p = b.get(s.base + "/k/v1/records.json?app=2"); p.status != 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob is still served after being set inactive")
		}
	}
	if e := kintoneError(t, p); p.status != http.StatusForbidden || e.Code != "CB_NO02" {
		t.Fatalf("the first request after the refresh: %d %s, want 403 CB_NO02", p.status, p.body)
	}
	if p = b.get(s.base + "/k/v1/records.json?app=2"); p.status != http.StatusUnauthorized {
		t.Fatalf("the refused member's session lives on: %d %s", p.status, p.body)
	}
}

// token gets an access token from the provider's token endpoint with the
// client_credentials grant.
func (op *provider) token(t *testing.T, client, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest("POST", op.issuer+"oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.AccessToken == "" {
		t.Fatalf("client_credentials at %s: %d %v", op.name, resp.StatusCode, err)
	}
	return body.AccessToken
}

func TestE2EBearerTokens(t *testing.T) {
	t.Run("devidp", func(t *testing.T) {
		s := startE2E(t, startDevIDP, e2eOptions{})
		b := newBrowser(t) // no cookies: a script
		bob := s.op.token(t, "machine", "machine-secret", "openid user:u-bob")
		s.checkBudget(s.budget(b, "Authorization", "Bearer "+bob), "acme", true)
		if b.cookie(s.base, auth.SessionCookie) != "" {
			t.Fatal("a bearer call got a session cookie")
		}
		// No cookie rides along with a bearer token, so a POST needs no Origin.
		p := b.send("POST", s.base+"/k/v1/records.json", "application/json", `{"app":2,"query":"limit 50"}`,
			"Authorization", "Bearer "+bob, "X-HTTP-Method-Override", "GET")
		if p.status != 200 {
			t.Fatalf("POST with a bearer token and no Origin: %d %s", p.status, p.body)
		}

		carol := s.op.token(t, "machine", "machine-secret", "openid user:u-carol")
		s.checkBudget(s.budget(b, "Authorization", "Bearer "+carol), "bluebird", false)

		other, err := s.op.dev.MintAccessToken("u-bob", []string{"another-api"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(bob, ".")
		parts[2] = strings.Map(func(r rune) rune { // another signature of the same length
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, parts[2])
		for name, tok := range map[string]string{"another audience": other, "a forged signature": strings.Join(parts, "."), "not a JWT": "abc"} {
			p := b.get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok)
			if e := kintoneError(t, p); p.status != http.StatusUnauthorized || e.Code != "CB_AU01" {
				t.Errorf("%s: %d %s, want 401 CB_AU01", name, p.status, p.body)
			}
		}
		erin := s.op.token(t, "machine", "machine-secret", "openid user:u-erin")
		p = b.get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+erin)
		if e := kintoneError(t, p); p.status != http.StatusForbidden || e.Code != "CB_NO02" {
			t.Fatalf("an inactive member's token: %d %s, want 403 CB_NO02", p.status, p.body)
		}
	})
	t.Run("zitadel", func(t *testing.T) {
		// The example OP's access tokens are opaque (every client it
		// registers has AccessTokenTypeBearer), and kgate verifies bearer
		// tokens as JWTs against the provider's keys: such a token is
		// refused like any other it cannot verify.
		s := startE2E(t, startZitadel, e2eOptions{oidc: "bearer_audience kgate-api"})
		tok := s.op.token(t, "sid1", "verysecret", "openid")
		if strings.Count(tok, ".") == 2 {
			t.Fatalf("the example OP issued a JWT access token (%.20s…): cover it here", tok)
		}
		p := newBrowser(t).get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok)
		if e := kintoneError(t, p); p.status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Fatalf("an opaque access token: %d %s, want 401 CB_AU01", p.status, p.body)
		}
	})
}

func TestE2ERequestsWithoutAValidSession(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	b := newBrowser(t)
	p := b.get(s.base + "/apps/budget?q=" + url.QueryEscape("旅費"))
	if want := "/kgate/login?return=" + url.QueryEscape("/apps/budget?q="+url.QueryEscape("旅費")); p.status != http.StatusFound || p.loc != want {
		t.Fatalf("a page without a session: %d → %q, want 302 → %q", p.status, p.loc, want)
	}
	p = b.get(s.base + "/k/v1/records.json?app=2")
	if e := kintoneError(t, p); p.status != http.StatusUnauthorized || e.Code != "CB_AU01" || !strings.HasPrefix(p.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("the API without credentials: %d %s (WWW-Authenticate %q)", p.status, p.body, p.header.Get("WWW-Authenticate"))
	}

	logged := newBrowser(t)
	s.login(logged, "u-alice", "/")
	cookie := logged.cookie(s.base, auth.SessionCookie)
	tampered := []byte(cookie) // one character of the sealed value changed, still base64
	if i := len(tampered) / 2; tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	random := make([]byte, 200)
	rand.Read(random)
	for name, v := range map[string]string{
		"a tampered session cookie":  string(tampered),
		"a made-up session cookie":   base64.RawURLEncoding.EncodeToString(random),
		"a session cookie truncated": cookie[:len(cookie)-10],
	} {
		b := newBrowser(t)
		b.setCookie(s.base, auth.SessionCookie, v)
		p := b.get(s.base + "/k/v1/records.json?app=2")
		if e := kintoneError(t, p); p.status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Errorf("API with %s: %d %s, want 401 CB_AU01", name, p.status, p.body)
		}
		b.setCookie(s.base, auth.SessionCookie, v)
		if p := b.get(s.base + "/apps/budget"); p.status != http.StatusFound || !strings.HasPrefix(p.loc, "/kgate/login?") {
			t.Errorf("page with %s: %d → %q, want 302 to login", name, p.status, p.loc)
		}
	}
	if len(s.budget(logged)) == 0 { // the genuine cookie still works
		t.Fatal("alice's genuine session lists nothing")
	}
}

func TestE2ECrossSiteRequestsWithASessionAreRefused(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	b := newBrowser(t)
	s.login(b, "u-alice", "/") // gold: may create budget requests
	before := s.budgetIDs("acme")
	create := `{"app":2,"record":{"title":{"value":"e2e request"},"amount":{"value":"1000"}}}`
	for _, hostile := range [][]string{
		{"Origin", "https://evil.example"},
		{"Origin", "null"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", s.base, "Sec-Fetch-Site", "cross-site"},
		{}, // neither: an old browser's form post from anywhere
	} {
		p := b.send("POST", s.base+"/k/v1/record.json", "application/json", create, hostile...)
		if e := kintoneError(t, p); p.status != http.StatusForbidden || e.Code != "CB_NO02" {
			t.Errorf("API create with %v: %d %s, want 403 CB_NO02", hostile, p.status, p.body)
		}
		p = b.send("POST", s.base+"/apps/budget", "application/x-www-form-urlencoded", "title=x", hostile...)
		if p.status != http.StatusForbidden || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("portal POST with %v: %d %s, want the 403 page", hostile, p.status, p.header.Get("Content-Type"))
		}
		p = b.send("POST", s.base+"/kgate/logout", "application/x-www-form-urlencoded", "", hostile...)
		if p.status != http.StatusForbidden {
			t.Errorf("logout with %v: %d, want 403", hostile, p.status)
		}
	}
	if after := s.budgetIDs("acme"); !slices.Equal(after, before) {
		t.Fatalf("refused requests changed kintone: %v → %v", before, after)
	}
	// The same request from kgate's own page goes through, and the session
	// survived the refused logouts.
	p := b.send("POST", s.base+"/k/v1/record.json", "application/json", create, "Origin", s.base, "Sec-Fetch-Site", "same-origin")
	if p.status != 200 || len(s.budgetIDs("acme")) != len(before)+1 {
		t.Fatalf("a same-origin create: %d %s", p.status, p.body)
	}
}

func TestE2EMembersTheMembersAppRefusesGetThe403(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	for user, reason := range map[string]string{"u-erin": "inactive", "u-frank": "not a registered member"} {
		b := newBrowser(t)
		p := s.login(b, user, "/")
		if p.status != http.StatusForbidden || !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s after login: %d %q, want the 403 page", user, p.status, p.header.Get("Content-Type"))
		}
		if b.cookie(s.base, auth.SessionCookie) != "" {
			t.Errorf("%s was given a session", user)
		}
		tok := s.op.token(t, "machine", "machine-secret", "openid user:"+user)
		p = b.get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok, "Accept-Language", "en")
		if e := kintoneError(t, p); p.status != http.StatusForbidden || e.Code != "CB_NO02" || !strings.Contains(p.body, reason) {
			t.Errorf("%s's bearer token: %d %s, want 403 CB_NO02 saying %q", user, p.status, p.body, reason)
		}
	}
}
