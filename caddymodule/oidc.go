package caddymodule

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/members"
	"github.com/kgate/kgate/membersconfig"
)

// OIDC configures login through an OpenID Provider, sessions and bearer
// tokens. Secrets (client secret, session keys) may be placeholders such as
// {env.KGATE_SESSION_KEY}.
type OIDC struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from there.
	Issuer string `json:"issuer"`
	// ClientID is kgate's client id at the provider.
	ClientID string `json:"client_id"`
	// ClientSecret is kgate's client secret (kgate is a confidential
	// client).
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientAuth is how kgate authenticates at the token endpoint: "basic"
	// (client_secret_basic, the default) or "post" (client_secret_post).
	ClientAuth string `json:"client_auth,omitempty"`
	// Scopes requested at login (default openid, profile, email,
	// offline_access: the last yields the refresh token that lets a
	// session be re-checked with the provider).
	Scopes []string `json:"scopes,omitempty"`
	// UserInfo calls the provider's userinfo endpoint after each login and
	// refresh; its claims fill what the ID token lacks.
	UserInfo bool `json:"userinfo,omitempty"`

	// BaseURL is the site's external URL (https://partners.example.com);
	// redirects are built from it, never from request headers.
	BaseURL string `json:"base_url"`
	// Prefix is the path of the login, callback and logout endpoints
	// (default /kgate/).
	Prefix string `json:"prefix,omitempty"`
	// PostLogoutRedirect is sent to the provider's end-session endpoint as
	// post_logout_redirect_uri, and must be registered there; empty sends
	// none (the provider shows its own page).
	PostLogoutRedirect string `json:"post_logout_redirect,omitempty"`
	// LoggedOutURL is where logout sends the browser when the provider has
	// no end-session endpoint (default /).
	LoggedOutURL string `json:"logged_out_url,omitempty"`
	// AllowedReturnHosts are hosts a return target after login may name;
	// paths on this site are always allowed.
	AllowedReturnHosts []string `json:"allowed_return_hosts,omitempty"`

	// SessionKeys are base64 keys of 32 bytes or more; the first seals new
	// cookies and every one opens them, so keys can be rotated.
	SessionKeys []string `json:"session_keys"`
	// SessionLifetime is the absolute lifetime of a session (default 12h).
	SessionLifetime caddy.Duration `json:"session_lifetime,omitempty"`
	// IdleTimeout ends a session unused for this long (default 1h).
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`
	// RefreshInterval is how long a session runs on what the provider
	// said at login before asking again: refresh token, member profile
	// (default 15m).
	RefreshInterval caddy.Duration `json:"refresh_interval,omitempty"`
	// SessionStore is "memory" (default) or a redis:// URL shared by every
	// instance.
	SessionStore string `json:"session_store,omitempty"`
	// BackchannelLogout answers logout tokens the provider POSTs to
	// Prefix + "backchannel-logout" (OpenID Connect Back-Channel Logout
	// 1.0); register that URL at the provider.
	BackchannelLogout bool `json:"backchannel_logout,omitempty"`

	// BearerAudiences turn on Authorization: Bearer for these audiences.
	BearerAudiences []string `json:"bearer_audiences,omitempty"`
	// BearerClients are the clients (client_id or azp) whose access
	// tokens may call the API; empty means any client but the portal's.
	BearerClients []string `json:"bearer_clients,omitempty"`
	// BearerRequireATJWT accepts only access tokens typed at+jwt (RFC
	// 9068); set it when the provider types its access tokens so.
	BearerRequireATJWT bool `json:"bearer_require_at_jwt,omitempty"`
	// Algorithms are the signature algorithms allowed for ID tokens and
	// bearer tokens (default RS256 and ES256; "none" and HS* are refused).
	Algorithms []string `json:"algorithms,omitempty"`
	// ClockSkew is the tolerance on exp, nbf and iat of ID tokens and
	// bearer tokens (default 1m, at most 5m).
	ClockSkew caddy.Duration `json:"clock_skew,omitempty"`

	// TrustUnverifiedEmail takes the e-mail claim as an identity without
	// email_verified true; only for a provider that never sends it.
	TrustUnverifiedEmail bool `json:"trust_unverified_email,omitempty"`

	// Claims names the claims the member profile is read from.
	Claims Claims `json:"claims,omitempty"`
	// GroupLevels maps group values to levels when the level claim is
	// absent; the first group the person has wins.
	GroupLevels map[string]string `json:"group_levels,omitempty"`
	// DefaultLevel applies when neither the claims nor the members app
	// give a level; empty, such a person is refused.
	DefaultLevel string `json:"default_level,omitempty"`

	// Demo allows plain HTTP on localhost; `kgate demo` sets it. Never use
	// it in production.
	Demo bool `json:"demo,omitempty"`
}

// Claims names the claims a member profile is read from.
type Claims struct {
	// Email is the claim holding the e-mail address (default email).
	Email string `json:"email,omitempty"`
	// Name is the claim holding the display name (default name).
	Name string `json:"name,omitempty"`
	// Level is the claim holding the member level (default level).
	Level string `json:"level,omitempty"`
	// Org is the claim holding the organization (default org).
	Org string `json:"org,omitempty"`
	// Groups is the claim holding the groups (default groups).
	Groups string `json:"groups,omitempty"`
	// Lang is the claim holding the preferred language (default locale).
	Lang string `json:"lang,omitempty"`
	// TimeZone is the claim holding the IANA time zone (default
	// zoneinfo).
	TimeZone string `json:"time_zone,omitempty"`
	// Attrs maps attribute names, which policies see in
	// input.user.attrs, to the claims holding them. A claim name that is
	// no claim is tried as a dotted path into nested objects
	// ("realm_access.roles"), as are the names above.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Members configures the members app kgate looks members up in.
type Members struct {
	// App is the alias of a configured app holding the members.
	App string `json:"app"`
	// LookupBy is how a person is found in the app: by "email" (the
	// default) or by the provider's "sub".
	LookupBy string `json:"lookup_by,omitempty"`
	// AddPending adds a person the app does not know as a pending member,
	// for an operator to approve in kintone; the person is refused until
	// then.
	AddPending bool `json:"add_pending,omitempty"`
	// CacheTTL keeps the app's answers for this long (capped by Recheck).
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`
	// Recheck bounds how old the members app's answer behind a session or
	// a bearer request may be (default 1m): a member set inactive loses
	// access within it. It caps CacheTTL.
	Recheck caddy.Duration `json:"member_recheck,omitempty"`
	// Fields are the field codes of the members app (defaults: email,
	// sub, name, org, level, state).
	Fields membersconfig.Fields `json:"fields,omitempty"`
	// SignUp, when set, offers a person the app does not know a sign-up
	// page instead of a refusal; the application becomes a pending
	// record for staff to approve or refuse. Off by default.
	SignUp *membersconfig.SignUp `json:"signup,omitempty"`
	// Invite, when set, has kgate e-mail a single-use invite link to
	// each member staff mark for invitation. Off by default.
	Invite *membersconfig.Invite `json:"invite,omitempty"`
	// InviteTTL is how long an invite link holds (default 7 days).
	InviteTTL caddy.Duration `json:"invite_ttl,omitempty"`
	// PollInterval is how often kgate asks the app for sign-up
	// decisions and invitations to e-mail (default 1m).
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
}

