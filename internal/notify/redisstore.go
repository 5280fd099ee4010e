package notify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// RedisPrefix starts the keys of the digests in Redis; the hash tag keeps
// them in one Redis Cluster slot, as the scripts need.
const RedisPrefix = "{kgate:digest}:"

// redisStore keeps the digests in the Redis kgate's instances share: a
// member's changes in a hash (entry key → JSON, and "#more"), the members
// with changes in a set, the count of all changes in a counter, and a
// flush's claim on a member in a key that runs out after digestLease. A
// claim is SET NX, so two instances never flush one member at once.
type redisStore struct {
	c                redis.UniversalClient
	perMember, total int
	token            string // this store's claims
}

func newRedisStore(c redis.UniversalClient, perMember, total int) *redisStore {
	return &redisStore{c: c, perMember: perMember, total: total, token: rand.Text()}
}

func (s *redisStore) keys(member string, more ...string) []string {
	return append([]string{RedisPrefix + "q:" + member, RedisPrefix + "members", RedisPrefix + "total"}, more...)
}

var addScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
local n = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], '#more')
if n >= tonumber(ARGV[3]) or tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  redis.call('HINCRBY', KEYS[1], '#more', 1)
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('INCR', KEYS[3])
end
redis.call('SADD', KEYS[2], ARGV[5])
return 1`)

func (s *redisStore) add(ctx context.Context, member string, p pending) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := addScript.Run(ctx, s.c, s.keys(member), p.key(), b, s.perMember, s.total, member).Err(); err != nil {
		return fmt.Errorf("notify: storing a digest entry in Redis: %w", err)
	}
	return nil
}

func (s *redisStore) members(ctx context.Context) ([]string, error) {
	return s.c.SMembers(ctx, RedisPrefix+"members").Result()
}

var claimScript = redis.NewScript(`
if not redis.call('SET', KEYS[4], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
return redis.call('HGETALL', KEYS[1])`)

func (s *redisStore) claim(ctx context.Context, member string) (*queue, error) {
	v, err := claimScript.Run(ctx, s.c, s.keys(member, RedisPrefix+"lease:"+member), s.token, digestLease.Milliseconds()).StringSlice()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify: claiming a digest in Redis: %w", err)
	}
	q := &queue{}
	for i := 0; i+1 < len(v); i += 2 {
		if v[i] == "#more" {
			q.More, _ = strconv.Atoi(v[i+1])
			continue
		}
		var p pending
		if json.Unmarshal([]byte(v[i+1]), &p) == nil {
			q.Items = append(q.Items, p)
		}
	}
	// A hash keeps no order: the digest lists changes as they came.
	slices.SortStableFunc(q.Items, func(a, b pending) int { return a.At.Compare(b.At) })
	if len(q.Items) == 0 && q.More == 0 {
		s.release(ctx, member, q)
		return nil, nil
	}
	return q, nil
}

// doneScript removes the entries a digest sent, each only if unchanged
// since the claim (a change added meanwhile waits for the next digest),
// and the claim if it is still this store's.
var doneScript = redis.NewScript(`
local removed = 0
for i = 4, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i+1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
if removed > 0 then
  redis.call('DECRBY', KEYS[3], removed)
end
if tonumber(ARGV[2]) > 0 and redis.call('HINCRBY', KEYS[1], '#more', -tonumber(ARGV[2])) <= 0 then
  redis.call('HDEL', KEYS[1], '#more')
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[3])
end
if redis.call('GET', KEYS[4]) == ARGV[1] then
  redis.call('DEL', KEYS[4])
end
return removed`)

func (s *redisStore) done(ctx context.Context, member string, q *queue) error {
	args := []any{s.token, q.More, member}
	for _, p := range q.Items {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		args = append(args, p.key(), b)
	}
	if err := doneScript.Run(ctx, s.c, s.keys(member, RedisPrefix+"lease:"+member), args...).Err(); err != nil {
		return fmt.Errorf("notify: removing a sent digest from Redis: %w", err)
	}
	return nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1`)

func (s *redisStore) release(ctx context.Context, member string, _ *queue) error {
	return releaseScript.Run(ctx, s.c, []string{RedisPrefix + "lease:" + member}, s.token).Err()
}

func (s *redisStore) close() error { return nil }
