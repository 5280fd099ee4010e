package devidp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// serveToken answers the client_credentials grant here and hands every
// other grant to next (the op package). The op package types every JWT it
// signs "JWT"; an API's access token must say at+jwt (RFC 9068) so that
// no ID token can pass for one.
func (p *Provider) serveToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != string(oidc.GrantTypeClientCredentials) {
			next.ServeHTTP(w, r)
			return
		}
		p.serveClientCredentials(w, r)
	})
}

func (p *Provider) serveClientCredentials(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id, err := p.authenticateClient(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	if !p.store.actsAsUsers(id) {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "this client may not use client_credentials")
		return
	}
	req, err := p.store.ClientCredentialsTokenRequest(r.Context(), id, strings.Fields(r.PostForm.Get("scope")))
	if err != nil {
		desc := err.Error()
		var oe *oidc.Error
		if errors.As(err, &oe) {
			desc = oe.Description
		}
		tokenError(w, http.StatusBadRequest, "invalid_scope", desc)
		return
	}
	cr := req.(*credentialsRequest)
	tok, err := p.store.mintAccess(cr, p.store.cfg.AccessTokenLifetime)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", "signing failed")
		return
	}
	resp := map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": int(p.store.cfg.AccessTokenLifetime / time.Second)}
	if len(cr.scopes) > 0 {
		resp["scope"] = strings.Join(cr.scopes, " ")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// authenticateClient checks the client's secret, sent the way the client
// is registered for: an Authorization: Basic header (its parts
// form-encoded, RFC 6749 §2.3.1) or client_id and client_secret in the form.
func (p *Provider) authenticateClient(r *http.Request) (string, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var errID, errSecret error
		id, errID = url.QueryUnescape(id)
		secret, errSecret = url.QueryUnescape(secret)
		if errID != nil || errSecret != nil {
			return "", errors.New("malformed client credentials")
		}
		if r.PostForm.Has("client_secret") {
			return "", errors.New("client credentials sent twice")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if err := p.store.AuthorizeClientIDSecret(r.Context(), id, secret); err != nil {
		return "", errors.New("client authentication failed")
	}
	c, _ := p.store.GetClientByClientID(r.Context(), id)
	if post := c.AuthMethod() == oidc.AuthMethodPost; post == basic {
		return "", errors.New("client authenticated with a method it is not registered for")
	}
	return id, nil
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *storage) actsAsUsers(clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	return ok && c.ActAsUsers
}

// mintAccess registers an access token for req (so userinfo and
// introspection know it) and signs it as RFC 9068 describes: typ at+jwt,
// iss, sub, aud, client_id, iat, exp and jti, with the user's profile
// claims beside them.
func (s *storage) mintAccess(req *credentialsRequest, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[req.subject]
	if !ok {
		return "", fmt.Errorf("devidp: no user %q", req.subject)
	}
	now := time.Now()
	t := s.newAccess(req, "", now.Add(ttl))
	claims := userClaims(u)
	claims["iss"], claims["sub"], claims["aud"], claims["client_id"] = s.cfg.Issuer, u.Sub, req.audience, req.clientID
	claims["iat"], claims["exp"], claims["jti"] = now.Unix(), t.expires.Unix(), t.id
	if len(req.scopes) > 0 {
		claims["scope"] = strings.Join(req.scopes, " ")
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return signJWT(s.signing, "at+jwt", payload)
}

func signJWT(key *signingKey, typ string, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: &jose.JSONWebKey{Key: key.key, KeyID: key.id}}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
