package portal

import (
	"context"
	"sync"
	"time"
)

// Double submission. Every rendered form carries a fresh random key
// (idemField). The portal remembers, per member, form and key, what the
// first submission led to: a second submission of the same form — a
// double click, a reload of the POST, a retry after a slow answer — waits
// for the first to finish and is sent where the first one was, so it can
// never create a second record or post a second comment. A submission
// that failed for certain (a validation error, a refusal) is forgotten,
// so the member can correct the form and send it again; one whose outcome
// kintone did not confirm is remembered as such, and never sent twice.
//
// The ledger lives in this process, and, given a shared Ledger (Redis,
// with several kgate instances behind one site), also there: a repeated
// submission that reaches another instance waits for the first there and
// goes where it went.

// submissionTTL is how long a submission is remembered.
const submissionTTL = 24 * time.Hour

// maxSubmissions bounds the ledger; the oldest entries go first.
const maxSubmissions = 20000

type submissions struct {
	mu     sync.Mutex
	now    func() time.Time
	byKey  map[string]*submission
	order  []string // keys, oldest first
	shared Ledger   // nil: this process only
	poll   time.Duration
}

// submission is one form's first submission.
type submission struct {
	key     string
	claimed bool          // in the shared ledger
	done    chan struct{} // closed when the first submission has finished
	at      time.Time
	// Set before done is closed:
	location string // where the first submission sent the member
	unknown  bool   // kintone did not confirm the write
	failed   bool   // it changed nothing: the form may be sent again
}

func newSubmissions(now func() time.Time, shared Ledger) *submissions {
	return &submissions{now: now, byKey: map[string]*submission{}, shared: shared, poll: 100 * time.Millisecond}
}

// begin registers the submission of key. When it is the first, it returns
// first true and the caller must call end. Otherwise it waits for the
// first to finish and returns it; when that one failed, the caller gets
// to try again as the first.
func (s *submissions) begin(ctx context.Context, key string) (sub *submission, first bool, err error) {
	for {
		s.mu.Lock()
		now := s.now()
		prev := s.byKey[key]
		if prev != nil && now.Sub(prev.at) > submissionTTL {
			prev = nil
		}
		if prev == nil {
			sub = &submission{key: key, done: make(chan struct{}), at: now}
			s.add(key, sub)
			s.mu.Unlock()
			if s.shared == nil {
				return sub, true, nil
			}
			return s.claim(ctx, sub)
		}
		s.mu.Unlock()
		select {
		case <-prev.done:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if !prev.failed {
			return prev, false, nil
		}
	}
}

// claim makes sub the first submission among the instances too, or waits
// for the one another instance is sending and returns what it led to. A
// submission there that failed is released, and sub gets to claim again.
func (s *submissions) claim(ctx context.Context, sub *submission) (*submission, bool, error) {
	for {
		ok, err := s.shared.Claim(ctx, sub.key, claimTTL)
		if err != nil {
			s.fail(sub.key, sub)
			return nil, false, err
		}
		if ok {
			sub.claimed = true
			return sub, true, nil
		}
		o, err := s.await(ctx, sub.key)
		if err != nil {
			s.fail(sub.key, sub)
			return nil, false, err
		}
		if o != nil {
			sub.location, sub.unknown = o.Location, o.Unknown
			close(sub.done)
			return sub, false, nil
		}
	}
}

// await polls the shared ledger until the submission of key there has
// finished (its outcome) or was released (nil).
func (s *submissions) await(ctx context.Context, key string) (*Outcome, error) {
	for {
		o, done, found, err := s.shared.Outcome(ctx, key)
		switch {
		case err != nil:
			return nil, err
		case !found:
			return nil, nil
		case done:
			return &o, nil
		}
		select {
		case <-time.After(s.poll):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// add stores sub under key; the caller holds the lock.
func (s *submissions) add(key string, sub *submission) {
	if len(s.order) >= maxSubmissions {
		drop := s.order[:len(s.order)-maxSubmissions+1]
		for _, k := range drop {
			delete(s.byKey, k)
		}
		s.order = append(s.order[:0], s.order[len(drop):]...)
	}
	s.byKey[key] = sub
	s.order = append(s.order, key)
}

// succeed records where the first submission sent the member.
func (s *submissions) succeed(sub *submission, location string) {
	sub.location = location
	s.finish(sub)
	close(sub.done)
}

// unconfirmed records that the write may or may not have been applied.
func (s *submissions) unconfirmed(sub *submission) {
	sub.unknown = true
	s.finish(sub)
	close(sub.done)
}

// finish records sub's outcome in the shared ledger. Should that fail,
// the claim expires after claimTTL and a repeat is then sent again: the
// ledger cannot do better while Redis is away.
func (s *submissions) finish(sub *submission) {
	if sub.claimed {
		s.shared.Finish(context.Background(), sub.key, Outcome{Location: sub.location, Unknown: sub.unknown}, submissionTTL)
	}
}

// fail forgets the submission of key: nothing was written.
func (s *submissions) fail(key string, sub *submission) {
	if sub.claimed {
		s.shared.Release(context.Background(), key)
	}
	sub.failed = true
	s.mu.Lock()
	if s.byKey[key] == sub {
		delete(s.byKey, key)
	}
	s.mu.Unlock()
	close(sub.done)
}
