package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisQueue keeps envelopes in the Redis kgate's instances share: each
// envelope's JSON under msg:ID, the ids of those waiting in a sorted set
// scored by when they are due, and the ids of those being sent in another
// scored by when their claim's lease runs out. A claim moves an id from
// the first set to the second in one script, so two instances never both
// take it; an instance that dies mid-send leaves a lease that runs out,
// and the message is sent again. Keys share a hash tag, for Redis
// Cluster.
type redisQueue struct {
	c     redis.UniversalClient
	lease time.Duration
	// keys
	waiting, sending, failedList, msgPrefix string
}

// maxFailed is how many refused messages Redis keeps for an operator.
const maxFailed = 1000

func newRedisQueue(c redis.UniversalClient, prefix string, lease time.Duration) *redisQueue {
	return &redisQueue{c: c, lease: lease,
		waiting: prefix + "waiting", sending: prefix + "sending",
		failedList: prefix + "failed", msgPrefix: prefix + "msg:"}
}

var pushScript = redis.NewScript(`
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
return 1`)

func (q *redisQueue) push(ctx context.Context, e *envelope, max int) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ok, err := pushScript.Run(ctx, q.c, []string{q.waiting, q.sending, q.msgPrefix + e.ID},
		max, b, e.Due.UnixMilli(), e.ID).Int()
	if err != nil {
		return fmt.Errorf("mail: storing the message in Redis: %w", err)
	}
	if ok == 0 {
		return ErrFull
	}
	return nil
}

// claimScript first gives expired leases back (their sender died), then
// takes the id due first, if due by now, and leases it.
var claimScript = redis.NewScript(`
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then
  return false
end
local id = ids[1]
redis.call('ZREM', KEYS[1], id)
local msg = redis.call('GET', ARGV[3] .. id)
if not msg then
  return ''
end
redis.call('ZADD', KEYS[2], ARGV[2], id)
return msg`)

func (q *redisQueue) claim(ctx context.Context, now time.Time) (*envelope, error) {
	for range 100 {
		s, err := claimScript.Run(ctx, q.c, []string{q.waiting, q.sending},
			now.UnixMilli(), now.Add(q.lease).UnixMilli(), q.msgPrefix).Text()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("mail: claiming from Redis: %w", err)
		}
		if s == "" {
			continue // an id without its message: dropped by the script
		}
		var e envelope
		if err := json.Unmarshal([]byte(s), &e); err != nil {
			return nil, fmt.Errorf("mail: a queued message in Redis is not JSON: %w", err)
		}
		return &e, nil
	}
	return nil, nil
}

func (q *redisQueue) next(ctx context.Context) (time.Time, bool, error) {
	zs, err := q.c.ZRangeWithScores(ctx, q.waiting, 0, 0).Result()
	if err != nil || len(zs) == 0 {
		return time.Time{}, false, err
	}
	return time.UnixMilli(int64(zs[0].Score)), true, nil
}

func (q *redisQueue) retry(ctx context.Context, e *envelope, at time.Time) error {
	e.Due = at
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = q.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, q.msgPrefix+e.ID, b, 0)
		p.ZRem(ctx, q.sending, e.ID)
		p.ZAdd(ctx, q.waiting, redis.Z{Score: float64(at.UnixMilli()), Member: e.ID})
		return nil
	})
	return err
}

func (q *redisQueue) done(ctx context.Context, e *envelope) error {
	_, err := q.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, q.sending, e.ID)
		p.Del(ctx, q.msgPrefix+e.ID)
		return nil
	})
	return err
}

func (q *redisQueue) failed(ctx context.Context, e *envelope) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = q.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, q.failedList, b)
		p.LTrim(ctx, q.failedList, 0, maxFailed-1)
		p.ZRem(ctx, q.sending, e.ID)
		p.Del(ctx, q.msgPrefix+e.ID)
		return nil
	})
	return err
}

func (q *redisQueue) size(ctx context.Context) (int, error) {
	var w, s *redis.IntCmd
	_, err := q.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		w, s = p.ZCard(ctx, q.waiting), p.ZCard(ctx, q.sending)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(w.Val() + s.Val()), nil
}

func (q *redisQueue) close() error { return nil }
