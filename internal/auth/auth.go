// Package auth establishes who is asking: an OpenID Connect relying party
// (authorization code + PKCE) with encrypted cookie sessions backed by a
// SessionStore, bearer JWTs checked against the provider's keys, and member
// profiles from claims and/or the operator's members directory. It hands
// the rest of kgate a *identity.Identity, or says why there is none.
//
// Provisioning is cheap and offline: New checks the configuration and
// builds everything that needs no network. The provider's discovery
// document is fetched on first use (login, callback, bearer token, refresh)
// and, after a failure, again at most every few seconds, so a Caddy config
// loads — and validates — while the provider is briefly down; the requests
// that need it meanwhile get an error the caller answers with 503. Discover
// may be called to warm up.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/kgate/kgate/internal/audit"
)

// ErrNoIdentity means the request carries no usable credentials: no
// session cookie or bearer token, or one that is expired, ended, tampered
// with or otherwise invalid. Pages answer with a redirect to LoginURL, the
// API with 401. Errors that wrap it say which case it was.
var ErrNoIdentity = errors.New("auth: no identity")

// ErrProviderUnavailable wraps failures to reach the OpenID Provider; the
// caller answers 503.
var ErrProviderUnavailable = errors.New("auth: OpenID Provider unavailable")

// ErrDirectoryUnavailable wraps failures to ask the members directory
// (the members app in kintone); the caller answers 503.
var ErrDirectoryUnavailable = errors.New("auth: members directory unavailable")

func noIdentity(why string) error { return fmt.Errorf("%w: %s", ErrNoIdentity, why) }

