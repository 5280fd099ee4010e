package mail

import (
	"context"
	"errors"
	"time"
)

// DefaultMaxQueue is the outbox's bound in messages when none is set.
const DefaultMaxQueue = 10000

// ErrFull is wrapped by Enqueue's refusal when the queue holds its bound:
// the message was not kept, and the caller should say so in its audit.
var ErrFull = errors.New("mail: the outbox is full")

// envelope is a queued message: composed once, at enqueue, so every try
// sends the same bytes and the same Message-ID.
type envelope struct {
	ID     string    `json:"id"`
	To     string    `json:"to"`
	Kind   string    `json:"kind,omitempty"`
	Raw    string    `json:"raw"`
	Queued time.Time `json:"queued"`
	// Due is when the next try may start.
	Due      time.Time `json:"due"`
	Attempts int       `json:"attempts,omitempty"`
	// LastError is why the last try failed, for the log and the
	// failed ones an operator reads.
	LastError string `json:"last_error,omitempty"`
}

// queue keeps envelopes where a restart finds them. Each is claimed by one
// sender at a time, and leaves the queue only through done or failed.
type queue interface {
	// push stores e, or fails with ErrFull at max envelopes.
	push(ctx context.Context, e *envelope, max int) error
	// claim takes the next envelope due by now, or nil. Claimed envelopes
	// are not handed out again until retry, or, if the claimer died,
	// until their lease runs out.
	claim(ctx context.Context, now time.Time) (*envelope, error)
	// next is when the earliest queued envelope is due; ok is false when
	// none is queued.
	next(ctx context.Context) (at time.Time, ok bool, err error)
	// retry puts a claimed e back, due at at.
	retry(ctx context.Context, e *envelope, at time.Time) error
	// done removes a delivered e.
	done(ctx context.Context, e *envelope) error
	// failed moves e aside, kept for an operator but never sent.
	failed(ctx context.Context, e *envelope) error
	// size is the number of envelopes queued or claimed.
	size(ctx context.Context) (int, error)
	close() error
}

// Backoff is how long the outbox waits before trying a message again:
// Min after the first failure, doubling each time, at most Max.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff waits 30 seconds, then a minute, two, … up to an hour.
var DefaultBackoff = Backoff{Min: 30 * time.Second, Max: time.Hour}

// after is the wait after the given number of failed tries (1 or more).
func (b Backoff) after(failures int) time.Duration {
	d := b.Min
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}
