// Package auditsink copies audit events into a kintone app the operator
// owns, as records, besides the log file: batched, behind every member's
// request, in a bounded queue, retried while kintone is away.
package auditsink

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// Defaults of Config.
const (
	// DefaultMaxQueue bounds the events waiting for kintone. Past it the
	// oldest is dropped: about 4 MB of memory (README "Audit").
	DefaultMaxQueue = 10000
	// DefaultFlushEvery is how often waiting events are sent when no full
	// batch is waiting.
	DefaultFlushEvery = 5 * time.Second
	// Batch is kintone's limit of records per POST /k/v1/records.json.
	Batch = 100
	// maxBackoff caps the pause after failed sends.
	maxBackoff = time.Minute
)

// Config sets up a Sink.
type Config struct {
	Client     *kintone.Client // kgate's one client: its cap and daily counters hold
	App        string          // the app id
	GuestSpace string
	Tokens     []string      // an API token with the add right
	MaxQueue   int           // default DefaultMaxQueue
	FlushEvery time.Duration // default DefaultFlushEvery
	// Backoff is the pause after the first failed send (default 1s); it
	// doubles with each failure in a row, up to a minute.
	Backoff time.Duration
	Logger  *zap.Logger
}

// Field is one field the audit app must have: its code and kintone type.
type Field struct{ Code, Type string }

// Fields are the audit app's fields, one per key of the log (README
// "Audit"). The app may have more; kgate fills only these.
var Fields = []Field{
	{"time", "DATETIME"}, {"kind", "SINGLE_LINE_TEXT"}, {"request_id", "SINGLE_LINE_TEXT"},
	{"subject", "SINGLE_LINE_TEXT"}, {"email", "SINGLE_LINE_TEXT"}, {"org", "SINGLE_LINE_TEXT"},
	{"member_level", "SINGLE_LINE_TEXT"}, {"via", "SINGLE_LINE_TEXT"}, {"viewed_by", "SINGLE_LINE_TEXT"},
	{"app", "SINGLE_LINE_TEXT"},
	{"action", "SINGLE_LINE_TEXT"}, {"decision", "SINGLE_LINE_TEXT"}, {"reasons", "MULTI_LINE_TEXT"},
	{"records", "NUMBER"}, {"record_ids", "MULTI_LINE_TEXT"}, {"fields", "MULTI_LINE_TEXT"}, {"event", "SINGLE_LINE_TEXT"},
	{"policy_version", "SINGLE_LINE_TEXT"}, {"upstream_status", "NUMBER"}, {"outcome", "SINGLE_LINE_TEXT"},
	{"error", "MULTI_LINE_TEXT"}, {"remote_ip", "SINGLE_LINE_TEXT"}, {"duration", "NUMBER"},
}

type item struct {
	at time.Time
	e  audit.Event
}

