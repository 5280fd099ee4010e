package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// emailBindings remember, per issuer and e-mail address, the subject that
// first used the address. They live in the session store, so every
// instance sharing it (Redis) agrees on who came first; the subject is
// sealed, bound to its key, so the store can neither read nor swap it.
type emailBindings struct {
	store SessionStore
	seal  *sealer
	now   func() time.Time
	log   *zap.Logger
	// confirmed bindings: a binding never changes by itself, so a busy
	// API client need not reach the store on every request.
	cache *ttlCache[string]
}

// bindingLifetime: the store wants an expiry, and a binding should
// outlive every session and every token of its account.
const bindingLifetime = 10 * 365 * 24 * time.Hour

func bindingKey(issuer, email string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + email))
	return "email/" + hex.EncodeToString(sum[:16])
}

// subject returns the subject bound to issuer's address email, binding sub
// to it when none is.
func (b *emailBindings) subject(ctx context.Context, issuer, email, sub string) (string, error) {
	key := bindingKey(issuer, email)
	if bound, _, ok := b.cache.get(key); ok {
		return bound, nil
	}
	bound, err := b.load(ctx, key)
	if errors.Is(err, ErrNotFound) {
		err = b.store.Create(ctx, key, []byte(b.seal.seal(key, []byte(sub))), b.now().Add(bindingLifetime))
		if err == nil {
			bound = sub
		} else if errors.Is(err, ErrExists) { // another request bound it a moment ago
			bound, err = b.load(ctx, key)
		}
	}
	if err != nil {
		return "", fmt.Errorf("auth: session store: %w", err)
	}
	b.cache.put(key, bound)
	return bound, nil
}

func (b *emailBindings) load(ctx context.Context, key string) (string, error) {
	v, err := b.store.Get(ctx, key)
	if err != nil {
		return "", err
	}
	plain, err := b.seal.open(key, string(v))
	if err != nil {
		// Sealed under a session key since removed: nothing can tell whom
		// it named, so the address is bound afresh.
		b.log.Warn("an e-mail binding under a removed session key is dropped", zap.String("key", key))
		if err := b.store.Delete(ctx, key); err != nil {
			return "", err
		}
		return "", ErrNotFound
	}
	return string(plain), nil
}
