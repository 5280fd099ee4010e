package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	"github.com/kgate/kgate/internal/testbrowser"
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
	limits        string // lines of the limits block
	kgate         string // further lines of the kgate block
	// seed, when set, changes the demo world before the simulator starts.
	seed func(*kintonesim.Seed)
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
	if o.seed != nil {
		o.seed(seed)
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
			limits {
				%[9]s
			}
			%[10]s
		}
	}
}
`, base, simSrv.URL, policies, op.issuer, base64.StdEncoding.EncodeToString(key), op.settings, o.oidc, o.members, o.limits, o.kgate)
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
func startDevIDP(t *testing.T, site string) *provider { return startDevIDPWith(t, site, "") }

// startDevIDPWith is startDevIDP with kgate's back-channel logout URI
// registered at the provider ("" for none).
func startDevIDPWith(t *testing.T, site, backchannelURI string) *provider {
	op := &provider{name: "devidp", settings: "client_id kgate\n client_secret kgate-secret\n bearer_audience kgate-api\n post_logout_redirect " + site + "/"}
	serveOP(t, op, func(issuer string) http.Handler {
		p, err := devidp.New(devidp.Config{
			Issuer: issuer,
			Users:  devidp.DemoUsers(),
			Clients: []devidp.Client{
				{ID: "kgate", Secret: "kgate-secret", RedirectURIs: []string{site + "/kgate/callback"},
					PostLogoutRedirectURIs: []string{site + "/"}, BackchannelLogoutURI: backchannelURI},
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
		m := regexp.MustCompile(`name="authRequestID" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil {
			b.Fatalf("expected the demo provider's login page, got %d at %s: %.300s", p.Status, p.URL, p.Body)
		}
		return b.PostForm(op.issuer+"login", url.Values{"authRequestID": {m[1]}, "user": {user}})
	}
	op.signedOut = func(site string, p page) bool { // back to the registered post-logout page
		return p.Status == http.StatusFound && strings.HasPrefix(p.Location, site+"/?state=")
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
		m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(p.Body)
		if p.Status != 200 || m == nil {
			b.Fatalf("expected the example OP's login page, got %d at %s: %.300s", p.Status, p.URL, p.Body)
		}
		return b.PostForm(op.issuer+"login/username", url.Values{"id": {m[1]}, "username": {user},
			"password": {"verysecure"}})
	}
	op.signedOut = func(_ string, p page) bool { // its own page
		return p.Status == 200 && strings.Contains(p.Body, "signed out")
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
type browser = testbrowser.Browser

type page = testbrowser.Page

func newBrowser(t *testing.T) *browser { return testbrowser.New(t, nil) }

func atCallback(u *url.URL) bool { return u.Path == "/kgate/callback" }

// toCallback starts at path, is sent to login and to the provider, signs
// in there as user and returns the provider's redirect to kgate's
// callback, not yet visited.
func (s *e2eSite) toCallback(b *browser, user, path string) string {
	s.t.Helper()
	p := b.Chase(b.Get(s.base+path), nil)
	p = b.Chase(s.op.signIn(b, p, user), atCallback)
	if p.Status < 300 || p.Status >= 400 || !atCallback(mustURL(s.t, p.Location)) {
		s.t.Fatalf("signing in at %s did not come back to kgate's callback: %d %q %.300s", s.op.name, p.Status, p.Location, p.Body)
	}
	return p.Location
}

// login signs in as user starting at path and returns the page kgate
// shows afterwards.
func (s *e2eSite) login(b *browser, user, path string) page {
	s.t.Helper()
	return b.Chase(b.Get(s.toCallback(b, user, path)), nil)
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
	p := b.Get(s.base+"/k/v1/records.json?app=2&query="+url.QueryEscape("limit 50"), append([]string{"X-Requested-With", "XMLHttpRequest"}, header...)...)
	if p.Status != 200 {
		s.t.Fatalf("budget list through kgate: %d %s", p.Status, p.Body)
	}
	var out struct{ Records []kintone.Record }
	if err := json.Unmarshal([]byte(p.Body), &out); err != nil {
		s.t.Fatalf("budget list through kgate: %v: %.200s", err, p.Body)
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
		if masked && (approved != "" || r["approved_amount"].Type != "NUMBER") {
			s.t.Fatalf("approved_amount = %q, want the mask: an empty NUMBER", approved)
		}
	}
}

// kintoneError decodes kintone's error shape, failing the test if p's
// body is not one.
func kintoneError(t *testing.T, p page) errBody {
	t.Helper()
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d with Content-Type %q, want kintone's JSON error: %.200s", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	return decodeErr(t, p.Body)
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

		p := b.Get(s.base + "/")
		if p.Status != http.StatusFound || p.Location != "/kgate/login?return=%2F" {
			t.Fatalf("the home page without a session: %d → %q, want 302 to login", p.Status, p.Location)
		}
		callback := s.toCallback(b, user, "/")
		p = b.Get(callback)
		var session *http.Cookie
		for _, c := range (&http.Response{Header: p.Header}).Cookies() {
			if c.Name == auth.SessionCookie && c.Value != "" {
				session = c
			}
		}
		if p.Status/100 != 3 || p.Location != "/" || session == nil || !session.Secure || !session.HttpOnly ||
			session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
			t.Fatalf("callback: %d → %q with session cookie %+v", p.Status, p.Location, session)
		}
		if b.Cookie(s.base, auth.LoginCookie) != "" {
			t.Error("the login cookie outlived the callback")
		}

		p = b.Chase(p, nil)
		if p.Status != 200 || !strings.Contains(p.Body, `href="/apps/budget"`) || strings.Contains(p.Body, `href="/apps/members"`) {
			t.Fatalf("home page after login: %d %.300s", p.Status, p.Body)
		}
		s.checkBudget(s.budget(b), org, masked)

		old := b.Cookie(s.base, auth.SessionCookie)
		p = b.PostForm(s.base+"/kgate/logout", nil, "Origin", s.base)
		end := mustURL(t, p.Location)
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, s.op.issuer+"end_session?") || end.Query().Get("id_token_hint") == "" {
			t.Fatalf("logout: %d → %q, want the provider's end_session with id_token_hint", p.Status, p.Location)
		}
		if b.Cookie(s.base, auth.SessionCookie) != "" {
			t.Error("logout left the session cookie in the browser")
		}
		p = b.Chase(b.Get(p.Location), func(u *url.URL) bool { return "http://"+u.Host == s.base })
		if !s.op.signedOut(s.base, p) {
			t.Fatalf("the provider's end_session ended at %d %q: %.200s", p.Status, p.Location, p.Body)
		}

		b.SetCookie(s.base, auth.SessionCookie, old) // the cookie from before logout, replayed
		p = b.Get(s.base+"/k/v1/records.json?app=2", "X-Requested-With", "XMLHttpRequest")
		if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Fatalf("API with the logged-out cookie: %d %s", p.Status, p.Body)
		}
		b.SetCookie(s.base, auth.SessionCookie, old)
		if p = b.Get(s.base + "/apps/budget"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") {
			t.Fatalf("page with the logged-out cookie: %d → %q", p.Status, p.Location)
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
		first := b.Cookie(s.base, auth.SessionCookie)
		// Within the interval the cookie alone answers; the first request
		// after it redeems the refresh token. Every request on the way must
		// be answered in full.
		for deadline := time.Now().Add(30 * time.Second); s.op.refreshes.Load() == 0; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no refresh reached the provider")
			}
			s.checkBudget(s.budget(b), org, masked)
		}
		if b.Cookie(s.base, auth.SessionCookie) == first {
			t.Fatal("the refreshed session kept its old cookie")
		}
		s.checkBudget(s.budget(b), org, masked)
		if p := b.Get(s.base + "/"); p.Status != 200 || !strings.Contains(p.Body, `href="/apps/budget"`) {
			t.Fatalf("home page after the refresh: %d", p.Status)
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

func TestE2EAMemberDeactivatedInKintoneIsRefusedByTheRecheck(t *testing.T) {
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
		if p = b.Get(s.base+"/k/v1/records.json?app=2", "X-Requested-With", "XMLHttpRequest"); p.Status != 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob is still served after being set inactive")
		}
	}
	if e := kintoneError(t, p); p.Status != http.StatusForbidden || e.Code != "CB_NO02" {
		t.Fatalf("the first request after the refresh: %d %s, want 403 CB_NO02", p.Status, p.Body)
	}
	if p = b.Get(s.base + "/k/v1/records.json?app=2"); p.Status != http.StatusUnauthorized {
		t.Fatalf("the refused member's session lives on: %d %s", p.Status, p.Body)
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
		if b.Cookie(s.base, auth.SessionCookie) != "" {
			t.Fatal("a bearer call got a session cookie")
		}
		// No cookie rides along with a bearer token, so a POST needs no Origin.
		p := b.Send("POST", s.base+"/k/v1/records.json", "application/json", `{"app":2,"query":"limit 50"}`,
			"Authorization", "Bearer "+bob, "X-HTTP-Method-Override", "GET")
		if p.Status != 200 {
			t.Fatalf("POST with a bearer token and no Origin: %d %s", p.Status, p.Body)
		}

		carol := s.op.token(t, "machine", "machine-secret", "openid user:u-carol")
		s.checkBudget(s.budget(b, "Authorization", "Bearer "+carol), "bluebird", false)

		other, err := s.op.dev.MintAccessToken("machine", "u-bob", []string{"another-api"}, time.Hour)
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
			p := b.Get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok)
			if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" {
				t.Errorf("%s: %d %s, want 401 CB_AU01", name, p.Status, p.Body)
			}
		}
		erin := s.op.token(t, "machine", "machine-secret", "openid user:u-erin")
		p = b.Get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+erin)
		if e := kintoneError(t, p); p.Status != http.StatusForbidden || e.Code != "CB_NO02" {
			t.Fatalf("an inactive member's token: %d %s, want 403 CB_NO02", p.Status, p.Body)
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
		p := newBrowser(t).Get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok)
		if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Fatalf("an opaque access token: %d %s, want 401 CB_AU01", p.Status, p.Body)
		}
	})
}

