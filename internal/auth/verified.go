package auth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// verifiedTokens remembers bearer tokens whose signature has been checked.
// A partner's system sends the same access token with every call until it
// expires, and checking an RSA signature costs more than the rest of the
// request's identity work: remembering it for a few minutes takes that off
// every call. Only the signature, issuer and algorithm are remembered; exp,
// nbf, iat, audience and the token's kind are judged on every request.
//
// An entry lives verifiedTTL at most, so a key the provider withdraws
// stops opening tokens within that time. Only tokens that passed the check
// enter, so the map cannot be filled with forgeries; it is cleared when it
// reaches maxVerified entries.
type verifiedTokens struct {
	verify func(ctx context.Context, raw string) (*oidc.IDToken, error)
	mu     sync.Mutex
	m      map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	t     *oidc.IDToken
	until time.Time
}

const (
	verifiedTTL = 5 * time.Minute
	maxVerified = 4096
)

func newVerifiedTokens(verify func(ctx context.Context, raw string) (*oidc.IDToken, error)) *verifiedTokens {
	return &verifiedTokens{verify: verify, m: map[[sha256.Size]byte]verifiedToken{}}
}

// Verify returns raw's token when its signature is, or was lately, found
// good.
func (v *verifiedTokens) Verify(ctx context.Context, raw string, now time.Time) (*oidc.IDToken, error) {
	key := sha256.Sum256([]byte(raw))
	v.mu.Lock()
	e, ok := v.m[key]
	v.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.t, nil
	}
	t, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.m) >= maxVerified {
		clear(v.m)
	}
	v.m[key] = verifiedToken{t: t, until: now.Add(verifiedTTL)}
	v.mu.Unlock()
	return t, nil
}