// Config configures an Auth. Zero durations take the documented defaults.
type Config struct {
	// Issuer is the provider's issuer URL exactly as its discovery document
	// spells it (a trailing slash matters). https, or http on a loopback
	// host (a provider running beside kgate).
	Issuer       string
	ClientID     string
	ClientSecret string
	// ClientAuth is how kgate authenticates at the token endpoint:
	// "basic" (client_secret_basic, the default) or "post"
	// (client_secret_post). It is never auto-detected.
	ClientAuth string
	// Scopes requested at login; default openid, profile, email,
	// offline_access (the last one yields the refresh token that lets a
	// session be re-checked with the provider).
	Scopes []string
	// UserInfo makes kgate call the provider's userinfo endpoint after each
	// login and refresh; its claims fill what the ID token lacks, and its
	// "sub" must equal the ID token's.
	UserInfo bool

	// BaseURL is kgate's public URL ("https://portal.example.com"). The
	// redirect URI (BaseURL + Prefix + "callback") and the origin that
	// state-changing requests must come from are built from it, never from
	// Host or X-Forwarded-* headers.
	BaseURL string
	// Prefix of the login, callback and logout endpoints; default "/kgate/".
	Prefix string
	// PostLogoutRedirectURL is sent to the provider's end_session_endpoint
	// as post_logout_redirect_uri; it must be registered there. Empty sends
	// none (the provider shows its own page).
	PostLogoutRedirectURL string
	// LoggedOutURL is where logout sends the browser when the provider has
	// no end_session_endpoint; default "/".
	LoggedOutURL string
	// AllowedReturnHosts are hosts that a return target after login may
	// name (see CheckReturn); paths on this site are always allowed.
	AllowedReturnHosts []string

	// SessionKeys encrypt cookies and session records; each at least
	// MinKeyLen bytes. The first encrypts; all decrypt. Remove a key to
	// invalidate everything it encrypted.
	SessionKeys [][]byte
	// SessionLifetime is the absolute lifetime of a session; default 12h.
	SessionLifetime time.Duration
	// IdleTimeout ends a session unused for this long; default 1h.
	IdleTimeout time.Duration
	// RefreshInterval is how long a session runs on what the provider said
	// at login before asking again (refresh token, member profile);
	// default 15m.
	RefreshInterval time.Duration
	// LoginTimeout bounds the time between starting a login and its
	// callback; default 10m.
	LoginTimeout time.Duration

	// BearerAudiences: a bearer JWT must name one of them in "aud". Empty
	// turns bearer tokens off.
	BearerAudiences []string
	// BearerRequireATJWT accepts only bearer tokens typed at+jwt (RFC
	// 9068). Turn it on when the provider types its access tokens so:
	// nothing else it signs can then pass for one.
	BearerRequireATJWT bool
	// BearerClients, when set, are the clients (client_id or azp of the
	// token) whose access tokens may call the API. Empty: any client but
	// the portal's own (ClientID), whose tokens never open the API.
	BearerClients []string
	// TrustUnverifiedEmail takes the e-mail claim as an identity even
	// without email_verified true, for providers that never say. Off by
	// default: an address the provider does not vouch for identifies no
	// one. Either way an address stays with the first subject that used it.
	TrustUnverifiedEmail bool
	// Algorithms allowed for ID tokens and bearer tokens; default RS256 and
	// ES256. "none" and HS* are refused.
	Algorithms []string
	// JWKSRefetchInterval is the least time between two fetches of the
	// provider's keys caused by tokens naming unknown keys; default 30s.
	JWKSRefetchInterval time.Duration
	// JWKSMaxAge is how long fetched keys are used before fetching them
	// again; default 1h.
	JWKSMaxAge time.Duration
	// ClockSkew is how far kgate's clock and the provider's may disagree:
	// the tolerance on exp, nbf and iat of ID tokens and bearer tokens
	// alike; default 1m, at most MaxClockSkew.
	ClockSkew time.Duration

	// Claims says where the profile is found in the provider's claims.
	Claims ClaimNames
	// GroupLevels maps group values to levels when the level claim is
	// absent; the first entry with a group the person has wins.
	GroupLevels []GroupLevel
	// DefaultLevel applies when neither claims nor the directory give one.
	// Empty: such a person is refused (ReasonNoLevel).
	DefaultLevel string
	// Directory, when set, must know every person: unknown, inactive or
	// pending members are refused; its level, organization, name, groups
	// and attributes override the claims.
	Directory MemberDirectory
	// LookupBy is ByEmail (default) or BySubject.
	LookupBy string
	// MemberCacheTTL is how long directory answers are reused; default 1m,
	// at most MemberRecheck.
	MemberCacheTTL time.Duration
	// MemberCacheSize bounds the directory cache; default 10000 entries.
	MemberCacheSize int
	// MemberRecheck bounds how old the directory's answer behind an
	// identity may be: a session's member is looked up again at least this
	// often, and bearer tokens never see an older answer, so a member set
	// inactive loses access within it rather than at the next refresh;
	// default 1m.
	MemberRecheck time.Duration
	// AddPendingMembers adds an unknown person to the directory as
	// pending (once); they are still refused until an operator approves.
	AddPendingMembers bool
	// SignUpURL, when set, is where a person the directory does not know
	// is sent after login instead of being refused, with their verified
	// profile in the sign-up cookie (see Applicant).
	SignUpURL string
	// Invitations, when set, takes invite links: a login started at
	// Prefix + "login?invite=<token>" binds its account to the invited
	// member before the member is looked up.
	Invitations Invitations

	// Store keeps the server side of sessions; default a MemoryStore
	// (one instance). Use a RedisStore for several instances.
	Store SessionStore
	// BackchannelLogout answers POST Prefix + "backchannel-logout", where
	// the provider delivers logout tokens (OpenID Connect Back-Channel
	// Logout 1.0). Register that URL at the provider; kgate advertises
	// nothing.
	BackchannelLogout bool
	// Demo allows a plain-http BaseURL on localhost. Never on by default.
	Demo bool
	// HTTPClient for calls to the provider; default one with a 10s timeout.
	HTTPClient *http.Client
	Audit      *audit.Logger
	Logger     *zap.Logger
	// ClientIP names the member's address in audit events; default the
	// connection's. Behind a load balancer the connection is the
	// balancer's, and only the server knows which forwarded address it
	// trusts (Caddy's trusted_proxies).
	ClientIP func(r *http.Request) string
	// ErrorPage renders login, callback and logout failures (status 400,
	// 403, 405 or 503; err is a *ForbiddenError for refused members). The
	// default writes a short plain-text page.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int, err error)
}

