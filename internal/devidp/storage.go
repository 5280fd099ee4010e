package devidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the provider's memory: clients, users, requests in flight,
// tokens and keys. One mutex guards it all; nothing here is hot.
type storage struct {
	cfg         Config
	callbackURL func(authRequestID string) string

	mu       sync.Mutex
	clients  map[string]*client
	users    map[string]*User
	requests map[string]*authRequest
	codes    map[string]string // code → auth request id
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	sessions map[string]*opSession // by sid
	keys     []*signingKey         // published, oldest first
	signing  *signingKey

	// loggedOut is told of the sessions end_session ended (the provider
	// delivers their logout tokens).
	loggedOut func(ctx context.Context, ended []opSession) error
}

// opSession is one login at the provider: its sid is in every ID token
// issued for it, refreshes included.
type opSession struct {
	sid, subject, clientID string
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.ClientCredentialsStorage  = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

func newStorage(cfg Config) (*storage, error) {
	s := &storage{
		cfg:      cfg,
		clients:  make(map[string]*client),
		users:    make(map[string]*User),
		requests: make(map[string]*authRequest),
		codes:    make(map[string]string),
		access:   make(map[string]*accessToken),
		refresh:  make(map[string]*refreshToken),
		sessions: make(map[string]*opSession),
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || c.Secret == "" {
			return nil, fmt.Errorf("devidp: client %q needs an id and a secret", c.ID)
		}
		switch c.AuthMethod {
		case "", "basic", "post":
		default:
			return nil, fmt.Errorf("devidp: client %q: auth method %q: want basic or post", c.ID, c.AuthMethod)
		}
		if len(c.Audience) > 0 && !c.ActAsUsers {
			return nil, fmt.Errorf("devidp: client %q: Audience names the API of access tokens, which only ActAsUsers clients get; a login client's tokens are for itself", c.ID)
		}
		s.clients[c.ID] = &client{Client: c, idTokenLifetime: cfg.IDTokenLifetime, issuer: cfg.Issuer}
	}
	for _, u := range cfg.Users {
		if u.Sub == "" {
			return nil, fmt.Errorf("devidp: a user without sub")
		}
		s.users[u.Sub] = &u
	}
	key, err := newRSAKey()
	if err != nil {
		return nil, err
	}
	s.keys, s.signing = []*signingKey{key}, key
	return s, nil
}

func randomID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// users returns the users in the order they were configured.
func (s *storage) userList() []User {
	out := make([]User, 0, len(s.cfg.Users))
	for _, u := range s.cfg.Users {
		out = append(out, u)
	}
	return out
}

// --- auth requests and codes ---

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[req.ClientID]; !ok {
		return nil, oidc.ErrInvalidClient()
	}
	now := time.Now()
	for id, r := range s.requests { // forget logins nobody finished
		if now.Sub(r.created) > 30*time.Minute {
			delete(s.requests, id)
		}
	}
	r := &authRequest{
		id: randomID(), created: now, clientID: req.ClientID, redirectURI: req.RedirectURI,
		scopes: req.Scopes, state: req.State, nonce: req.Nonce, responseType: req.ResponseType,
		// The ID token names the client alone: it proves a login to that
		// client and must not pass for an API's access token.
		responseMode: req.ResponseMode, audience: []string{req.ClientID},
		challenge: &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod},
	}
	s.requests[r.id] = r
	return r, nil
}

// completeLogin marks the auth request as done by user sub.
func (s *storage) completeLogin(id, sub string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok || r.done {
		return fmt.Errorf("devidp: no login in progress with that id")
	}
	if _, ok := s.users[sub]; !ok {
		return fmt.Errorf("devidp: no such user")
	}
	r.subject, r.authTime, r.done = sub, time.Now(), true
	r.sid = randomID()
	s.sessions[r.sid] = &opSession{sid: r.sid, subject: sub, clientID: r.clientID}
	return nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return nil, notFound{errNotFound}
	}
	return r, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, notFound{errNotFound}
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code is redeemed: the code dies with
// the request, so a code works once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// --- tokens ---