// Sink queues events and sends them to kintone from one goroutine.
type Sink struct {
	cfg Config
	log *zap.Logger

	mu      sync.Mutex
	ring    []item // circular, len MaxQueue
	head    int    // index of the oldest
	n       int    // events queued
	headSeq uint64 // sequence number of the oldest
	stats   Stats
	warned  bool // the one overflow warning was logged

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Stats are the sink's counters since it started.
type Stats struct {
	Queued   int   // waiting now
	Sent     int64 // events kintone accepted
	Dropped  int64 // oldest events dropped because the queue was full
	Rejected int64 // events kintone refused (a 4xx: the app's fields or the token are wrong)
	Requests int64 // POSTs tried, counted in the audit app's daily quota too
	Failures int64 // POSTs that failed and were retried
}

// New starts a sink.
func New(cfg Config) *Sink {
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Sink{cfg: cfg, log: cfg.Logger, ring: make([]item, cfg.MaxQueue),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

var _ audit.Sink = (*Sink)(nil)

// Enqueue adds e to the queue without waiting: a member's request never
// waits for kintone on the sink's account. A full queue drops its oldest.
func (s *Sink) Enqueue(at time.Time, e audit.Event) {
	s.mu.Lock()
	full := s.enqueueLocked(at, e)
	s.mu.Unlock()
	if full {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// enqueueLocked adds e and reports whether a full batch is waiting.
func (s *Sink) enqueueLocked(at time.Time, e audit.Event) bool {
	if s.n == len(s.ring) {
		s.ring[s.head] = item{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		s.headSeq++
		s.stats.Dropped++
		if !s.warned {
			s.warned = true
			s.log.Warn("audit sink queue full: dropping the oldest events until kintone takes them (see kgate_audit_sink_dropped_total)",
				zap.Int("max_queue", len(s.ring)))
		}
	}
	s.ring[(s.head+s.n)%len(s.ring)] = item{at: at, e: e}
	s.n++
	return s.n >= Batch
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Queued = s.n
	return st
}

// batch copies up to Batch of the oldest events and the sequence number of
// the last one.
func (s *Sink) batch() ([]item, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := min(s.n, Batch)
	out := make([]item, k)
	for i := range k {
		out[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	return out, s.headSeq + uint64(k) - 1
}

// settle removes the sent events up to last; those that overflow dropped
// meanwhile are gone already.
func (s *Sink) settle(last uint64, sent, rejected int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.n > 0 && s.headSeq <= last {
		s.ring[s.head] = item{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		s.headSeq++
	}
	s.stats.Sent += sent
	s.stats.Rejected += rejected
}

func (s *Sink) count(failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if failed {
		s.stats.Failures++
	}
}

func (s *Sink) run() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.FlushEvery)
	defer t.Stop()
	var backoff time.Duration
	var retryAt time.Time
	var retry <-chan time.Time // fires when a failed send may be tried again
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.wake:
		case <-retry:
		}
		if time.Now().Before(retryAt) {
			continue
		}
		if err := s.drain(); err != nil {
			backoff = min(max(2*backoff, s.cfg.Backoff), maxBackoff)
			retryAt, retry = time.Now().Add(backoff), time.After(backoff)
			continue
		}
		backoff, retry = 0, nil
	}
}

// drain sends batches while full ones wait, and the last partial one.
func (s *Sink) drain() error {
	for {
		err := s.flushOnce(context.Background(), true)
		if errors.Is(err, errEmpty) || errors.Is(err, errYield) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.Stats().Queued < Batch {
			return nil
		}
	}
}

var (
	errEmpty = errors.New("nothing queued")
	errYield = errors.New("members' requests are waiting for kintone")
)

// flushOnce sends one batch. With yield it sends nothing while a request
// waits for one of kgate's slots to kintone: members go first.
func (s *Sink) flushOnce(ctx context.Context, yield bool) error {
	items, last := s.batch()
	if len(items) == 0 {
		return errEmpty
	}
	if _, waiting := s.cfg.Client.Load(); yield && waiting > 0 {
		return errYield
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sent, rejected, err := s.send(ctx, items)
	// The events before a failure are done with, whatever follows.
	if done := uint64(sent + rejected); done > 0 {
		first := last + 1 - uint64(len(items))
		s.settle(first+done-1, sent, rejected)
	}
	return err
}

// send posts items. When kintone refuses a batch for its contents, the
// halves are tried, down to single records: one record kintone will not
// take (a value too long for its field) costs a few requests, not the
// batch. It returns how many leading items were sent and rejected; after
// an error that is worth a retry, the rest wait.
func (s *Sink) send(ctx context.Context, items []item) (sent, rejected int64, err error) {
	records := make([]map[string]any, len(items))
	for i, it := range items {
		records[i] = Record(it.at, it.e)
	}
	_, err = s.cfg.Client.Do(ctx, kintone.Request{
		Method: http.MethodPost, API: "records.json", App: s.cfg.App, GuestSpace: s.cfg.GuestSpace, Tokens: s.cfg.Tokens,
		Body: map[string]any{"app": s.cfg.App, "records": records}, Priority: kintone.PriorityLow,
	})
	switch {
	case errors.Is(err, kintone.ErrBusy):
		return 0, 0, err // kgate held it back (load, the daily budget): nothing was sent
	case err == nil:
		s.count(false)
		return int64(len(items)), 0, nil
	case !permanent(err):
		s.count(true)
		s.log.Debug("sending audit records failed; retrying", zap.Error(err))
		return 0, 0, err
	}
	s.count(false)
	if len(items) == 1 || !invalidValues(err) {
		// A token without the add right or a missing field refuses every
		// record alike: halving would only spend the quota.
		s.log.Warn("kintone refused audit records; they are dropped (check the audit app's fields and token)",
			zap.Int("records", len(items)), zap.String("first_request_id", items[0].e.RequestID), zap.Error(err))
		return 0, int64(len(items)), nil
	}
	h := len(items) / 2
	sent, rejected, err = s.send(ctx, items[:h])
	if err != nil {
		return sent, rejected, err
	}
	s2, r2, err := s.send(ctx, items[h:])
	return sent + s2, rejected + r2, err
}

// invalidValues reports whether kintone refused some values of the
// records (CB_VA01), which other records of the batch may not share.
func invalidValues(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Code == "CB_VA01"
}

// permanent reports whether kintone refused the records themselves: sending
// them again would be refused again.
func permanent(err error) bool {
	var ke *kintone.Error
	if errors.As(err, &ke) {
		return ke.Status >= 400 && ke.Status < 500 && ke.Status != http.StatusTooManyRequests
	}
	var be *kintone.BulkError
	return errors.As(err, &be)
}

// Close stops the sink after sending what is queued, trying until ctx ends.
func (s *Sink) Close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	for {
		err := s.flushOnce(ctx, false)
		switch {
		case errors.Is(err, errEmpty):
			return nil
		case err == nil:
			continue
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(s.cfg.Backoff):
		}
	}
}

// Record is e as a kintone record: each key of the log is a field of the
// same code (README "Audit" lists the field types); empty keys are left
// out.
func Record(at time.Time, e audit.Event) map[string]any {
	r := map[string]any{}
	set := func(code, v string) {
		if v != "" {
			r[code] = map[string]any{"value": v}
		}
	}
	set("time", at.UTC().Format(time.RFC3339))
	set("kind", e.Kind)
	set("request_id", e.RequestID)
	set("subject", e.Subject)
	set("email", e.Email)
	set("org", e.Org)
	set("member_level", e.Level)
	set("via", e.Via)
	set("viewed_by", e.ViewedBy)
	set("app", e.App)
	set("action", e.Action)
	set("decision", e.Decision())
	set("reasons", strings.Join(e.Reasons, "\n"))
	if e.Records > 0 {
		set("records", strconv.Itoa(e.Records))
	}
	set("record_ids", strings.Join(e.RecordIDs, "\n"))
	set("fields", strings.Join(e.Fields, "\n"))
	set("event", e.Change)
	set("policy_version", e.PolicyVersion)
	if e.UpstreamStatus != 0 {
		set("upstream_status", strconv.Itoa(e.UpstreamStatus))
	}
	set("outcome", e.Outcome)
	set("error", e.Error)
	set("remote_ip", e.RemoteIP)
	if e.Duration > 0 {
		set("duration", strconv.FormatFloat(e.Duration.Seconds(), 'f', -1, 64))
	}
	return r
}
