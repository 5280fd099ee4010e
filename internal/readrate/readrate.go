// Package readrate bounds how fast a member reads an app: one token bucket
// per (member, app) holding the policy's rate of records per minute.
//
// kgate once capped the page size instead, which broke every client that
// reads all records in kintone's pages of 500 (the official client's
// getAll* helpers among them). A rate leaves pages exactly as kintone's and
// bounds only the speed: a reader gets the same records, later.
//
// A read takes the most records it may return before kintone is asked (a
// page's limit, a cursor's size, 1 for a single record) and gives back what
// it did not return. A read that will find its tokens within MaxWait waits
// for them; a later one is refused with the time to come back.
//
// Buckets live in this instance's memory only: instances behind one load
// balancer do not share them, so a member may read up to the rate from
// each instance.
package readrate

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"sync"
	"time"
)

// MaxWait is the longest a read waits for its tokens; beyond it the read is
// refused. Clients (and the members behind them) wait this long for a
// slow page anyway; longer, and a Retry-After serves them better.
const MaxWait = 30 * time.Second

// MaxBuckets bounds the bucket table. A bucket holds a 16-byte key, its
// tokens, rate and time (40 bytes), and costs about 150 bytes with its map
// entry and list element (measured: TestBucketBytes), so the table stays
// under 10 MiB. Past the bound the least recently used bucket goes; one
// unused for a minute is full anyway, so only a member with more than
// MaxBuckets (member, app) pairs active in the same minute gains by it.
const MaxBuckets = 1 << 16

// Clock is the time source; tests pass one that does not sleep.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or earlier with ctx's error when ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RefusedError is a read refused for its rate: its tokens come back after
// RetryAfter.
type RefusedError struct {
	RetryAfter time.Duration
}

func (e *RefusedError) Error() string {
	return "readrate: the member's read rate is spent; retry after " + e.RetryAfter.String()
}

// ErrRefused matches every *RefusedError with errors.Is.
var ErrRefused = errors.New("readrate: refused")

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// RetrySeconds is RetryAfter in whole seconds, rounded up, at least 1: the
// Retry-After header's value.
func (e *RefusedError) RetrySeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

type key [16]byte

type bucket struct {
	key    key
	tokens float64 // may fall below zero: a page larger than the rate is paid off by refill
	rate   int     // records per minute: the capacity; refill rate/60 a second
	last   int64   // unix nanoseconds of the last refill
}

// Limiter holds the buckets. Its methods are safe for concurrent use.
type Limiter struct {
	clock Clock
	max   int

	mu      sync.Mutex
	buckets map[key]*list.Element // of *bucket
	order   list.List             // front: most recently used
}

// New returns a limiter on the given clock (the real one when nil) holding
// at most maxBuckets buckets (MaxBuckets when 0 or more).
func New(clock Clock, maxBuckets int) *Limiter {
	if clock == nil {
		clock = realClock{}
	}
	if maxBuckets <= 0 || maxBuckets > MaxBuckets {
		maxBuckets = MaxBuckets
	}
	return &Limiter{clock: clock, max: maxBuckets, buckets: map[key]*list.Element{}}
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Grant is a read's charge; Return gives back what the read did not use.
type Grant struct {
	l       *Limiter
	k       key
	charged int
}

// Return gives back the part of the charge the read did not return: used
// is the number of records it returned (0 when it failed).
func (g Grant) Return(used int) {
	if g.l == nil || used >= g.charged {
		return
	}
	g.l.refund(g.k, g.charged-max(used, 0))
}

// Take charges n records to member's bucket for app at rate records per
// minute (rate 0 = unlimited: nothing is charged). When the bucket lacks
// them it waits up to MaxWait (returning ctx's error if ctx ends first) or
// refuses with a *RefusedError.
func (l *Limiter) Take(ctx context.Context, member, app string, rate, n int) (Grant, error) {
	if rate <= 0 || n <= 0 {
		return Grant{}, nil
	}
	k := keyOf(member, app)
	now := l.clock.Now()
	l.mu.Lock()
	b := l.bucket(k, rate, now)
	// A page larger than the rate needs only a full bucket: it then drives
	// the tokens below zero, and refill pays the debt before the next read.
	need := float64(min(n, rate))
	perSecond := float64(rate) / 60
	wait := time.Duration(0)
	if b.tokens < need {
		wait = time.Duration(math.Ceil((need - b.tokens) / perSecond * float64(time.Second)))
	}
	if wait > MaxWait {
		l.mu.Unlock()
		return Grant{}, &RefusedError{RetryAfter: wait}
	}
	b.tokens -= float64(n) // reserved now, so waiters queue in order
	l.mu.Unlock()
	g := Grant{l: l, k: k, charged: n}
	if wait > 0 {
		if err := l.clock.Sleep(ctx, wait); err != nil {
			g.Return(0)
			return Grant{}, err
		}
	}
	return g, nil
}

// bucket returns k's bucket refilled to now, made or moved to the front.
// l.mu is held.
func (l *Limiter) bucket(k key, rate int, now time.Time) *bucket {
	if e, ok := l.buckets[k]; ok {
		l.order.MoveToFront(e)
		b := e.Value.(*bucket)
		b.rate = rate // the policy may have changed it
		b.refill(now)
		return b
	}
	if len(l.buckets) >= l.max {
		last := l.order.Back()
		delete(l.buckets, last.Value.(*bucket).key)
		l.order.Remove(last)
	}
	b := &bucket{key: k, tokens: float64(rate), rate: rate, last: now.UnixNano()}
	l.buckets[k] = l.order.PushFront(b)
	return b
}

func (b *bucket) refill(now time.Time) {
	t := now.UnixNano()
	if t > b.last {
		b.tokens += float64(t-b.last) / float64(time.Second) * float64(b.rate) / 60
		b.last = t
	}
	b.tokens = min(b.tokens, float64(b.rate))
}

func (l *Limiter) refund(k key, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.buckets[k]; ok {
		b := e.Value.(*bucket)
		b.tokens = min(b.tokens+float64(n), float64(b.rate))
	}
}

// keyOf names a (member, app) pair in a fixed 16 bytes, whatever the
// lengths of the member's issuer and subject.
func keyOf(member, app string) key {
	h := sha256.New()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(app))
	var k key
	copy(k[:], h.Sum(nil))
	return k
}