// Auth is the relying party. It is safe for concurrent use.
type Auth struct {
	cfg          Config
	origin       string
	redirectURL  string
	sessionName  string
	loginName    string
	cookieSeal   *sealer
	loginSeal    *sealer
	signUpSeal   *sealer
	recordSeal   *sealer
	store        SessionStore
	profiles     *profiles
	audit        *audit.Logger
	log          *zap.Logger
	client       *http.Client
	algs         []string
	now          func() time.Time
	retryAfter   time.Duration // between discovery attempts
	touchEvery   time.Duration // how stale the idle mark in a cookie may get
	refreshGroup singleflight.Group
	opened       openedCookies

	mu      sync.Mutex
	op      *opState
	opErr   error
	opTried time.Time
}

// opState is what discovery yields.
type opState struct {
	provider   *oidc.Provider
	oauth      oauth2.Config
	idTokens   *oidc.IDTokenVerifier
	bearer     *verifiedTokens
	keys       *keySet
	endSession string
}

// Cookie names. The __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so a sibling subdomain cannot plant or overwrite them.
const (
	SessionCookie = "__Host-kgate-session"
	LoginCookie   = "__Host-kgate-login"
)

// MaxClockSkew bounds Config.ClockSkew.
const MaxClockSkew = 5 * time.Minute

var allowedAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// New checks cfg and returns an Auth. It makes no network calls.
func New(cfg Config) (*Auth, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	a := &Auth{
		cfg:         cfg,
		sessionName: SessionCookie,
		loginName:   LoginCookie,
		store:       cfg.Store,
		audit:       cfg.Audit,
		log:         cfg.Logger,
		client:      cfg.HTTPClient,
		algs:        cfg.Algorithms,
		now:         time.Now,
		retryAfter:  5 * time.Second,
		touchEvery:  min(time.Minute, cfg.IdleTimeout/4),
		opened:      openedCookies{max: 4096},
	}
	var err error
	if a.origin, err = originOf(cfg.BaseURL); err != nil {
		return nil, err
	}
	a.redirectURL = strings.TrimSuffix(cfg.BaseURL, "/") + cfg.Prefix + "callback"
	if a.cookieSeal, err = newSealer(cfg.SessionKeys, "session cookie"); err != nil {
		return nil, err
	}
	if a.loginSeal, err = newSealer(cfg.SessionKeys, "login state"); err != nil {
		return nil, err
	}
	if a.recordSeal, err = newSealer(cfg.SessionKeys, "session record"); err != nil {
		return nil, err
	}
	if a.signUpSeal, err = newSealer(cfg.SessionKeys, "sign-up"); err != nil {
		return nil, err
	}
	now := func() time.Time { return a.now() }
	bindingSeal, err := newSealer(cfg.SessionKeys, "e-mail binding")
	if err != nil {
		return nil, err
	}
	a.profiles = &profiles{
		claims:          cfg.Claims,
		groupLevels:     cfg.GroupLevels,
		defaultLevel:    cfg.DefaultLevel,
		trustUnverified: cfg.TrustUnverifiedEmail,
		dir:             cfg.Directory,
		lookupBy:        cfg.LookupBy,
		addPending:      cfg.AddPendingMembers,
		cache:           newTTLCache[*Member](cfg.MemberCacheTTL, cfg.MemberCacheSize, now),
		bindings: &emailBindings{store: cfg.Store, seal: bindingSeal, now: now, log: cfg.Logger,
			cache: newTTLCache[string](cfg.MemberCacheTTL, cfg.MemberCacheSize, now)},
		audit: cfg.Audit,
	}
	return a, nil
}

