package kintone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The quota shield. kintone allows 100 requests in flight per domain, for
// every integration of the company together, and answers 429 GAIA_TO04
// beyond. kgate keeps to MaxConcurrent of them: a request holds a slot
// from before it is sent until kintone's answer is read to its end or
// closed, since kintone counts it until then. The cap is split in lanes,
// each with its own bounded queue of waiters:
//
//   - general: reads and writes;
//   - members: MemberShare slots kept for member-directory lookups, so that
//     a member whose cached entry expires during overload is not locked out
//     behind everyone's reads;
//   - files: file transfers hold a files slot as well as a general one, all
//     the way to the end of the transfer, so that slow members' downloads
//     and uploads take at most FileShare of the general slots.
//
// Alone, a process counts its own holds. With Config.Shared the holds of
// every instance are kept in Redis (redislimiter.go) and the cap is one for
// them all.

// Priority says how a request fares when kintone's quota runs short.
type Priority int

const (
	// PriorityNormal requests use the general lane.
	PriorityNormal Priority = iota
	// PriorityLow marks reads a page can do without (the portal's calendar, a
	// record's comments, the buttons it offers): once an app's daily
	// budget passes Config.LowPriorityCutoff they are refused as busy
	// before kintone is asked.
	PriorityLow
	// PriorityMember marks member-directory lookups: they use the members lane.
	PriorityMember
)

type priorityKey struct{}

// WithPriority marks the requests made under ctx with p, unless a request
// names its own: a layer above the gateway marks its optional calls so.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// priorityIn is the request's priority: its own, else its context's.
func (r *Request) priorityIn(ctx context.Context) Priority {
	if r.Priority != PriorityNormal {
		return r.Priority
	}
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// ErrBusy is returned when kgate holds a request back to spare kintone: its
// queue is full, a slot did not come free in time, the app's daily budget
// is kept for what matters, or kintone itself still refused a read for
// load after kgate's retries. Members get KGATE_UP03, 503 with Retry-After.
var ErrBusy = errors.New("kintone: kgate is busy")

var (
	errQueueFull   = fmt.Errorf("%w: too many requests waiting for kintone", ErrBusy)
	errWaitedLong  = fmt.Errorf("%w: no slot to kintone came free in time", ErrBusy)
	errKintoneBusy = fmt.Errorf("%w: kintone still refused the read for load after %d tries", ErrBusy, attempts)
	// ErrDailyBudget refuses a low-priority read of an app whose daily
	// budget is nearly spent.
	ErrDailyBudget = fmt.Errorf("%w: the app's daily request budget is kept for what matters today", ErrBusy)
)

// attempts is how many times a read kintone refuses for load is sent.
const attempts = 3

// shield holds the lanes of the cap.
type shield struct {
	general, members, files *slots
	shared                  *sharedRedis // nil when this process is alone
	timeout                 time.Duration
	recent                  longest // how long requests other than file transfers held their slots
}

// shares are the slots of each lane.
type shares struct{ general, members, files int }

// split divides a cap among the lanes: members first, then the rest is
// general, of which files may use up to files.
func split(limit, members, files int) (shares, error) {
	s := shares{general: limit - members, members: members, files: min(files, limit-members)}
	if s.general < 1 {
		return s, fmt.Errorf("member_share %d leaves no slot of max_concurrent %d for reads and writes", members, limit)
	}
	return s, nil
}

// fallbackShares is one instance's part of the shared cap while Redis is
// unreachable: the cap divided by the instances, so that together they
// never exceed it, with at least one slot for each lane in use.
func fallbackShares(limit, instances int, whole shares) (shares, error) {
	per := limit / instances
	s := shares{}
	if whole.members > 0 {
		s.members = max(1, whole.members*per/limit)
	}
	s.general = per - s.members
	if s.general < 1 {
		return s, fmt.Errorf("max_concurrent %d shared by %d instances leaves each too few slots to work alone while Redis is unreachable (it needs %d); raise max_concurrent or lower instances",
			limit, instances, s.members+1)
	}
	s.files = min(s.general, max(1, whole.files*per/limit))
	return s, nil
}

func newShield(whole, fallback shares, maxQueue int, maxWait time.Duration, shared *sharedRedis) *shield {
	ids := newHoldIDs()
	lane := func(name string, n, fb int) *slots {
		if n == 0 {
			return nil
		}
		return &slots{name: name, capacity: n, fallback: fb, maxQueue: maxQueue, maxWait: maxWait,
			shared: shared, ids: ids, held: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	}
	return &shield{
		general: lane("general", whole.general, fallback.general),
		members: lane("members", whole.members, fallback.members),
		files:   lane("files", whole.files, fallback.files),
		shared:  shared,
		timeout: maxWait,
	}
}

// grace is how long requests sent under the shared cap may still be in
// flight when Redis goes away: twice the longest request of late, from
// 1 s to the timeout. File transfers are left out: they may stream for
// minutes, and at most FileShare of them hold slots.
func (sh *shield) grace() time.Duration {
	return min(sh.timeout, max(time.Second, 2*sh.recent.get()))
}

// longest keeps the longest duration seen in the last minute or so.
type longest struct {
	mu        sync.Mutex
	since     time.Time
	cur, prev time.Duration
}

func (l *longest) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	l.cur = max(l.cur, d)
}

func (l *longest) get() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	return max(l.cur, l.prev)
}

func (l *longest) roll() {
	if now := time.Now(); now.Sub(l.since) > 30*time.Second {
		l.since, l.prev, l.cur = now, l.cur, 0
	}
}