// sessionStores keeps in-memory session stores across config reloads, so
// that reloading Caddy does not log everyone out.
var sessionStores = caddy.NewUsagePool()

type pooledStore struct{ auth.SessionStore }

func (pooledStore) Destruct() error { return nil }

// newAuth builds the auth part of kgate from the OIDC and members settings.
func (h *Handler) newAuth(ctx caddy.Context, repl *caddy.Replacer, client *kintone.Client) (*auth.Auth, error) {
	o := h.OIDC
	keys := make([][]byte, 0, len(o.SessionKeys))
	for i, k := range o.SessionKeys {
		k = repl.ReplaceKnown(k, "")
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			if b, err = base64.RawURLEncoding.DecodeString(k); err != nil {
				return nil, fmt.Errorf("oidc: session key %d is not base64 (make one with `openssl rand -base64 32`)", i+1)
			}
		}
		keys = append(keys, b)
	}
	store, err := h.sessionStore(repl)
	if err != nil {
		return nil, err
	}
	cfg := auth.Config{
		Issuer: repl.ReplaceKnown(o.Issuer, ""), ClientID: repl.ReplaceKnown(o.ClientID, ""),
		ClientSecret: repl.ReplaceKnown(o.ClientSecret, ""), ClientAuth: o.ClientAuth, Scopes: o.Scopes, UserInfo: o.UserInfo,
		BaseURL: repl.ReplaceKnown(o.BaseURL, ""), Prefix: o.Prefix,
		PostLogoutRedirectURL: repl.ReplaceKnown(o.PostLogoutRedirect, ""), LoggedOutURL: o.LoggedOutURL,
		AllowedReturnHosts: o.AllowedReturnHosts,
		SessionKeys:        keys, SessionLifetime: time.Duration(o.SessionLifetime), IdleTimeout: time.Duration(o.IdleTimeout),
		RefreshInterval: time.Duration(o.RefreshInterval), Store: store, BackchannelLogout: o.BackchannelLogout,
		BearerAudiences: o.BearerAudiences, BearerClients: o.BearerClients, BearerRequireATJWT: o.BearerRequireATJWT,
		Algorithms: o.Algorithms, ClockSkew: time.Duration(o.ClockSkew),
		Claims: auth.ClaimNames{Email: o.Claims.Email, Name: o.Claims.Name, Level: o.Claims.Level, Org: o.Claims.Org,
			Groups: o.Claims.Groups, Lang: o.Claims.Lang, TimeZone: o.Claims.TimeZone, Attrs: o.Claims.Attrs},
		DefaultLevel: o.DefaultLevel, TrustUnverifiedEmail: o.TrustUnverifiedEmail,
		Demo:   o.Demo,
		Audit:  h.audit,
		Logger: h.logger.Named("auth"),
		// Caddy's client address honours the server's trusted_proxies.
		ClientIP: func(r *http.Request) string {
			ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
			return ip
		},
	}
	for group, level := range o.GroupLevels {
		cfg.GroupLevels = append(cfg.GroupLevels, auth.GroupLevel{Group: group, Level: level})
	}
	if h.Members != nil {
		dir, by, err := h.memberDirectory(client)
		if err != nil {
			return nil, err
		}
		cfg.Directory, cfg.LookupBy = dir, by
		cfg.AddPendingMembers, cfg.MemberCacheTTL = h.Members.AddPending, time.Duration(h.Members.CacheTTL)
		cfg.MemberRecheck = time.Duration(h.Members.Recheck)
		if err := h.memberLifecycle(ctx, repl, dir, &cfg); err != nil {
			return nil, err
		}
	}
	if h.portal != nil {
		cfg.ErrorPage = func(w http.ResponseWriter, r *http.Request, status int, err error) {
			h.portal.ServeError(w, r, status, forbiddenReason(err)...)
		}
	}
	a, err := auth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	go func() {
		if err := a.Discover(ctx); err != nil {
			h.logger.Warn("the OpenID Provider could not be reached yet; kgate will retry", zap.Error(err))
		}
	}()
	return a, nil
}

