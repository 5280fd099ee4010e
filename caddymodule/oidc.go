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
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	ClientAuth   string   `json:"client_auth,omitempty"` // basic (default) or post
	Scopes       []string `json:"scopes,omitempty"`
	UserInfo     bool     `json:"userinfo,omitempty"`

	// BaseURL is the site's external URL (https://partners.example.com);
	// redirects are built from it, never from request headers.
	BaseURL            string   `json:"base_url"`
	Prefix             string   `json:"prefix,omitempty"` // default /kgate/
	PostLogoutRedirect string   `json:"post_logout_redirect,omitempty"`
	LoggedOutURL       string   `json:"logged_out_url,omitempty"`
	AllowedReturnHosts []string `json:"allowed_return_hosts,omitempty"`

	// SessionKeys are base64 keys of 32 bytes or more; the first seals new
	// cookies and every one opens them, so keys can be rotated.
	SessionKeys     []string       `json:"session_keys"`
	SessionLifetime caddy.Duration `json:"session_lifetime,omitempty"`
	IdleTimeout     caddy.Duration `json:"idle_timeout,omitempty"`
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
	BearerRequireATJWT bool     `json:"bearer_require_at_jwt,omitempty"`
	Algorithms         []string `json:"algorithms,omitempty"`
	// ClockSkew is the tolerance on exp, nbf and iat of ID tokens and
	// bearer tokens (default 1m, at most 5m).
	ClockSkew caddy.Duration `json:"clock_skew,omitempty"`

	// TrustUnverifiedEmail takes the e-mail claim as an identity without
	// email_verified true; only for a provider that never sends it.
	TrustUnverifiedEmail bool `json:"trust_unverified_email,omitempty"`

	Claims       Claims            `json:"claims,omitempty"`
	GroupLevels  map[string]string `json:"group_levels,omitempty"`
	DefaultLevel string            `json:"default_level,omitempty"`

	// Demo allows plain HTTP on localhost; `kgate demo` sets it. Never use
	// it in production.
	Demo bool `json:"demo,omitempty"`
}

// Claims names the claims a member profile is read from.
type Claims struct {
	Email    string            `json:"email,omitempty"`
	Name     string            `json:"name,omitempty"`
	Level    string            `json:"level,omitempty"`
	Org      string            `json:"org,omitempty"`
	Groups   string            `json:"groups,omitempty"`
	Lang     string            `json:"lang,omitempty"`
	TimeZone string            `json:"time_zone,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// Members configures the members app kgate looks members up in.
type Members struct {
	// App is the alias of a configured app holding the members.
	App        string         `json:"app"`
	LookupBy   string         `json:"lookup_by,omitempty"` // email (default) or sub
	AddPending bool           `json:"add_pending,omitempty"`
	CacheTTL   caddy.Duration `json:"cache_ttl,omitempty"`
	// Recheck bounds how old the members app's answer behind a session or
	// a bearer request may be (default 1m): a member set inactive loses
	// access within it. It caps CacheTTL.
	Recheck caddy.Duration       `json:"member_recheck,omitempty"`
	Fields  membersconfig.Fields `json:"fields,omitempty"`
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

func (h *Handler) memberDirectory(client *kintone.Client) (auth.MemberDirectory, string, error) {
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
