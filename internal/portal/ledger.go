package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ledger shares the first submission of each form among kgate instances,
// so that a repeated submission that reaches another instance waits for
// the first and goes where it went, as it does on one instance.
type Ledger interface {
	// Claim marks key as being sent for at most ttl; it reports false
	// when another submission of key holds it.
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Outcome returns what the submission holding key led to: done is
	// false while it is being sent, found false when it was released
	// (it failed and changed nothing) or has expired.
	Outcome(ctx context.Context, key string) (o Outcome, done, found bool, err error)
	// Finish records what the submission of key led to, for ttl.
	Finish(ctx context.Context, key string, o Outcome, ttl time.Duration) error
	// Release frees key: the submission changed nothing.
	Release(ctx context.Context, key string) error
}

// Outcome is where a submission sent the member, or that kintone did not
// confirm its write.
type Outcome struct {
	Location string
	Unknown  bool
}

// claimTTL bounds a claim whose instance died before finishing it: a
// write takes seconds, and a repeat then gets to send the form again only
// if the first never reached kintone's answer.
const claimTTL = 2 * time.Minute

// RedisLedger keeps the ledger in Redis under prefix: a key per form
// submission, "" while it is being sent, then "ok <location>" or
// "unknown".
type RedisLedger struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisLedger keeps the ledger on client under keys starting with
// prefix (for example "kgate:form:").
func NewRedisLedger(client redis.UniversalClient, prefix string) *RedisLedger {
	return &RedisLedger{client: client, prefix: prefix}
}

func (l *RedisLedger) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return l.client.SetNX(ctx, l.name(key), "", ttl).Result()
}

func (l *RedisLedger) Outcome(ctx context.Context, key string) (Outcome, bool, bool, error) {
	v, err := l.client.Get(ctx, l.name(key)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Outcome{}, false, false, nil
	case err != nil:
		return Outcome{}, false, false, err
	case v == "":
		return Outcome{}, false, true, nil
	case v == "unknown":
		return Outcome{Unknown: true}, true, true, nil
	default:
		return Outcome{Location: strings.TrimPrefix(v, "ok ")}, true, true, nil
	}
}

func (l *RedisLedger) Finish(ctx context.Context, key string, o Outcome, ttl time.Duration) error {
	v := "ok " + o.Location
	if o.Unknown {
		v = "unknown"
	}
	return l.client.Set(ctx, l.name(key), v, ttl).Err()
}

func (l *RedisLedger) Release(ctx context.Context, key string) error {
	return l.client.Del(ctx, l.name(key)).Err()
}

// name hashes key, which names the member and the form, into the Redis key.
func (l *RedisLedger) name(key string) string {
	sum := sha256.Sum256([]byte(key))
	return l.prefix + hex.EncodeToString(sum[:])
}

var _ Ledger = (*RedisLedger)(nil)
