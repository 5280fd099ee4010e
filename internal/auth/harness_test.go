package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	exstorage "github.com/zitadel/oidc/v3/example/server/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/testbrowser"
)

func TestMain(m *testing.M) {
	// The zitadel example OP logs every request through slog's default.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// testClock is the relying party's clock; tests move it forward instead of
// sleeping.
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// kgate is an Auth behind a TLS test server, with a protected handler that
// answers "hello <sub> <level> <org> <via>" for a known identity.
type kgate struct {
	a      *Auth
	srv    *httptest.Server
	clock  *testClock
	audits *observer.ObservedLogs
}

// listenTLS reserves a loopback listener so the URL is known before the
// configuration is built.
func listenTLS(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	return srv
}

func serverURL(srv *httptest.Server) string { return "https://" + srv.Listener.Addr().String() }

func startKgate(t *testing.T, srv *httptest.Server, cfg Config) *kgate {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	cfg.Audit = audit.New(zap.New(core))
	if cfg.BaseURL == "" {
		cfg.BaseURL = serverURL(srv)
	}
	if cfg.SessionKeys == nil {
		cfg.SessionKeys = [][]byte{testKey}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k := &kgate{a: a, srv: srv, clock: &testClock{}, audits: logs}
	a.now = k.clock.now
	mux := http.NewServeMux()
	mux.Handle(a.cfg.Prefix, a)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Identify(w, r)
		var fe *ForbiddenError
		switch {
		case err == nil:
			fmt.Fprintf(w, "hello %s %s %s %s", id.Subject, id.Level, id.Org, id.Via)
		case errors.Is(err, ErrNoIdentity) && strings.HasPrefix(r.URL.Path, "/k/"):
			http.Error(w, `{"code":"CB_AU01","message":"login required"}`, http.StatusUnauthorized)
		case errors.Is(err, ErrNoIdentity):
			http.Redirect(w, r, a.LoginURL(r.URL.RequestURI()), http.StatusFound)
		case errors.As(err, &fe):
			http.Error(w, "forbidden: "+fe.Reason, http.StatusForbidden)
		default:
			http.Error(w, "unavailable: "+err.Error(), http.StatusServiceUnavailable)
		}
	})
	srv.Config.Handler = mux
	srv.StartTLS()
	return k
}

func (k *kgate) url(path string) string { return k.srv.URL + path }

// auditKinds lists the kinds of audit events so far.
func (k *kgate) auditKinds() []string {
	var out []string
	for _, e := range k.audits.All() {
		out = append(out, e.Message)
	}
	return out
}

// browser is a cookie-keeping client that follows redirects one hop at a
// time, so tests can stop before any hop and look at it.
type browser struct {
	*testbrowser.Browser
	t *testing.T
}

func newBrowser(t *testing.T, k *kgate) *browser {
	// The server's client is shared; each browser copies it with a jar of its own.
	return &browser{Browser: testbrowser.New(t, k.srv.Client()), t: t}
}

type page = testbrowser.Page

func (b *browser) cookie(k *kgate, name string) string { return b.Cookie(k.srv.URL, name) }

func (b *browser) setCookie(k *kgate, name, value string) { b.SetCookie(k.srv.URL, name, value) }

// postForm posts form with the headers in hdr.
func (b *browser) postForm(u string, form url.Values, hdr map[string]string) page {
	b.t.Helper()
	var pairs []string
	for k, v := range hdr {
		pairs = append(pairs, k, v)
	}
	return b.PostForm(u, form, pairs...)
}

func atCallback(u *url.URL) bool { return strings.HasSuffix(u.Path, "/kgate/callback") }

// --- the demo provider ---

type devOP struct {
	p        *devidp.Provider
	srv      *httptest.Server
	refreshs atomic.Int32 // refresh_token grants seen
	jwks     atomic.Int32 // JWKS fetches seen
}

// startDevIDP runs internal/devidp with the demo users and a client
// "kgate" that may redirect to each of callbacks.
func startDevIDP(t *testing.T, callbacks ...string) *devOP {
	t.Helper()
	return startDevIDPAt(t, "127.0.0.1:0", callbacks...)
}

func startDevIDPAt(t *testing.T, addr string, callbacks ...string) *devOP {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String() + "/"
	p, err := devidp.New(devidp.Config{
		Issuer: issuer,
		Clients: []devidp.Client{
			{ID: "kgate", Secret: "kgate-secret", RedirectURIs: callbacks,
				PostLogoutRedirectURIs: []string{"https://portal.example.com/bye"}},
			{ID: "machine", Secret: "machine-secret", ActAsUsers: true, Audience: []string{"kgate-api"}},
		},
		Users:           devidp.DemoUsers(),
		IDTokenLifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	op := &devOP{p: p}
	op.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			op.jwks.Add(1)
		}
		if r.URL.Path == "/oauth/token" && r.Method == "POST" {
			r.ParseForm()
			if r.PostForm.Get("grant_type") == "refresh_token" {
				op.refreshs.Add(1)
			}
		}
		p.ServeHTTP(w, r)
	})}}
	op.srv.Start()
	t.Cleanup(op.srv.Close)
	return op
}