func TestE2ERequestsWithoutAValidSession(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	b := newBrowser(t)
	p := b.Get(s.base + "/apps/budget?q=" + url.QueryEscape("旅費"))
	if want := "/kgate/login?return=" + url.QueryEscape("/apps/budget?q="+url.QueryEscape("旅費")); p.Status != http.StatusFound || p.Location != want {
		t.Fatalf("a page without a session: %d → %q, want 302 → %q", p.Status, p.Location, want)
	}
	p = b.Get(s.base+"/k/v1/records.json?app=2", "X-Requested-With", "XMLHttpRequest")
	if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" || !strings.HasPrefix(p.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("the API without credentials: %d %s (WWW-Authenticate %q)", p.Status, p.Body, p.Header.Get("WWW-Authenticate"))
	}

	logged := newBrowser(t)
	s.login(logged, "u-alice", "/")
	cookie := logged.Cookie(s.base, auth.SessionCookie)
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
		b.SetCookie(s.base, auth.SessionCookie, v)
		p := b.Get(s.base+"/k/v1/records.json?app=2", "X-Requested-With", "XMLHttpRequest")
		if e := kintoneError(t, p); p.Status != http.StatusUnauthorized || e.Code != "CB_AU01" {
			t.Errorf("API with %s: %d %s, want 401 CB_AU01", name, p.Status, p.Body)
		}
		b.SetCookie(s.base, auth.SessionCookie, v)
		if p := b.Get(s.base + "/apps/budget"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") {
			t.Errorf("page with %s: %d → %q, want 302 to login", name, p.Status, p.Location)
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
		p := b.Send("POST", s.base+"/k/v1/record.json", "application/json", create, append([]string{"X-Requested-With", "XMLHttpRequest"}, hostile...)...)
		if e := kintoneError(t, p); p.Status != http.StatusForbidden || e.Code != "CB_NO02" {
			t.Errorf("API create with %v: %d %s, want 403 CB_NO02", hostile, p.Status, p.Body)
		}
		p = b.Send("POST", s.base+"/apps/budget", "application/x-www-form-urlencoded", "title=x", hostile...)
		if p.Status != http.StatusForbidden || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("portal POST with %v: %d %s, want the 403 page", hostile, p.Status, p.Header.Get("Content-Type"))
		}
		p = b.Send("POST", s.base+"/kgate/logout", "application/x-www-form-urlencoded", "", hostile...)
		if p.Status != http.StatusForbidden {
			t.Errorf("logout with %v: %d, want 403", hostile, p.Status)
		}
	}
	if after := s.budgetIDs("acme"); !slices.Equal(after, before) {
		t.Fatalf("refused requests changed kintone: %v → %v", before, after)
	}
	// The same request from kgate's own page goes through, and the session
	// survived the refused logouts.
	p := b.Send("POST", s.base+"/k/v1/record.json", "application/json", create, "Origin", s.base, "Sec-Fetch-Site", "same-origin", "X-Requested-With", "XMLHttpRequest")
	if p.Status != 200 || len(s.budgetIDs("acme")) != len(before)+1 {
		t.Fatalf("a same-origin create: %d %s", p.Status, p.Body)
	}
}

