package auth

import (
	"context"
	"slices"

	"github.com/kgate/kgate/internal/gateway"
)

// maxBearerLen refuses absurd tokens before any parsing.
const maxBearerLen = 16 << 10

// identifyBearer verifies a bearer JWT — signature by a key in the
// provider's JWKS with an allowed algorithm, iss, exp, nbf (go-oidc), then
// aud against BearerAudiences, sub and iat — and maps its claims to the
// same member profile a session would get. Nothing from an unverified
// token is used.
func (a *Auth) identifyBearer(ctx context.Context, raw string) (*gateway.Identity, error) {
	if len(a.cfg.BearerAudiences) == 0 {
		return nil, noIdentity("bearer tokens are not accepted here")
	}
	if raw == "" || len(raw) > maxBearerLen {
		return nil, noIdentity("bearer token malformed")
	}
	op, err := a.provider(ctx)
	if err != nil {
		return nil, err
	}
	t, err := op.bearer.Verify(ctx, raw)
	if err != nil {
		return nil, noIdentity("bearer token rejected: " + err.Error())
	}
	if !slices.ContainsFunc(t.Audience, func(aud string) bool { return slices.Contains(a.cfg.BearerAudiences, aud) }) {
		return nil, noIdentity("bearer token is for another audience")
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, noIdentity("bearer token claims unreadable")
	}
	if err := a.checkCommonClaims(t.Subject, t.IssuedAt, claims); err != nil {
		return nil, noIdentity("bearer token rejected: " + err.Error())
	}
	id, err := a.profiles.resolve(ctx, t.Issuer, claims)
	if err != nil {
		return nil, err
	}
	id.Via = "bearer"
	return id, nil
}
