package kintone

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// The shared cap. Each lane is a sorted set in Redis of the ids of the
// holds of every instance, scored by when the hold expires: a hold is
// renewed every second while its request lasts, so the holds of an
// instance that crashed expire within holdLease. Slots are taken by a
// script, atomically, in Redis's own clock; they are given back when the
// request ends. Waiters queue in their own instance, which asks Redis for
// their slots when one of its own requests ends and otherwise every few
// milliseconds, at a random moment; while several instances have waiters,
// each takes at most its fair share of the cap, so none is starved.
//
// When Redis does not answer (three calls in a row fail: one slow answer
// is no reason), each instance keeps to its fallback share
// (the cap divided by the instances), counting its requests still in
// flight from before. Other instances' requests sent under the shared cap
// are still in flight too, and nobody knows how many: for a grace period
// (twice the longest request of late, from 1 s to the timeout) an
// instance therefore grants no more than it held when Redis went away,
// and only after it its full share — so the instances together stay
// within the cap while they switch. An instance logs once when it
// degrades and once when Redis answers again. Back, Redis first learns
// every instance's holds (each registers them at its next renewal) and
// only a second later do the instances share the cap through it again.

const (
	holdLease    = 10 * time.Second
	keepEvery    = time.Second
	redisTimeout = 500 * time.Millisecond
)

// pollInterval is how long a waiter's instance waits before asking Redis
// again when every slot was taken.
func pollInterval() time.Duration { return 3*time.Millisecond + rand.N(6*time.Millisecond) }

// acquireScript takes free slots for the candidates of one instance, in
// order, after dropping expired holds. Instances with waiters mark their
// demand (for demandTTL); while several do, an instance takes slots only
// up to its fair share of the capacity (rounded up), so that none is
// starved by others that happen to ask first. KEYS: the lane's holds, its
// demand. ARGV: capacity, lease in ms, the instance's id prefix, demand
// ttl in ms, candidate ids. It returns how many of the candidates, from
// the first, now hold a slot.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local me = ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), me)
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local holders = redis.call('ZRANGE', KEYS[1], 0, -1)
local mine = 0
for _, h in ipairs(holders) do
	if string.sub(h, 1, #me) == me then mine = mine + 1 end
end
local allowed = capacity - #holders
local demanders = redis.call('ZCARD', KEYS[2])
if demanders > 1 then
	allowed = math.min(allowed, math.ceil(capacity / demanders) - mine)
end
local got = 0
for i = 5, #ARGV do
	if got >= allowed then break end
	redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
	got = got + 1
end
if got > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return got
`)

// demandTTL is how long an instance's demand counts after its last ask.
const demandTTL = 100 * time.Millisecond

// holdScript (re)registers holds that are in flight: renewal, and the
// holds an instance granted alone while Redis was away. KEYS[1] the lane;
// ARGV lease in ms, ids.
var holdScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
	redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
`)

// sharedRedis is the Redis the instances of a deployment share, and
// whether it answers.
type sharedRedis struct {
	rdb     *redis.Client
	network string // of the Redis server, for probing it
	addr    string
	prefix  string // kgate:kintone:<kintone host>:
	log     *zap.Logger
	lanes   []*slots
	grace   func() time.Duration
	drops   chan drop
	stop    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex // orders the switches
	down     atomic.Bool
	healthy  int          // keep's successful renewals in a row while down
	failures atomic.Int32 // calls that failed in a row while up
}

// failuresToDegrade is how many calls in a row must fail before an
// instance gives up on Redis: one slow answer on a busy machine is no
// reason to. A Redis that is gone fails them all within milliseconds.
const failuresToDegrade = 3

type drop struct {
	lane *slots
	id   string
}

// newSharedRedis connects to the Redis at rawURL for the kintone domain
// base. Nothing is asked yet: an instance starts even when Redis is away.
func newSharedRedis(rawURL string, base *url.URL, log *zap.Logger) (*sharedRedis, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("shared %q is not a redis:// URL: %w", rawURL, err)
	}
	// Answer fast or not at all: a slow Redis must not hold requests up;
	// the fallback share serves them instead.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisTimeout, redisTimeout, redisTimeout
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1
	return &sharedRedis{
		rdb:     redis.NewClient(opts),
		network: opts.Network,
		addr:    opts.Addr,
		prefix:  "kgate:kintone:" + base.Host + ":",
		log:     log,
		drops:   make(chan drop, 4096),
		stop:    make(chan struct{}),
	}, nil
}

func (r *sharedRedis) isDown() bool { return r.down.Load() }

func (r *sharedRedis) key(s *slots) string { return r.prefix + "slots:" + s.name }

// start runs the dispatchers of the lanes, the renewal of holds and the
// giving back of slots. grace tells how long the switch to the fallback
// shares lasts.
func (r *sharedRedis) start(lanes []*slots, grace func() time.Duration) {
	r.lanes, r.grace = lanes, grace
	for _, s := range lanes {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.dispatch(s) }()
	}
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.keep() }()
	go func() { defer r.wg.Done(); r.giveBack() }()
}

func (r *sharedRedis) close() error {
	close(r.stop)
	r.wg.Wait()
	// Requests still waiting here (the old configuration of a reload)
	// go on within this instance's fallback share: nobody asks Redis for
	// them any more.
	r.down.Store(true)
	for _, s := range r.lanes {
		s.mu.Lock()
		s.grantLocked()
		s.mu.Unlock()
	}
	return r.rdb.Close()
}

