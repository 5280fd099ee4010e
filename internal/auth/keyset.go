package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// keySet is the provider's JWKS as an oidc.KeySet, shared by ID-token and
// bearer-token verification. Unlike go-oidc's RemoteKeySet it bounds how
// often the JWKS is fetched: a token with an unknown kid triggers a refetch
// only when the last fetch is older than minInterval, so a flood of forged
// kids costs the provider at most one request per interval. Keys older than
// maxAge are refetched too, so a key the provider removed stops verifying
// even if no new kid shows up.
type keySet struct {
	url         string
	client      *http.Client
	algs        []jose.SignatureAlgorithm
	minInterval time.Duration
	maxAge      time.Duration
	now         func() time.Time

	mu        sync.Mutex
	keys      []jose.JSONWebKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last attempt, successful or not
	fetching  chan struct{}
	fetches   int // attempts so far (for tests and metrics)
}

const maxJWKSBytes = 1 << 20

var errNoKey = errors.New("auth: no key in the provider's JWKS verifies this token")

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, k.algs)
	if err != nil {
		return nil, fmt.Errorf("auth: malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("auth: token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := k.current(ctx, false)
	if err != nil {
		return nil, err
	}
	if p, ok := verifyWith(jws, keys, kid); ok {
		return p, nil
	}
	if keys, err = k.current(ctx, true); err != nil {
		return nil, err
	}
	if p, ok := verifyWith(jws, keys, kid); ok {
		return p, nil
	}
	return nil, errNoKey
}

func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if p, err := jws.Verify(key.Key); err == nil {
			return p, true
		}
	}
	return nil, false
}

// current returns the cached keys, fetching first when there are none, when
// they are older than maxAge, or when stale is true (a token named a key we
// lack) — each only if the last attempt is older than minInterval.
func (k *keySet) current(ctx context.Context, stale bool) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	now := k.now()
	need := k.fetchedAt.IsZero() || now.Sub(k.fetchedAt) >= k.maxAge || stale
	if !need || (!k.triedAt.IsZero() && now.Sub(k.triedAt) < k.minInterval) {
		keys := k.keys
		k.mu.Unlock()
		if keys == nil {
			return nil, errors.New("auth: provider keys unavailable")
		}
		return keys, nil
	}
	if k.fetching != nil { // someone is fetching: wait for their result
		ch := k.fetching
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		k.mu.Lock()
		keys := k.keys
		k.mu.Unlock()
		if keys == nil {
			return nil, errors.New("auth: provider keys unavailable")
		}
		return keys, nil
	}
	k.fetching = make(chan struct{})
	k.triedAt = now
	k.fetches++
	k.mu.Unlock()

	keys, err := k.fetch(ctx)

	k.mu.Lock()
	if err == nil {
		k.keys, k.fetchedAt = keys, k.now()
	}
	close(k.fetching)
	k.fetching = nil
	keys = k.keys
	k.mu.Unlock()
	if keys == nil {
		return nil, fmt.Errorf("auth: fetching provider keys: %w", err)
	}
	return keys, nil // on a failed refetch the keys we had keep serving
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, err
	}
	return parseJWKS(body)
}

// parseJWKS keeps the public signing keys of a JWKS and skips every entry it
// cannot use — unparseable, private, symmetric, or meant for encryption — so
// one bad entry never takes the others down with it.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no usable public signing key")
	}
	return keys, nil
}
