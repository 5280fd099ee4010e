package auth

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is a SessionStore in Redis, for several kgate instances behind
// one name. Each key lives as a Redis string with Redis's own expiry, so a
// session vanishes at its absolute lifetime without any sweeping here; an
// index is a Redis set whose expiry follows its longest-lived member.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisStore returns a store on client whose keys all start with prefix
// (for example "kgate:"), so one Redis can serve several deployments.
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{client: client, prefix: prefix}
}

func (s *RedisStore) Create(ctx context.Context, key string, value []byte, expires time.Time) error {
	ttl := time.Until(expires)
	if ttl <= 0 {
		return nil // already over: nothing to keep
	}
	ok, err := s.client.SetNX(ctx, s.prefix+key, value, ttl).Result()
	if err != nil {
		return err
	}
	if !ok {
		return ErrExists
	}
	return nil
}

func (s *RedisStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.client.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	return b, err
}

func (s *RedisStore) Update(ctx context.Context, key string, value []byte) error {
	ok, err := s.client.SetXX(ctx, s.prefix+key, value, redis.KeepTTL).Result()
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

func (s *RedisStore) Delete(ctx context.Context, key string) error {
	return s.client.Del(ctx, s.prefix+key).Err()
}

// addToIndex adds a member to a set and moves the set's expiry (in
// milliseconds from now) later, never earlier, in one step.
var addToIndex = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

func (s *RedisStore) AddToIndex(ctx context.Context, key, member string, expires time.Time) error {
	ttl := time.Until(expires).Milliseconds()
	if ttl <= 0 {
		return nil
	}
	return addToIndex.Run(ctx, s.client, []string{s.prefix + key}, member, ttl).Err()
}

func (s *RedisStore) IndexMembers(ctx context.Context, key string) ([]string, error) {
	return s.client.SMembers(ctx, s.prefix+key).Result()
}

func (s *RedisStore) RemoveFromIndex(ctx context.Context, key, member string) error {
	return s.client.SRem(ctx, s.prefix+key, member).Err()
}

var (
	_ SessionStore = (*RedisStore)(nil)
	_ SessionStore = (*MemoryStore)(nil)
)
