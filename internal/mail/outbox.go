package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Config is an outbox's settings.
type Config struct {
	SMTP SMTP
	// From is the sender, an address maybe with a name.
	From string
	// MaxQueue bounds the messages waiting; zero is DefaultMaxQueue.
	MaxQueue int
	// Backoff paces the tries of a message; zero is DefaultBackoff.
	Backoff Backoff
	// MaxAge is how long a message is retried before it is moved aside;
	// zero is three days.
	MaxAge time.Duration
	// Logger gets a line per delivery, retry and refusal.
	Logger *zap.Logger
}

// SMTPOutbox is the Outbox kgate runs: a durable, bounded queue and a loop
// that hands each message to the SMTP server, at least once.
type SMTPOutbox struct {
	q       queue
	cfg     Config
	from    *mail.Address
	log     *zap.Logger
	poll    time.Duration // how often to look for others' messages
	wake    chan struct{}
	startMu sync.Mutex
	cancel  context.CancelFunc // ends the loop
	abandon context.CancelFunc // ends a delivery under way
	done    chan struct{}
	stopped bool

	sent, retried, refused, expired atomic.Int64
}

// Stats are what an outbox did since it was made.
type Stats struct {
	// Sent were accepted by the server; Retried failed and wait for
	// another try; Refused were refused for good (5xx) and Expired were
	// still undelivered after MaxAge: both moved aside.
	Sent, Retried, Refused, Expired int64
}

// Stats returns the outbox's counts.
func (o *SMTPOutbox) Stats() Stats {
	return Stats{Sent: o.sent.Load(), Retried: o.retried.Load(), Refused: o.refused.Load(), Expired: o.expired.Load()}
}

// stopGrace is how long Stop lets a delivery under way finish. Cut short,
// the server may have taken the message without kgate hearing so, and it
// is sent again by the next start.
const stopGrace = 10 * time.Second

var _ Outbox = (*SMTPOutbox)(nil)

// NewDir makes an outbox that queues in files under dir.
func NewDir(dir string, cfg Config) (*SMTPOutbox, error) {
	o, err := newOutbox(cfg)
	if err != nil {
		return nil, err
	}
	if o.q, err = openDirQueue(dir); err != nil {
		return nil, err
	}
	o.poll = time.Hour // only this process adds to its directory, and it wakes the loop
	return o, nil
}

// RedisPrefix starts the keys of the outbox's queue in Redis.
const RedisPrefix = "{kgate:mail}:"

// NewRedis makes an outbox that queues in Redis, shared by every instance
// that uses the same Redis.
func NewRedis(c redis.UniversalClient, cfg Config) (*SMTPOutbox, error) {
	o, err := newOutbox(cfg)
	if err != nil {
		return nil, err
	}
	// A lease outlives a delivery's timeout, so a slow delivery is not
	// taken by a second instance while the first still sends it.
	o.q = newRedisQueue(c, RedisPrefix, 2*o.cfg.SMTP.Timeout)
	o.poll = 5 * time.Second // other instances enqueue too
	return o, nil
}