func devConfig(op *devOP) Config {
	return Config{Issuer: op.p.Issuer(), ClientID: "kgate", ClientSecret: "kgate-secret",
		BearerAudiences: []string{"kgate-api"}}
}

var authRequestIDRe = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// devLogin logs in as sub through the demo provider's login page and
// returns the callback URL (not yet visited) and the start page's path.
func (b *browser) devLoginToCallback(k *kgate, op *devOP, sub, start string) string {
	b.t.Helper()
	p := b.Chase(b.Get(k.url(start)), nil)
	m := authRequestIDRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		b.t.Fatalf("expected the demo login page, got %d at %s: %.200s", p.Status, p.URL, p.Body)
	}
	p = b.PostForm(op.p.Issuer()+"login", url.Values{"authRequestID": {m[1]}, "user": {sub}})
	p = b.Chase(p, atCallback)
	if !atCallback(mustParse(p.Location)) {
		b.t.Fatalf("login did not come back to the callback: %d %s %.200s", p.Status, p.Location, p.Body)
	}
	return p.Location
}

func (b *browser) devLogin(k *kgate, op *devOP, sub, start string) page {
	b.t.Helper()
	return b.Chase(b.Get(b.devLoginToCallback(k, op, sub, start)), nil)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// --- the zitadel example provider ---

var exampleClients atomic.Int32

type exampleOP struct {
	srv    *httptest.Server
	issuer string
}

// startExampleOP runs zitadel/oidc's example OP in-process with a web
// client registered for callback; it returns the OP and the client id.
func startExampleOP(t *testing.T, callback string) (*exampleOP, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String() + "/"
	clientID := fmt.Sprintf("web-%d", exampleClients.Add(1))
	exstorage.RegisterClients(exstorage.WebClient(clientID, "secret", callback))
	st := exstorage.NewStorage(exstorage.NewUserStore(issuer))
	router := exampleop.SetupServer(issuer, st, nil, false)
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: router}}
	srv.Start()
	t.Cleanup(srv.Close)
	return &exampleOP{srv: srv, issuer: issuer}, clientID
}

var exampleIDRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

func (b *browser) exampleLogin(k *kgate, op *exampleOP, start string) page {
	b.t.Helper()
	p := b.Chase(b.Get(k.url(start)), nil)
	m := exampleIDRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		b.t.Fatalf("expected the example login page, got %d at %s: %.300s", p.Status, p.URL, p.Body)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(op.issuer, "http://"), "/")
	host = host[:strings.LastIndexByte(host, ':')]
	p = b.postForm(op.issuer+"login/username", url.Values{"id": {m[1]}, "username": {"test-user@" + host},
		"password": {"verysecure"}}, nil)
	return b.Chase(p, nil)
}

// --- a members directory ---

type fakeDirectory struct {
	mu      sync.Mutex
	members map[string]Member // by e-mail or sub
	added   []Member
	lookups int
}

func (d *fakeDirectory) Lookup(_ context.Context, by, value string) (*Member, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if m, ok := d.members[by+":"+value]; ok {
		return &m, nil
	}
	return nil, nil
}

func (d *fakeDirectory) AddPending(_ context.Context, m Member) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.added = append(d.added, m)
	d.members["email:"+m.Email] = m
	return nil
}

// demoDirectory is the members app of team/DEMO.md.
func demoDirectory() *fakeDirectory {
	d := &fakeDirectory{members: map[string]Member{}}
	for _, m := range []Member{
		{Email: "alice@acme.example", Org: "acme", Level: "gold", State: MemberActive},
		{Email: "bob@acme.example", Org: "acme", Level: "silver", State: MemberActive},
		{Email: "carol@bluebird.example", Org: "bluebird", Level: "gold", State: MemberActive},
		{Email: "dave@bluebird.example", Org: "bluebird", Level: "silver", State: MemberActive},
		{Email: "erin@cosmo.example", Org: "cosmo", Level: "silver", State: MemberInactive},
		{Email: "sam@operator.example", Level: "staff", State: MemberActive},
		{Email: "test-user@zitadel.ch", Org: "acme", Level: "gold", State: MemberActive},
	} {
		d.members["email:"+m.Email] = m
	}
	return d
}
