package auth

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore is a SessionStore in Redis, for several kgate instances behind
// one name. Each key lives as a Redis string with Redis's own expiry, so a
// session vanishes at its absolute lifetime without any sweeping here.
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