func (sh *shield) lanes() []*slots {
	var out []*slots
	for _, s := range []*slots{sh.general, sh.members, sh.files} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// acquire waits for the slots a request of priority p needs (file: a file
// transfer) and returns the function that gives them back, which may be
// called any number of times.
func (sh *shield) acquire(ctx context.Context, p Priority, file bool) (func(), error) {
	lane := sh.general
	if p == PriorityMember && sh.members != nil {
		lane = sh.members
	}
	var fileID string
	if file && sh.files != nil {
		var err error
		if fileID, err = sh.files.acquire(ctx); err != nil {
			return nil, err
		}
	}
	id, err := lane.acquire(ctx)
	if err != nil {
		if fileID != "" {
			sh.files.release(fileID)
		}
		return nil, err
	}
	var once sync.Once
	start := time.Now()
	return func() {
		once.Do(func() {
			lane.release(id)
			if fileID != "" {
				sh.files.release(fileID)
			} else {
				sh.recent.add(time.Since(start))
			}
		})
	}, nil
}

// load reports the requests holding a slot to kintone and those waiting.
func (sh *shield) load() (inFlight, waiting int) {
	for _, s := range sh.lanes() {
		h, w := s.load()
		if s != sh.files { // a file transfer holds a general slot too
			inFlight += h
		}
		waiting += w
	}
	return inFlight, waiting
}

// slots is one lane: its holds and its queue of waiters, first come first
// served.
type slots struct {
	name     string
	capacity int // holds at once: this process's, or every instance's when shared
	fallback int // shared: this instance's holds at most while Redis is unreachable
	maxQueue int
	maxWait  time.Duration
	shared   *sharedRedis
	ids      *holdIDs

	mu    sync.Mutex
	held  map[string]struct{}
	queue []*waiter
	wake  chan struct{}
	// While Redis does not answer, until graceUntil this process grants
	// at most graceLimit: what it held when Redis went away, within its
	// fallback share (redislimiter.go).
	graceLimit int
	graceUntil time.Time
}

type waiter struct {
	id      string
	ready   chan struct{}
	granted bool
}

func (s *slots) acquire(ctx context.Context) (string, error) {
	s.mu.Lock()
	if len(s.queue) == 0 && s.roomLocked() {
		id := s.ids.next()
		s.held[id] = struct{}{}
		s.mu.Unlock()
		return id, nil
	}
	if len(s.queue) >= s.maxQueue {
		s.mu.Unlock()
		return "", errQueueFull
	}
	w := &waiter{id: s.ids.next(), ready: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.mu.Unlock()
	s.kick()
	timer := time.NewTimer(s.maxWait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return w.id, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errWaitedLong
	}
	s.mu.Lock()
	granted := w.granted
	if !granted {
		s.removeLocked(w)
	}
	s.mu.Unlock()
	if granted {
		s.release(w.id)
	}
	return "", err
}

// roomLocked reports whether this process may grant a slot itself: alone,
// below the lane's capacity; shared, only below its fallback share while
// Redis is unreachable — otherwise Redis decides (dispatch).
func (s *slots) roomLocked() bool {
	switch {
	case s.shared == nil:
		return len(s.held) < s.capacity
	case s.shared.isDown():
		if time.Now().Before(s.graceUntil) {
			return len(s.held) < s.graceLimit
		}
		return len(s.held) < s.fallback
	}
	return false
}

// grantLocked hands free slots to the first waiters.
func (s *slots) grantLocked() {
	for len(s.queue) > 0 && s.roomLocked() {
		w := s.queue[0]
		s.queue = s.queue[1:]
		s.grantTo(w)
	}
}

func (s *slots) grantTo(w *waiter) {
	w.granted = true
	s.held[w.id] = struct{}{}
	close(w.ready)
}

func (s *slots) removeLocked(w *waiter) {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return
		}
	}
}

func (s *slots) release(id string) {
	s.mu.Lock()
	delete(s.held, id)
	s.grantLocked()
	s.mu.Unlock()
	if s.shared != nil {
		s.shared.drop(s, id)
	}
}

func (s *slots) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *slots) load() (held, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held), len(s.queue)
}

// heldIDs returns the ids of the holds, for renewal in Redis.
func (s *slots) heldIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.held))
	for id := range s.held {
		out = append(out, id)
	}
	return out
}

// heads returns the ids of the first waiters, as many as the lane could
// ever grant at once.
func (s *slots) heads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.queue), s.capacity)
	out := make([]string, n)
	for i, w := range s.queue[:n] {
		out[i] = w.id
	}
	return out
}

// grantIDs hands the slots Redis granted to their waiters; a waiter that
// left meanwhile gets none, and its slot goes back.
func (s *slots) grantIDs(ids []string) {
	var gone []string
	s.mu.Lock()
	for _, id := range ids {
		i := 0
		for i < len(s.queue) && s.queue[i].id != id {
			i++
		}
		if i == len(s.queue) {
			gone = append(gone, id)
			continue
		}
		w := s.queue[i]
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
		s.grantTo(w)
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.shared.drop(s, id)
	}
}

// holdIDs names holds uniquely across instances: a random instance id and
// a counter.
type holdIDs struct {
	prefix string
	n      atomic.Uint64
}

func newHoldIDs() *holdIDs {
	var b [8]byte
	rand.Read(b[:])
	return &holdIDs{prefix: hex.EncodeToString(b[:]) + ":"}
}

func (h *holdIDs) next() string { return h.prefix + strconv.FormatUint(h.n.Add(1), 36) }

// heldBody keeps a request's slots until kintone's answer is read to its
// end or closed: kintone counts the request until then.
type heldBody struct {
	io.ReadCloser
	release func()
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *heldBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