func TestE2EACrossSiteNavigationCannotUseTheSessionOnTheAPI(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	b := newBrowser(t)
	s.login(b, "u-alice", "/")
	p := b.Get(s.base+"/k/v1/record.json?app=2&id=1", "X-Requested-With", "XMLHttpRequest")
	var out struct{ Record kintone.Record }
	if err := json.Unmarshal([]byte(p.Body), &out); err != nil || p.Status != 200 {
		t.Fatalf("record 1: %d %.200s", p.Status, p.Body)
	}
	var files []struct{ FileKey string }
	json.Unmarshal(out.Record["attachment"].Value, &files)
	if len(files) == 0 {
		t.Fatalf("record 1 has no file: %s", out.Record["attachment"].Value)
	}
	download := s.base + "/k/v1/file.json?fileKey=" + url.QueryEscape(files[0].FileKey)
	// A link on another site opens the download with the cookie alone.
	if p := b.Get(download, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"); p.Status != http.StatusForbidden {
		t.Fatalf("a cross-site navigation downloaded with the session cookie: %d", p.Status)
	}
	if p := b.Get(download); p.Status != http.StatusForbidden {
		t.Fatalf("a session API call without X-Requested-With: %d", p.Status)
	}
	p = b.Get(download, "X-Requested-With", "XMLHttpRequest")
	if p.Status != 200 {
		t.Fatalf("kgate's own page downloading: %d %s", p.Status, p.Body)
	}
	for k, want := range map[string]string{
		"Content-Disposition": "attachment; filename=quote-flyers.txt", "X-Content-Type-Options": "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
	} {
		if got := p.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestE2ELimitsAnswerInKintonesShapeAndEveryAnswerIsNosniff(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{limits: "max_read_body 1KiB\n\t\t\t\tper_member 1"})
	b := newBrowser(t)
	s.login(b, "u-alice", "/")
	xhr := []string{"X-Requested-With", "XMLHttpRequest"}
	big := `{"app":2,"query":"` + strings.Repeat("a", 2048) + `"}`
	p := b.Send("GET", s.base+"/k/v1/records.json", "application/json", big, xhr...)
	if e := kintoneError(t, p); p.Status != http.StatusRequestEntityTooLarge || e.Code != "KGATE_RS01" {
		t.Fatalf("a 2 KiB body on a read with max_read_body 1KiB: %d %s", p.Status, p.Body)
	}
	for name, p := range map[string]page{
		"an API answer":      b.Get(s.base+"/k/v1/records.json?app=2&query=limit+1", xhr...),
		"an API refusal":     p,
		"a portal page":      b.Get(s.base + "/apps/budget"),
		"a 401":              newBrowser(t).Get(s.base + "/k/v1/records.json?app=2"),
		"the login redirect": newBrowser(t).Get(s.base + "/kgate/login"),
	} {
		if got := p.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options %q", name, p.Status, got)
		}
	}
}

func TestE2EMembersTheMembersAppRefusesGetThe403(t *testing.T) {
	s := startE2E(t, startDevIDP, e2eOptions{})
	for user, reason := range map[string]string{"u-erin": "inactive", "u-frank": "not a registered member"} {
		b := newBrowser(t)
		p := s.login(b, user, "/")
		if p.Status != http.StatusForbidden || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s after login: %d %q, want the 403 page", user, p.Status, p.Header.Get("Content-Type"))
		}
		if b.Cookie(s.base, auth.SessionCookie) != "" {
			t.Errorf("%s was given a session", user)
		}
		tok := s.op.token(t, "machine", "machine-secret", "openid user:"+user)
		p = b.Get(s.base+"/k/v1/records.json?app=2", "Authorization", "Bearer "+tok, "Accept-Language", "en")
		if e := kintoneError(t, p); p.Status != http.StatusForbidden || e.Code != "CB_NO02" || !strings.Contains(p.Body, reason) {
			t.Errorf("%s's bearer token: %d %s, want 403 CB_NO02 saying %q", user, p.Status, p.Body, reason)
		}
	}
}