func newOutbox(cfg Config) (*SMTPOutbox, error) {
	if err := cfg.SMTP.Check(); err != nil {
		return nil, err
	}
	from, err := fromAddress(cfg.From)
	if err != nil {
		return nil, err
	}
	if _, err := address(from.Address); err != nil {
		return nil, fmt.Errorf("mail: from: %w", err)
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.Backoff.Min <= 0 || cfg.Backoff.Max < cfg.Backoff.Min {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 72 * time.Hour
	}
	if cfg.SMTP.Timeout <= 0 {
		cfg.SMTP.Timeout = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &SMTPOutbox{cfg: cfg, from: from, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Enqueue composes m and stores it; it returns once a restart would find
// it. A full queue refuses it with an error wrapping ErrFull, a message
// with a line break in a header value (or no valid address) with one
// wrapping ErrInvalid.
func (o *SMTPOutbox) Enqueue(ctx context.Context, m Message) error {
	now := time.Now()
	raw, err := compose(o.from, m, now)
	if err != nil {
		return err
	}
	e := &envelope{ID: newID(now), To: m.To, Kind: m.Kind, Raw: string(raw), Queued: now, Due: now}
	if err := o.q.push(ctx, e, o.cfg.MaxQueue); err != nil {
		if errors.Is(err, ErrFull) {
			return fmt.Errorf("%w: %d messages wait for the SMTP server (max_queue); the %s message to %s was not queued",
				ErrFull, o.cfg.MaxQueue, m.Kind, m.To)
		}
		return err
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// newID names an envelope; ids sort by enqueue time.
func newID(now time.Time) string {
	r := make([]byte, 8)
	rand.Read(r)
	return fmt.Sprintf("%013d-%s", now.UnixMilli(), hex.EncodeToString(r))
}

// Start starts the delivery loop.
func (o *SMTPOutbox) Start() {
	o.startMu.Lock()
	defer o.startMu.Unlock()
	if o.cancel != nil || o.stopped {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	sendCtx, abandon := context.WithCancel(context.Background())
	o.cancel, o.abandon, o.done = cancel, abandon, make(chan struct{})
	go func() {
		defer close(o.done)
		o.run(ctx, sendCtx)
	}()
}

// Stop ends the loop and closes the queue. A delivery under way gets
// stopGrace to finish; past it, it is abandoned and its message stays
// queued.
func (o *SMTPOutbox) Stop() error {
	o.startMu.Lock()
	defer o.startMu.Unlock()
	if o.stopped {
		return nil
	}
	o.stopped = true
	if o.cancel != nil {
		o.cancel()
		select {
		case <-o.done:
		case <-time.After(stopGrace):
			o.abandon()
			<-o.done
		}
		o.abandon()
	}
	return o.q.close()
}

// Len is the number of messages queued or being sent.
func (o *SMTPOutbox) Len(ctx context.Context) (int, error) { return o.q.size(ctx) }

// run delivers until ctx ends. After a failure that is the server's
// (unreachable, TLS, AUTH), it waits before trying any message, so a
// server that is down costs one try per backoff step, not one per
// message.
func (o *SMTPOutbox) run(ctx, sendCtx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		e, err := o.q.claim(ctx, time.Now())
		switch {
		case err != nil:
			o.log.Warn("mail: reading the outbox", zap.Error(err))
			failures++
			sleep(ctx, o.cfg.Backoff.after(failures), nil)
		case e == nil:
			o.idle(ctx)
		case o.deliver(sendCtx, e):
			failures = 0
		default:
			failures++
			sleep(ctx, o.cfg.Backoff.after(failures), nil)
		}
	}
}

// idle waits for the next due message, an Enqueue, or the poll interval.
func (o *SMTPOutbox) idle(ctx context.Context) {
	wait := o.poll
	if at, ok, err := o.q.next(ctx); err == nil && ok {
		wait = min(wait, time.Until(at))
	}
	sleep(ctx, wait, o.wake)
}

func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// deliver sends e and settles it: removed once the server accepted it,
// moved aside when refused for good or too old, else queued again after
// its backoff. It reports false when the failure was the server's.
func (o *SMTPOutbox) deliver(ctx context.Context, e *envelope) bool {
	err := o.cfg.SMTP.Send(ctx, o.from.Address, e.To, []byte(e.Raw))
	settle := context.WithoutCancel(ctx)
	fields := []zap.Field{zap.String("id", e.ID), zap.String("kind", e.Kind), zap.String("to", e.To)}
	if err == nil {
		if err := o.q.done(settle, e); err != nil {
			// Sent, but still queued: it will be sent again.
			o.log.Error("mail: sent, but not removed from the outbox", append(fields, zap.Error(err))...)
		}
		o.sent.Add(1)
		o.log.Info("mail: sent", fields...)
		return true
	}
	if ctx.Err() != nil {
		o.q.retry(settle, e, time.Now())
		return true
	}
	e.Attempts++
	e.LastError = err.Error()
	fields = append(fields, zap.Int("attempts", e.Attempts), zap.Error(err))
	var se *sendError
	isSend := errors.As(err, &se)
	if isSend && se.Permanent || time.Since(e.Queued) > o.cfg.MaxAge {
		if isSend && se.Permanent {
			o.refused.Add(1)
		} else {
			o.expired.Add(1)
		}
		if ferr := o.q.failed(settle, e); ferr != nil {
			fields = append(fields, zap.NamedError("queue_error", ferr))
		}
		o.log.Error("mail: not delivered, moved aside", fields...)
		return true
	}
	wait := o.cfg.Backoff.after(e.Attempts)
	o.retried.Add(1)
	if rerr := o.q.retry(settle, e, time.Now().Add(wait)); rerr != nil {
		fields = append(fields, zap.NamedError("queue_error", rerr))
	}
	o.log.Warn("mail: not delivered, will retry", append(fields, zap.Duration("retry_in", wait))...)
	return !(isSend && se.Server)
}