type accessToken struct {
	id, clientID, subject, refreshID string
	audience, scopes                 []string
	expires                          time.Time
}

type refreshToken struct {
	token, clientID, subject string
	sid                      string // the provider session it belongs to
	audience, scopes         []string
	amr                      []string
	authTime, expires        time.Time
	accessID                 string
}

func clientOf(req op.TokenRequest) string {
	switch r := req.(type) {
	case *authRequest:
		return r.clientID
	case *refreshRequest:
		return r.t.clientID
	case *credentialsRequest:
		return r.clientID
	}
	return ""
}

func (s *storage) newAccess(req op.TokenRequest, refreshID string, expires time.Time) *accessToken {
	t := &accessToken{id: randomID(), clientID: clientOf(req), subject: req.GetSubject(), refreshID: refreshID,
		audience: req.GetAudience(), scopes: req.GetScopes(), expires: expires}
	now := time.Now()
	for id, old := range s.access {
		if now.After(old.expires) {
			delete(s.access, id)
		}
	}
	s.access[t.id] = t
	return t
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccess(req, "", time.Now().Add(s.cfg.AccessTokenLifetime))
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens issues a refresh token at login and rotates
// it at each refresh: the one presented is spent and a new one replaces it.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := &refreshToken{token: randomID(), clientID: clientOf(req), subject: req.GetSubject(),
		audience: req.GetAudience(), scopes: req.GetScopes(), expires: time.Now().Add(s.cfg.RefreshTokenLifetime)}
	if ar, ok := req.(*authRequest); ok {
		rt.authTime, rt.amr, rt.sid = ar.authTime, ar.GetAMR(), ar.sid
	}
	if current != "" {
		old, ok := s.refresh[current]
		if !ok {
			return "", "", time.Time{}, oidc.ErrInvalidGrant()
		}
		delete(s.refresh, current)
		delete(s.access, old.accessID)
		rt.authTime, rt.amr, rt.sid = old.authTime, old.amr, old.sid
	}
	at := s.newAccess(req, rt.token, time.Now().Add(s.cfg.AccessTokenLifetime))
	rt.accessID = at.id
	s.refresh[rt.token] = rt
	return at.id, rt.token, at.expires, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	if !ok || time.Now().After(t.expires) {
		return nil, oidc.ErrInvalidGrant()
	}
	cp := *t
	return &refreshRequest{t: &cp}, nil
}

// TerminateSession answers end_session: what the user holds at the client
// (its access and refresh tokens) stops working, and every provider
// session of the user ends, at every client; those that registered a
// back-channel logout URI are told. A client that cannot be told does not
// hold up the logout.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.mu.Lock()
	for id, t := range s.access {
		if t.subject == userID && t.clientID == clientID {
			delete(s.access, id)
		}
	}
	for tok, t := range s.refresh {
		if t.subject == userID && t.clientID == clientID {
			delete(s.refresh, tok)
		}
	}
	ended := s.endSessionsLocked(userID)
	s.mu.Unlock()
	if s.loggedOut != nil {
		s.loggedOut(ctx, ended)
	}
	return nil
}

// endSessions ends every provider session of sub and revokes the tokens
// issued for them.
func (s *storage) endSessions(sub string) []opSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endSessionsLocked(sub)
}

func (s *storage) endSessionsLocked(sub string) []opSession {
	var ended []opSession
	for sid, o := range s.sessions {
		if o.subject == sub {
			ended = append(ended, *o)
			delete(s.sessions, sid)
		}
	}
	for tok, t := range s.refresh {
		if t.subject == sub && t.sid != "" {
			delete(s.refresh, tok)
			delete(s.access, t.accessID)
		}
	}
	return ended
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.access[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient()
		}
		delete(s.access, tokenOrID)
		return nil
	}
	if t, ok := s.refresh[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient()
		}
		delete(s.refresh, tokenOrID)
		delete(s.access, t.accessID)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.subject, t.token, nil
}