func (h *Handler) sessionStore(repl *caddy.Replacer) (auth.SessionStore, error) {
	spec := repl.ReplaceKnown(h.OIDC.SessionStore, "")
	if spec == "" || spec == "memory" {
		v, _, err := sessionStores.LoadOrNew("memory", func() (caddy.Destructor, error) {
			return pooledStore{auth.NewMemoryStore()}, nil
		})
		if err != nil {
			return nil, err
		}
		return v.(pooledStore).SessionStore, nil
	}
	client, err := h.redisClient(repl)
	if err != nil {
		return nil, err
	}
	return auth.NewRedisStore(client, "kgate:session:"), nil
}

func (h *Handler) memberDirectory(client *kintone.Client) (*members.Directory, string, error) {
	m := h.Members
	for _, a := range h.Apps {
		if a.Alias == m.App {
			by := auth.ByEmail
			if m.LookupBy == "sub" {
				by = auth.BySubject
			}
			return members.New(client, a.ID, a.GuestSpace, a.Tokens, m.Fields), by, nil
		}
	}
	return nil, "", fmt.Errorf("members: app %q is not among the configured apps (add `app %s <id> { token … }`)", m.App, m.App)
}

func forbiddenReason(err error) []string {
	if fe, ok := err.(*auth.ForbiddenError); ok {
		return []string{fe.Reason}
	}
	return nil
}

// authSource adapts auth to the IdentitySource the handler uses.
type authSource struct{ a *auth.Auth }

func (s authSource) Identify(w http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	id, err := s.a.Identify(w, r)
	if errors.Is(err, auth.ErrNoIdentity) {
		// Keep auth's error beside ours: it says whether a bearer token
		// was refused, and why (the API's WWW-Authenticate).
		return nil, fmt.Errorf("%w: %w", ErrNoIdentity, err)
	}
	return id, err
}
