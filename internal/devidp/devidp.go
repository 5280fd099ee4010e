// Package devidp is a small OpenID Provider for `kgate demo` and for tests:
// discovery, JWKS (with key rotation for tests), authorization code with
// PKCE (S256 only), rotating refresh tokens, userinfo, end_session,
// back-channel logout, and a login page where one picks a demo user — no
// passwords. Each login is a provider session, named by the sid claim of
// its ID tokens. The protocol is
// zitadel/oidc's op package; the storage behind it is written here and
// lives in memory. ID tokens name only the client that logged in; API
// access tokens come from the client_credentials grant of an ActAsUsers
// client, answered here as RFC 9068 JWTs (typ at+jwt).
//
// It authenticates nobody: anyone who can reach it can be anyone it knows.
// It is started only by `kgate demo` and by tests, never by a production
// configuration.
package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// Config describes the provider.
type Config struct {
	// Issuer is the provider's URL, for example "http://localhost:9998/".
	Issuer  string
	Clients []Client
	Users   []User
	// Lifetimes; zero takes the default.
	AccessTokenLifetime  time.Duration // default 15m
	IDTokenLifetime      time.Duration // default 15m
	RefreshTokenLifetime time.Duration // default 12h
}

// Client is a registered relying party.
type Client struct {
	ID                     string
	Secret                 string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// AuthMethod at the token endpoint: "basic" (default) or "post".
	AuthMethod string
	// Audience is the "aud" of the access tokens an ActAsUsers client
	// gets (an API audience that kgate accepts bearer tokens for); default
	// the client's own id. Login clients may not have one: their ID tokens
	// name only themselves.
	Audience []string
	// BackchannelLogoutURI is where the provider POSTs a logout token
	// (OpenID Connect Back-Channel Logout 1.0) for each session of the
	// client that ends: at end_session, or through Provider.Logout.
	BackchannelLogoutURI string
	// ActAsUsers lets the client use the client_credentials grant with a
	// scope "user:<sub>" to get an access token (an RFC 9068 JWT, typ
	// at+jwt) for that demo user:
	// how scripts and the Node client tests get bearer tokens without a
	// browser. Demo only, like everything here.
	ActAsUsers bool
}

// User is a demo person. Org, Level and Groups appear as claims of the
// same names in ID tokens, access tokens and userinfo.
type User struct {
	Sub    string
	Email  string
	Name   string // English
	NameJA string // Japanese, shown on the login page
	Org    string
	Level  string
	Groups []string
	Locale string // "ja" or "en"
}

// Provider is the OpenID Provider, an http.Handler.
type Provider struct {
	issuer  string
	op      *op.Provider
	store   *storage
	handler http.Handler
	client  *http.Client // delivers logout tokens
}

// New builds a provider. It listens nowhere: serve it with net/http.
func New(cfg Config) (*Provider, error) {
	iss, err := url.Parse(cfg.Issuer)
	if err != nil || iss.Host == "" || (iss.Scheme != "http" && iss.Scheme != "https") {
		return nil, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL", cfg.Issuer)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AccessTokenLifetime, 15*time.Minute)
	def(&cfg.IDTokenLifetime, 15*time.Minute)
	def(&cfg.RefreshTokenLifetime, 12*time.Hour)
	st, err := newStorage(cfg)
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	o, err := op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: strings.TrimSuffix(cfg.Issuer, "/") + "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       nil,
	}, st, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, err
	}
	p := &Provider{issuer: cfg.Issuer, op: o, store: st, client: &http.Client{Timeout: 10 * time.Second}}
	st.loggedOut = p.deliverLogouts
	st.callbackURL = func(id string) string {
		return op.AuthCallbackURL(o)(op.ContextWithIssuer(context.Background(), cfg.Issuer), id)
	}
	mux := http.NewServeMux()
	mux.Handle("/login", http.HandlerFunc(p.serveLogin))
	mux.Handle("/oauth/token", p.serveToken(o))
	mux.Handle("/logged-out", http.HandlerFunc(serveLoggedOut))
	mux.Handle("/", o)
	p.handler = mux
	if prefix := strings.TrimSuffix(iss.Path, "/"); prefix != "" {
		p.handler = http.StripPrefix(prefix, mux)
	}
	return p, nil
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Issuer returns the issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// RotateKey makes a new RSA key the signing key; the keys before it stay
// published (and so keep verifying) until RemoveKey. It returns the new kid.
func (p *Provider) RotateKey() (string, error) { return p.store.rotateKey() }

// RemoveKey stops publishing a key that no longer signs.
func (p *Provider) RemoveKey(kid string) error { return p.store.removeKey(kid) }

// SigningKeyID returns the kid tokens are signed with now.
func (p *Provider) SigningKeyID() string {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return p.store.signing.id
}

// MintAccessToken signs an access token for the user sub, as the
// client_credentials grant of the registered client clientID would but
// with the given audience and lifetime, for tests that need a bearer token
// without an HTTP round trip.
func (p *Provider) MintAccessToken(clientID, sub string, audience []string, ttl time.Duration) (string, error) {
	p.store.mu.Lock()
	_, known := p.store.clients[clientID]
	p.store.mu.Unlock()
	if !known {
		return "", fmt.Errorf("devidp: no client %q", clientID)
	}
	return p.store.mintAccess(&credentialsRequest{clientID: clientID, subject: sub, audience: audience}, ttl)
}

func newRSAKey() (*signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: randomID()[:16], key: k}, nil
}

func serveLoggedOut(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Signed out of the demo provider. / デモ認証プロバイダーからサインアウトしました。")
}

var errNotFound = errors.New("devidp: not found")

// notFound marks storage misses for zitadel's op package.
type notFound struct{ error }

func (notFound) IsNotFound() {}

// DemoUsers are the people of the demo world (team/DEMO.md): gold, silver
// and staff members, one inactive member, and one person the members
// directory does not know.
func DemoUsers() []User {
	return []User{
		{Sub: "u-alice", Email: "alice@acme.example", Name: "Alice Sato", NameJA: "佐藤アリス", Org: "acme", Level: "gold", Locale: "ja"},
		{Sub: "u-bob", Email: "bob@acme.example", Name: "Bob Suzuki", NameJA: "鈴木ボブ", Org: "acme", Level: "silver", Locale: "ja"},
		{Sub: "u-carol", Email: "carol@bluebird.example", Name: "Carol Tanaka", NameJA: "田中キャロル", Org: "bluebird", Level: "gold", Locale: "en"},
		{Sub: "u-dave", Email: "dave@bluebird.example", Name: "Dave Ito", NameJA: "伊藤デイブ", Org: "bluebird", Level: "silver", Locale: "en"},
		{Sub: "u-erin", Email: "erin@cosmo.example", Name: "Erin Kato", NameJA: "加藤エリン", Org: "cosmo", Level: "silver", Locale: "ja"},
		{Sub: "u-sam", Email: "sam@operator.example", Name: "Sam Yamada", NameJA: "山田サム", Level: "staff", Locale: "ja"},
		{Sub: "u-frank", Email: "frank@unknown.example", Name: "Frank Mori", NameJA: "森フランク", Locale: "en"},
		// Not in the members app either, but of a domain an organization
		// lists: they may sign up (when the demo's sign-up is on).
		{Sub: "u-henry", Email: "henry@acme.example", Name: "Henry Ono", NameJA: "小野ヘンリー", Locale: "en"},
		// In the members app, pending, without an account yet: the staff
		// invited her.
		{Sub: "u-grace", Email: "grace@cosmo.example", Name: "Grace Abe", NameJA: "阿部グレース", Locale: "en"},
	}
}
