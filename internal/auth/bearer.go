package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kgate/kgate/identity"
)

// maxBearerLen refuses absurd tokens before any parsing.
const maxBearerLen = 16 << 10

// TokenError is a bearer token that was sent and refused. It wraps
// ErrNoIdentity; Description says why in words fit for the
// WWW-Authenticate error_description (no token content, no secrets).
type TokenError struct{ Description string }

func (e *TokenError) Error() string {
	return ErrNoIdentity.Error() + ": bearer token refused: " + e.Description
}
func (e *TokenError) Unwrap() error { return ErrNoIdentity }

// Challenge is the WWW-Authenticate value (RFC 6750) for a request that
// err refused: error="invalid_token" and why, when a bearer token was
// sent and refused; the bare challenge when none was.
func Challenge(err error) string {
	const bare = `Bearer realm="kgate"`
	var te *TokenError
	if !errors.As(err, &te) {
		return bare
	}
	// error_description allows printable ASCII but " and \.
	desc := []byte(te.Description)
	for i, c := range desc {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			desc[i] = '?'
		}
	}
	return bare + `, error="invalid_token", error_description="` + string(desc) + `"`
}

func refuseToken(format string, args ...any) error {
	return &TokenError{Description: fmt.Sprintf(format, args...)}
}

// identifyBearer verifies a bearer JWT — signature by a key in the
// provider's JWKS with an allowed algorithm, iss, exp, nbf and iat within
// the clock skew, aud against BearerAudiences — then that it is an access
// token for a client allowed to call the API (checkAccessToken), and maps
// its claims to the same member profile a session would get. Nothing from
// an unverified token is used.
func (a *Auth) identifyBearer(ctx context.Context, raw string) (*identity.Identity, error) {
	if len(a.cfg.BearerAudiences) == 0 {
		return nil, refuseToken("bearer tokens are not accepted here")
	}
	if raw == "" || len(raw) > maxBearerLen {
		return nil, refuseToken("malformed token")
	}
	op, err := a.provider(ctx)
	if err != nil {
		return nil, err
	}
	t, err := op.bearer.Verify(ctx, raw, a.now())
	if err != nil {
		return nil, refuseToken("signature, issuer or format not accepted")
	}
	if !slices.ContainsFunc(t.Audience, func(aud string) bool { return slices.Contains(a.cfg.BearerAudiences, aud) }) {
		return nil, refuseToken("token is for another audience")
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, refuseToken("claims unreadable")
	}
	if err := a.checkCommonClaims(t, claims); err != nil {
		return nil, refuseToken("%v", err)
	}
	if err := a.checkAccessToken(raw, claims); err != nil {
		return nil, refuseToken("%v", err)
	}
	id, _, err := a.profiles.resolve(ctx, "bearer", t.Issuer, claims)
	var fe *ForbiddenError
	if errors.As(err, &fe) && fe.Reason == ReasonEmailTaken {
		// Not a member refused but a token that is not the member's.
		return nil, refuseToken("the token's e-mail address belongs to another account")
	}
	if err != nil {
		return nil, err
	}
	id.Via = "bearer"
	return id, nil
}

// checkAccessToken refuses what a provider signs but is no access token
// for the API: ID tokens (the portal's own, which kgate shows the browser
// at logout), refresh and logout tokens, and tokens issued to the portal's
// client. RFC 9068's typ at+jwt is honoured where the provider uses it and
// required with BearerRequireATJWT; BearerClients, when set, lists the
// clients (client_id, azp) that may call the API. raw's signature has been
// verified, so its header is the provider's.
func (a *Auth) checkAccessToken(raw string, claims map[string]any) error {
	at, err := headerType(raw)
	if err != nil {
		return err
	}
	if a.cfg.BearerRequireATJWT && !at {
		return errors.New("not typed at+jwt")
	}
	if v, ok := claims["typ"]; ok { // Keycloak names its token kinds here
		if s, _ := v.(string); !slices.Contains([]string{"bearer", "jwt", "at+jwt"}, strings.ToLower(s)) {
			return errors.New("not an access token (typ claim)")
		}
	}
	for _, idOnly := range []string{"nonce", "at_hash", "c_hash"} {
		if _, ok := claims[idOnly]; ok {
			return errors.New("an ID token is not an access token")
		}
	}
	var clients []string
	for _, name := range []string{"client_id", "azp"} {
		v, ok := claims[name]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr || s == "" {
			return fmt.Errorf("%s malformed", name)
		}
		if s == a.cfg.ClientID {
			return errors.New("issued to the portal's own client")
		}
		clients = append(clients, s)
	}
	if _, ok := claims["client_id"]; at && !ok {
		return errors.New("at+jwt token without client_id")
	}
	if len(a.cfg.BearerClients) > 0 {
		if len(clients) == 0 {
			return errors.New("names no client")
		}
		for _, c := range clients {
			if !slices.Contains(a.cfg.BearerClients, c) {
				return errors.New("issued to a client that may not call the API")
			}
		}
	}
	return nil
}

// headerType reads the typ header of the compact JWS raw: at reports
// at+jwt (RFC 9068, "application/" optional, any case). An absent typ or
// JWT is accepted as not at+jwt; any other type is refused.
func headerType(raw string) (at bool, err error) {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false, errors.New("header unreadable")
	}
	var hdr map[string]any
	if err := json.Unmarshal(b, &hdr); err != nil {
		return false, errors.New("header unreadable")
	}
	v, ok := hdr["typ"]
	if !ok {
		return false, nil
	}
	s, _ := v.(string)
	switch strings.TrimPrefix(strings.ToLower(s), "application/") {
	case "jwt":
		return false, nil
	case "at+jwt":
		return true, nil
	}
	return false, errors.New("not an access token (typ header)")
}