// --- keys ---

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signing, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s *storage) rotateKey() (string, error) {
	k, err := newRSAKey()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	s.signing = k
	return k.id, nil
}

func (s *storage) removeKey(kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signing.id == kid {
		return fmt.Errorf("devidp: key %s still signs; rotate first", kid)
	}
	i := slices.IndexFunc(s.keys, func(k *signingKey) bool { return k.id == kid })
	if i < 0 {
		return fmt.Errorf("devidp: no key %s", kid)
	}
	s.keys = slices.Delete(s.keys, i, i+1)
	return nil
}

// --- clients ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, notFound{errNotFound}
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return fmt.Errorf("devidp: client authentication failed")
	}
	return nil
}

// ClientCredentials authenticates an ActAsUsers client for the
// client_credentials grant.
func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, id, secret); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[id]
	if !c.ActAsUsers {
		return nil, fmt.Errorf("devidp: client may not use client_credentials")
	}
	return c, nil
}

// ClientCredentialsTokenRequest names the user from the "user:<sub>" scope.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[clientID]
	var sub string
	var rest []string
	for _, sc := range scopes {
		if u, ok := strings.CutPrefix(sc, "user:"); ok {
			sub = u
			continue
		}
		rest = append(rest, sc)
	}
	if _, ok := s.users[sub]; !ok {
		return nil, oidc.ErrInvalidScope().WithDescription("name a known demo user with a scope user:<sub>")
	}
	aud := c.Audience
	if len(aud) == 0 {
		aud = []string{clientID}
	}
	return &credentialsRequest{clientID: clientID, subject: sub, audience: aud, scopes: rest}, nil
}

// --- user info ---

func userClaims(u *User) map[string]any {
	m := map[string]any{"email": u.Email, "email_verified": true, "name": u.Name}
	if u.Org != "" {
		m["org"] = u.Org
	}
	if u.Level != "" {
		m["level"] = u.Level
	}
	if len(u.Groups) > 0 {
		m["groups"] = u.Groups
	}
	if u.Locale != "" {
		m["locale"] = u.Locale
	}
	return m
}

func (s *storage) setUserinfo(info *oidc.UserInfo, sub string, scopes []string) error {
	s.mu.Lock()
	u, ok := s.users[sub]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("devidp: no user %q", sub)
	}
	info.Subject = u.Sub
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = u.Email, true
		case oidc.ScopeProfile:
			info.Name = u.Name
			if u.Locale != "" {
				info.Locale = oidc.NewLocale(localeTag(u.Locale))
			}
			if u.Org != "" {
				info.AppendClaims("org", u.Org)
			}
			if u.Level != "" {
				info.AppendClaims("level", u.Level)
			}
			if len(u.Groups) > 0 {
				info.AppendClaims("groups", u.Groups)
			}
		}
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil // replaced by SetUserinfoFromRequest
}

// SetUserinfoFromRequest fills an ID token: the profile claims of the
// scopes and the sid of the provider session it is issued for.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.setUserinfo(info, req.GetSubject(), scopes); err != nil {
		return err
	}
	var sid string
	switch r := req.(type) {
	case *authRequest:
		sid = r.sid
	case *refreshRequest:
		sid = r.t.sid
	}
	if sid != "" {
		info.AppendClaims("sid", sid)
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) || t.subject != subject {
		return fmt.Errorf("devidp: access token invalid or expired")
	}
	return s.setUserinfo(info, subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expires) || !slices.Contains(t.audience, clientID) {
		return fmt.Errorf("devidp: token inactive")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.Expiration = t.scopes, t.clientID, oidc.FromTime(t.expires)
	return nil
}

// GetPrivateClaimsFromScopes puts the profile claims into JWT access
// tokens, so a bearer token carries what an ID token would.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, _ []string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil, nil
	}
	return userClaims(u), nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, fmt.Errorf("devidp: JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return sc != oidc.ScopeOpenID }), nil
}

func (s *storage) Health(context.Context) error { return nil }
