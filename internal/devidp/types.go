package devidp

import (
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// authRequest is a login in progress (op.AuthRequest).
type authRequest struct {
	id, clientID, redirectURI, state, nonce, subject string
	sid                                              string // the provider session the login starts
	scopes, audience                                 []string
	responseType                                     oidc.ResponseType
	responseMode                                     oidc.ResponseMode
	challenge                                        *oidc.CodeChallenge
	created, authTime                                time.Time
	done                                             bool
}

func (r *authRequest) GetID() string                         { return r.id }
func (r *authRequest) GetACR() string                        { return "" }
func (r *authRequest) GetAMR() []string                      { return []string{"user"} }
func (r *authRequest) GetAudience() []string                 { return r.audience }
func (r *authRequest) GetAuthTime() time.Time                { return r.authTime }
func (r *authRequest) GetClientID() string                   { return r.clientID }
func (r *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return r.challenge }
func (r *authRequest) GetNonce() string                      { return r.nonce }
func (r *authRequest) GetRedirectURI() string                { return r.redirectURI }
func (r *authRequest) GetResponseType() oidc.ResponseType    { return r.responseType }
func (r *authRequest) GetResponseMode() oidc.ResponseMode    { return r.responseMode }
func (r *authRequest) GetScopes() []string                   { return r.scopes }
func (r *authRequest) GetState() string                      { return r.state }
func (r *authRequest) GetSubject() string                    { return r.subject }
func (r *authRequest) Done() bool                            { return r.done }

// refreshRequest is what a refresh token stands for (op.RefreshTokenRequest).
type refreshRequest struct{ t *refreshToken }

func (r *refreshRequest) GetAMR() []string             { return r.t.amr }
func (r *refreshRequest) GetAudience() []string        { return r.t.audience }
func (r *refreshRequest) GetAuthTime() time.Time       { return r.t.authTime }
func (r *refreshRequest) GetClientID() string          { return r.t.clientID }
func (r *refreshRequest) GetScopes() []string          { return r.t.scopes }
func (r *refreshRequest) GetSubject() string           { return r.t.subject }
func (r *refreshRequest) SetCurrentScopes(sc []string) { r.t.scopes = sc }

// credentialsRequest is a client_credentials grant acting for a demo user.
type credentialsRequest struct {
	clientID, subject string
	audience, scopes  []string
}

func (r *credentialsRequest) GetSubject() string    { return r.subject }
func (r *credentialsRequest) GetAudience() []string { return r.audience }
func (r *credentialsRequest) GetScopes() []string   { return r.scopes }

// client is a registered relying party (op.Client).
type client struct {
	Client
	idTokenLifetime time.Duration
	issuer          string
}

func (c *client) GetID() string                       { return c.ID }
func (c *client) RedirectURIs() []string              { return c.Client.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.Client.PostLogoutRedirectURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.Client.AuthMethod == "post" {
		return oidc.AuthMethodPost
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	g := []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	if c.ActAsUsers {
		g = append(g, oidc.GrantTypeClientCredentials)
	}
	return g
}
func (c *client) LoginURL(id string) string {
	return strings.TrimSuffix(c.issuer, "/") + "/login?authRequestID=" + url.QueryEscape(id)
}

// AccessTokenType is opaque for what the op package issues (the code and
// refresh grants): those tokens serve userinfo at this provider only. API
// tokens are the client_credentials grant's, which serveToken signs.
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool {
	return strings.HasPrefix(scope, "user:") && c.ActAsUsers
}
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

func localeTag(l string) language.Tag {
	if t, err := language.Parse(l); err == nil {
		return t
	}
	return language.Und
}
