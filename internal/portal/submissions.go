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
// The ledger lives in this process: with several kgate instances behind
// one site, a repeated submission that reaches another instance is not
// recognized.

// submissionTTL is how long a submission is remembered.
const submissionTTL = 24 * time.Hour

// maxSubmissions bounds the ledger; the oldest entries go first.
const maxSubmissions = 20000

type submissions struct {
	mu    sync.Mutex
	now   func() time.Time
	byKey map[string]*submission
	order []string // keys, oldest first
}

// submission is one form's first submission.
type submission struct {
	done chan struct{} // closed when the first submission has finished
	at   time.Time
	// Set before done is closed:
	location string // where the first submission sent the member
	unknown  bool   // kintone did not confirm the write
	failed   bool   // it changed nothing: the form may be sent again
}

func newSubmissions(now func() time.Time) *submissions {
	return &submissions{now: now, byKey: map[string]*submission{}}
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
			sub = &submission{done: make(chan struct{}), at: now}
			s.add(key, sub)
			s.mu.Unlock()
			return sub, true, nil
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
	close(sub.done)
}

// unconfirmed records that the write may or may not have been applied.
func (s *submissions) unconfirmed(sub *submission) {
	sub.unknown = true
	close(sub.done)
}

// fail forgets the submission of key: nothing was written.
func (s *submissions) fail(key string, sub *submission) {
	sub.failed = true
	s.mu.Lock()
	if s.byKey[key] == sub {
		delete(s.byKey, key)
	}
	s.mu.Unlock()
	close(sub.done)
}