func (c *Config) setDefaults() error {
	iss, err := url.Parse(c.Issuer)
	if err != nil || iss.Host == "" || (iss.Scheme != "https" && !(iss.Scheme == "http" && isLoopback(iss.Hostname()))) {
		return fmt.Errorf("auth: issuer %q must be an https URL (or http on a loopback host)", c.Issuer)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return errors.New("auth: client_id and client_secret are required")
	}
	switch c.ClientAuth {
	case "":
		c.ClientAuth = "basic"
	case "basic", "post":
	default:
		return fmt.Errorf("auth: client_auth %q: want basic or post", c.ClientAuth)
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || base.Host == "" || base.User != nil || (base.Path != "" && base.Path != "/") || base.RawQuery != "" {
		return fmt.Errorf("auth: base_url %q must be scheme://host[:port]", c.BaseURL)
	}
	if base.Scheme != "https" && !(c.Demo && base.Scheme == "http" && isLoopback(base.Hostname())) {
		return fmt.Errorf("auth: base_url %q must be https (plain http only in demo mode on localhost)", c.BaseURL)
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.Prefix == "" {
		c.Prefix = "/kgate/"
	}
	if !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/") || strings.Contains(c.Prefix, "//") {
		return fmt.Errorf("auth: prefix %q must start and end with /", c.Prefix)
	}
	if c.PostLogoutRedirectURL != "" {
		if u, err := url.Parse(c.PostLogoutRedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("auth: post_logout_redirect_url %q must be absolute", c.PostLogoutRedirectURL)
		}
	}
	if c.LoggedOutURL == "" {
		c.LoggedOutURL = "/"
	}
	if _, err := CheckReturn(c.LoggedOutURL, c.AllowedReturnHosts); err != nil {
		return fmt.Errorf("auth: logged_out_url %q is neither a path here nor on an allowed host", c.LoggedOutURL)
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		return errors.New("auth: scopes must include openid")
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = []string{"RS256", "ES256"}
	}
	for _, alg := range c.Algorithms {
		if !slices.Contains(allowedAlgs, alg) {
			return fmt.Errorf("auth: signing algorithm %q is not allowed", alg)
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SessionLifetime, 12*time.Hour)
	def(&c.IdleTimeout, time.Hour)
	def(&c.RefreshInterval, 15*time.Minute)
	def(&c.LoginTimeout, 10*time.Minute)
	def(&c.JWKSRefetchInterval, 30*time.Second)
	def(&c.JWKSMaxAge, time.Hour)
	def(&c.ClockSkew, time.Minute)
	if c.ClockSkew > MaxClockSkew {
		return fmt.Errorf("auth: clock_skew %v is more than %v: an expired token would live on that long; set the clocks right (NTP) instead", c.ClockSkew, MaxClockSkew)
	}
	def(&c.MemberCacheTTL, time.Minute)
	def(&c.MemberRecheck, time.Minute)
	c.MemberCacheTTL = min(c.MemberCacheTTL, c.MemberRecheck)
	if c.MemberCacheSize <= 0 {
		c.MemberCacheSize = 10000
	}
	c.Claims.defaults()
	switch c.LookupBy {
	case "":
		c.LookupBy = ByEmail
	case ByEmail, BySubject:
	default:
		return fmt.Errorf("auth: lookup_by %q: want email or sub", c.LookupBy)
	}
	if (c.AddPendingMembers || c.SignUpURL != "") && c.Directory == nil {
		return errors.New("auth: adding pending members needs a members directory")
	}
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Origin is the scheme://host[:port] that same-origin requests come from.
func (a *Auth) Origin() string { return a.origin }

// LoginURL is the path that starts a login and comes back to returnTo
// (validated now and again at the callback; an unsafe one becomes "/").
func (a *Auth) LoginURL(returnTo string) string {
	ret, err := CheckReturn(returnTo, a.cfg.AllowedReturnHosts)
	if err != nil {
		ret = "/"
	}
	return a.cfg.Prefix + "login?return=" + url.QueryEscape(ret)
}

// ServeHTTP answers the endpoints under the prefix: GET login, GET
// callback, POST logout and, when configured, POST backchannel-logout.
// Anything else under the prefix is 404.
func (a *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch strings.TrimPrefix(r.URL.Path, a.cfg.Prefix) {
	case "login":
		a.serveLogin(w, r)
	case "callback":
		a.serveCallback(w, r)
	case "logout":
		a.serveLogout(w, r)
	case "backchannel-logout":
		if !a.cfg.BackchannelLogout {
			http.NotFound(w, r)
			return
		}
		a.serveBackchannelLogout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Discover fetches the provider's discovery document now rather than on
// first use.
func (a *Auth) Discover(ctx context.Context) error {
	_, err := a.provider(ctx)
	return err
}

func (a *Auth) provider(ctx context.Context) (*opState, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.op != nil {
		return a.op, nil
	}
	if a.opErr != nil && a.now().Sub(a.opTried) < a.retryAfter {
		return nil, a.opErr
	}
	a.opTried = a.now()
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), a.client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, a.cfg.Issuer)
	if err != nil {
		a.opErr = fmt.Errorf("%w: discovery: %v", ErrProviderUnavailable, err)
		a.log.Warn("OpenID Provider discovery failed", zap.String("issuer", a.cfg.Issuer), zap.Error(err))
		return nil, a.opErr
	}
	var meta struct {
		JWKS       string `json:"jwks_uri"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
		a.opErr = fmt.Errorf("%w: discovery document has no jwks_uri", ErrProviderUnavailable)
		return nil, a.opErr
	}
	ks := &keySet{url: meta.JWKS, client: a.client, minInterval: a.cfg.JWKSRefetchInterval,
		maxAge: a.cfg.JWKSMaxAge, now: func() time.Time { return a.now() }}
	for _, alg := range a.algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(alg))
	}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if a.cfg.ClientAuth == "post" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	a.op = &opState{
		provider: p,
		oauth: oauth2.Config{ClientID: a.cfg.ClientID, ClientSecret: a.cfg.ClientSecret, Endpoint: ep,
			RedirectURL: a.redirectURL, Scopes: a.cfg.Scopes},
		// go-oidc checks exp without leeway and nbf with five minutes of
		// its own; checkTimes applies ClockSkew to both instead.
		idTokens: oidc.NewVerifier(a.cfg.Issuer, ks, &oidc.Config{ClientID: a.cfg.ClientID,
			SupportedSigningAlgs: a.algs, SkipExpiryCheck: true}),
		bearer: newVerifiedTokens(oidc.NewVerifier(a.cfg.Issuer, ks, &oidc.Config{SkipClientIDCheck: true,
			SupportedSigningAlgs: a.algs, SkipExpiryCheck: true}).Verify),
		keys:       ks,
		endSession: meta.EndSession,
	}
	a.opErr = nil
	return a.op, nil
}

// opContext carries kgate's HTTP client to x/oauth2 and go-oidc and
// outlives the request that happened to trigger the call.
func (a *Auth) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, a.client)
	ctx = oidc.ClientContext(ctx, a.client)
	return context.WithTimeout(ctx, 15*time.Second)
}

func (a *Auth) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if a.cfg.ErrorPage != nil {
		a.cfg.ErrorPage(w, r, status, err)
		return
	}
	msg := http.StatusText(status)
	var fe *ForbiddenError
	if errors.As(err, &fe) {
		msg += ": " + fe.Reason
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientIP is the member's address for audit events.
func (a *Auth) clientIP(r *http.Request) string {
	if a.cfg.ClientIP != nil {
		if ip := a.cfg.ClientIP(r); ip != "" {
			return ip
		}
	}
	return remoteIP(r)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