func (r *sharedRedis) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), redisTimeout)
}

// dispatch asks Redis for slots for the lane's waiters.
func (r *sharedRedis) dispatch(s *slots) {
	poll := time.NewTimer(time.Hour)
	poll.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-s.wake:
		case <-poll.C:
		}
		for !r.isDown() {
			ids := s.heads()
			if len(ids) == 0 {
				break
			}
			got, err := r.acquire(s, ids)
			if err != nil {
				r.failed(err)
				poll.Reset(pollInterval())
				break
			}
			r.failures.Store(0)
			s.grantIDs(ids[:got])
			if got < len(ids) {
				poll.Reset(pollInterval())
				break
			}
		}
		if r.isDown() {
			s.mu.Lock()
			s.grantLocked()
			if wait := time.Until(s.graceUntil); wait > 0 && len(s.queue) > 0 {
				poll.Reset(wait + time.Millisecond) // the full share then
			}
			s.mu.Unlock()
		}
	}
}

func (r *sharedRedis) acquire(s *slots, ids []string) (int, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	args := make([]any, 0, len(ids)+4)
	args = append(args, s.capacity, holdLease.Milliseconds(), s.ids.prefix, demandTTL.Milliseconds())
	for _, id := range ids {
		args = append(args, id)
	}
	n, err := acquireScript.Run(ctx, r.rdb, []string{r.key(s), r.key(s) + ":demand"}, args...).Int()
	return max(0, min(n, len(ids))), err
}

// keep renews the holds in flight every second; it also notices when
// Redis answers again.
func (r *sharedRedis) keep() {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		if err := r.renew(); err != nil {
			r.failed(err)
			continue
		}
		r.failures.Store(0)
		r.recover()
	}
}

// recover shares the cap through Redis again, at the second renewal in a
// row that succeeded: by then every instance has registered its holds.
func (r *sharedRedis) recover() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down.Load() {
		return
	}
	if r.healthy++; r.healthy < 2 {
		return
	}
	r.down.Store(false)
	r.failures.Store(0)
	r.log.Info("kintone quota shield: Redis answers again; the cap is shared by every instance again")
	for _, s := range r.lanes {
		s.kick()
	}
}

func (r *sharedRedis) renew() error {
	ctx, cancel := r.ctx()
	defer cancel()
	if r.isDown() {
		// A plain connection first: the Redis client would log every
		// failed dial, once a second for as long as Redis is away.
		var d net.Dialer
		conn, err := d.DialContext(ctx, r.network, r.addr)
		if err != nil {
			return err
		}
		conn.Close()
	}
	asked := false
	for _, s := range r.lanes {
		ids := s.heldIDs()
		if len(ids) == 0 {
			continue
		}
		args := make([]any, 0, len(ids)+1)
		args = append(args, holdLease.Milliseconds())
		for _, id := range ids {
			args = append(args, id)
		}
		if err := holdScript.Run(ctx, r.rdb, []string{r.key(s)}, args...).Err(); err != nil {
			return err
		}
		asked = true
	}
	if !asked {
		return r.rdb.Ping(ctx).Err()
	}
	return nil
}

// failed notes a call to Redis that failed, and degrades after
// failuresToDegrade of them in a row.
func (r *sharedRedis) failed(err error) {
	if r.isDown() {
		r.mu.Lock()
		r.healthy = 0
		r.mu.Unlock()
		return
	}
	if r.failures.Add(1) >= failuresToDegrade {
		r.degrade(err)
	}
}

// degrade switches to the fallback shares, and says so once.
func (r *sharedRedis) degrade(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.healthy = 0
	if r.down.Load() {
		return
	}
	until := time.Now().Add(r.grace())
	for _, s := range r.lanes {
		s.mu.Lock()
		s.graceLimit, s.graceUntil = min(s.fallback, len(s.held)), until
		s.mu.Unlock()
	}
	r.down.Store(true)
	r.log.Warn("kintone quota shield: Redis does not answer; each instance keeps to its own share of the cap until it does",
		zap.Error(err))
	for _, s := range r.lanes {
		s.kick()
	}
}

// drop gives a slot back in Redis, soon: the request it served is over.
func (r *sharedRedis) drop(s *slots, id string) {
	select {
	case r.drops <- drop{s, id}:
	default: // a backlog: the hold expires on its own
	}
}

func (r *sharedRedis) giveBack() {
	for {
		var batch []drop
		select {
		case <-r.stop:
			return
		case d := <-r.drops:
			batch = append(batch, d)
		}
	more:
		for len(batch) < 256 {
			select {
			case d := <-r.drops:
				batch = append(batch, d)
			default:
				break more
			}
		}
		if r.isDown() {
			continue // the holds expire; the shared count is set right on recovery
		}
		byLane := map[string][]any{}
		for _, d := range batch {
			k := r.key(d.lane)
			byLane[k] = append(byLane[k], d.id)
		}
		ctx, cancel := r.ctx()
		pipe := r.rdb.Pipeline()
		for k, ids := range byLane {
			pipe.ZRem(ctx, k, ids...)
		}
		_, err := pipe.Exec(ctx)
		cancel()
		if err != nil {
			r.failed(err)
			continue
		}
		// This instance's waiters ask at once; the script keeps it to
		// its fair share, so the others still find their part of the
		// freed slots at their next poll.
		for _, s := range r.lanes {
			s.kick()
		}
	}
}
