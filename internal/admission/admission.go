// Package admission bounds what requests may hold, so that a hostile
// member cannot take kgate's memory, connections or upstream slots from
// everyone else. A request is admitted, or refused before its body is
// read:
//
//   - per request: a body larger than its kind allows is refused from its
//     Content-Length, or cut when it grows past the limit, and it must
//     arrive by a deadline that grows only at a minimum rate;
//   - per member: at most PerMember requests in flight, holding at most
//     PerMemberMemory between them;
//   - in total: every request's body, and every kintone answer read for
//     it, is charged to one memory budget; a request that would overdraw it
//     is refused as busy instead of growing the heap.
//
// What a request was charged is given back when it ends.
package admission

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"
)

// Kind is what a request may carry.
type Kind int

const (
	Read   Kind = iota // kintone reads; a JSON body holds a query at most
	Write              // JSON writes: records, comments, status
	Upload             // one file, streamed through to kintone
	Form               // a portal form; multipart parts above 1 MiB go to disk
)

// Limits configure a Gate. Zero values take the defaults in the comments.
type Limits struct {
	MaxReadBody     int64         // largest body of a read (1 MiB)
	MaxBody         int64         // largest JSON body of a write (5 MiB)
	MaxUpload       int64         // largest uploaded file (100 MiB)
	MaxForm         int64         // largest portal form with its files (32 MiB)
	Memory          int64         // what all requests together may hold (160 MiB)
	PerMember       int           // requests one member may have in flight (8)
	PerMemberMemory int64         // what one member's requests may hold (Memory / 2)
	PerMemberBytes  int64         // request body bytes one member may have in flight (128 MiB)
	PerMemberRate   int64         // bytes a second one member may send, and be sent (16 MiB each way)
	BodyTimeout     time.Duration // time for a body to arrive, at least (30 s)
	MinBodyRate     int64         // bytes a second a long body must keep up (64 KiB)
}

// What a request holds is estimated from the bytes it reads: decoding JSON
// into kgate's structures takes several times the text, and a kintone
// answer is read, then filtered into a page of its own. A streamed upload
// holds its buffers only; a form keeps at most 1 MiB in memory.
const (
	jsonFactor   = 16
	answerFactor = 3
	streamCharge = 256 << 10
	formCharge   = 1 << 20
)

// Defaults returns lim with every unset limit at its default.
func (lim Limits) Defaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&lim.MaxReadBody, 1<<20)
	def(&lim.MaxBody, 5<<20)
	def(&lim.MaxUpload, 100<<20)
	def(&lim.MaxForm, 32<<20)
	def(&lim.Memory, 160<<20)
	def(&lim.PerMemberMemory, lim.Memory/2)
	def(&lim.PerMemberBytes, 128<<20)
	def(&lim.PerMemberRate, 16<<20)
	def(&lim.MinBodyRate, 64<<10)
	if lim.PerMember <= 0 {
		lim.PerMember = 8
	}
	if lim.BodyTimeout <= 0 {
		lim.BodyTimeout = 30 * time.Second
	}
	return lim
}

// Check reports limits that contradict each other: a write the member's
// share of memory could never hold, a share larger than the whole.
func (lim Limits) Check() error {
	lim = lim.Defaults()
	switch {
	case lim.PerMemberMemory > lim.Memory:
		return fmt.Errorf("per_member_memory (%d MiB) is more than memory (%d MiB)", lim.PerMemberMemory>>20, lim.Memory>>20)
	case lim.MaxBody*jsonFactor > lim.PerMemberMemory:
		return fmt.Errorf("max_body (%d KiB) needs per_member_memory of at least %d MiB: a write holds about %d times its body while it is checked; raise per_member_memory (and memory) or lower max_body",
			lim.MaxBody>>10, (lim.MaxBody*jsonFactor+1<<20-1)>>20, jsonFactor)
	}
	return nil
}

// Gate admits requests. It is safe for concurrent use.
type Gate struct {
	lim    Limits
	memory *semaphore.Weighted
	mu     sync.Mutex
	member map[string]*load
}

type load struct {
	requests int
	held     int64
	bytes    int64         // declared body bytes in flight
	pace     *rate.Limiter // the member's request bodies together
	paceOut  *rate.Limiter // the member's answers together
}

// New returns a Gate enforcing lim (defaults filled in).
func New(lim Limits) *Gate {
	lim = lim.Defaults()
	return &Gate{lim: lim, memory: semaphore.NewWeighted(lim.Memory), member: map[string]*load{}}
}

// Limits returns the limits in force, defaults included.
func (g *Gate) Limits() Limits { return g.lim }

// The refusals.
var (
	ErrTooLarge = errors.New("admission: the request body is larger than allowed")
	ErrTooMany  = errors.New("admission: this member has too many requests in flight")
	ErrBusy     = errors.New("admission: kgate's memory budget is spent")
)

// Admit lets r in for member, or says why not without reading its body. It
// returns the request to serve — its body bounded, timed and charged, its
// context carrying the bill that kintone's answers are charged to — and
// the function that ends the request's claims, which the caller must call
// when the request is done.
func (g *Gate) Admit(w http.ResponseWriter, r *http.Request, member string, kind Kind) (*http.Request, func(), error) {
	limit := g.limit(kind)
	if r.ContentLength > limit {
		return nil, nil, ErrTooLarge
	}
	inFlight := r.ContentLength
	if inFlight < 0 {
		inFlight = limit // chunked: counted at the most it may grow to
	}
	l, err := g.enter(member, inFlight)
	if err != nil {
		return nil, nil, err
	}
	b := &bill{g: g, member: member, load: l}
	end := func() { b.close(); g.leave(member, inFlight) }
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if hasBody {
		if err := b.add(g.upfront(kind, r.ContentLength)); err != nil {
			end()
			return nil, nil, err
		}
		g.deadline(w, r.ContentLength)
		body := http.MaxBytesReader(w, r.Body, limit)
		if r.ContentLength < 0 && (kind == Read || kind == Write) {
			body = &charged{rc: body, b: b} // a chunked JSON body is charged as it arrives
		}
		body = &paced{rc: body, ctx: r.Context(), pace: l.pace}
		r = r.Clone(r.Context())
		r.Body = body
	}
	return r.WithContext(context.WithValue(r.Context(), billKey{}, b)), end, nil
}

// Pace returns w with what it writes held to the member's rate: a member
// reading large pages as fast as it can takes kintone's, kgate's and the
// network's time from everyone else. r must be the admitted request; any
// other is not paced.
func (g *Gate) Pace(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	b, ok := r.Context().Value(billKey{}).(*bill)
	if !ok {
		return w
	}
	return &pacedWriter{ResponseWriter: w, ctx: r.Context(), pace: b.load.paceOut}
}

type pacedWriter struct {
	http.ResponseWriter
	ctx  context.Context
	pace *rate.Limiter
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), p.pace.Burst())
		if err := p.pace.WaitN(p.ctx, n); err != nil {
			return written, err
		}
		m, err := p.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (p *pacedWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// TooLarge reports whether r's declared body is larger than its kind
// allows: the cheapest refusal, made before anything else about r is
// looked at.
func (g *Gate) TooLarge(r *http.Request, kind Kind) bool {
	return r.ContentLength > g.limit(kind)
}

func (g *Gate) limit(kind Kind) int64 {
	switch kind {
	case Write:
		return g.lim.MaxBody
	case Upload:
		return g.lim.MaxUpload
	case Form:
		return g.lim.MaxForm
	}
	return g.lim.MaxReadBody
}

// upfront is what a body of n bytes (-1: unknown) is charged before it is
// read.
func (g *Gate) upfront(kind Kind, n int64) int64 {
	switch kind {
	case Upload:
		return streamCharge
	case Form:
		if n < 0 {
			return formCharge
		}
		return min(n, formCharge)
	}
	return max(n, 0) * jsonFactor
}

// enter counts a request of member with a body of n bytes in, refusing
// one too many; it returns the member's load.
func (g *Gate) enter(member string, n int64) (*load, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.member[member]
	if l == nil {
		l = &load{pace: rate.NewLimiter(rate.Limit(g.lim.PerMemberRate), int(g.lim.PerMemberRate)),
			paceOut: rate.NewLimiter(rate.Limit(g.lim.PerMemberRate), int(g.lim.PerMemberRate))}
		g.member[member] = l
	}
	if l.requests >= g.lim.PerMember || (l.requests > 0 && l.bytes+n > g.lim.PerMemberBytes) {
		return nil, ErrTooMany
	}
	l.requests++
	l.bytes += n
	return l, nil
}

func (g *Gate) leave(member string, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.member[member]; l != nil {
		l.bytes -= n
		if l.requests--; l.requests <= 0 && l.held <= 0 {
			delete(g.member, member)
		}
	}
}

// hold charges n bytes to member and the budget, or refuses.
func (g *Gate) hold(member string, n int64) error {
	g.mu.Lock()
	l := g.member[member]
	if l == nil || l.held+n > g.lim.PerMemberMemory {
		g.mu.Unlock()
		return ErrTooMany
	}
	l.held += n
	g.mu.Unlock()
	if !g.memory.TryAcquire(n) {
		g.release(member, n, false)
		return ErrBusy
	}
	return nil
}

func (g *Gate) release(member string, n int64, budget bool) {
	if budget {
		g.memory.Release(n)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.member[member]; l != nil {
		l.held -= n
	}
}

// deadline bounds the time to read the body: BodyTimeout, plus the time a
// long body takes at MinBodyRate. Where the server cannot set it, Caddy's
// own read timeouts stay the bound.
func (g *Gate) deadline(w http.ResponseWriter, n int64) {
	d := g.lim.BodyTimeout
	if n > 0 {
		d += time.Duration(n/g.lim.MinBodyRate) * time.Second
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}

// InFlight reports the requests of member in flight and what they hold.
func (g *Gate) InFlight(member string) (requests int, held int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l := g.member[member]; l != nil {
		return l.requests, l.held
	}
	return 0, 0
}

// bill is what one request holds.
type bill struct {
	g      *Gate
	member string
	load   *load // the member's, for its rates
	mu     sync.Mutex
	held   int64
	done   bool
}

type billKey struct{}

// add charges n more bytes to the request, or refuses.
func (b *bill) add(n int64) error {
	if n <= 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return ErrBusy
	}
	if err := b.g.hold(b.member, n); err != nil {
		return err
	}
	b.held += n
	return nil
}

func (b *bill) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.g.release(b.member, b.held, true)
		b.held, b.done = 0, true
	}
}

// ChargeAnswer charges n bytes of a kintone answer read for the request of
// ctx; it refuses (ErrBusy, ErrTooMany) when the budget or the member's
// share cannot hold it. A context of no admitted request is not charged.
func ChargeAnswer(ctx context.Context, n int64) error {
	b, ok := ctx.Value(billKey{}).(*bill)
	if !ok {
		return nil
	}
	return b.add(n * answerFactor)
}

// paced holds a member's bodies together to PerMemberRate: a member
// uploading as fast as the network allows cannot take the processor from
// everyone else.
type paced struct {
	rc   io.ReadCloser
	ctx  context.Context
	pace *rate.Limiter
}

func (p *paced) Read(b []byte) (int, error) {
	if len(b) > p.pace.Burst() {
		b = b[:p.pace.Burst()]
	}
	n, err := p.rc.Read(b)
	if n > 0 {
		if werr := p.pace.WaitN(p.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (p *paced) Close() error { return p.rc.Close() }

// charged charges a JSON body of unknown length as it arrives.
type charged struct {
	rc io.ReadCloser
	b  *bill
}

func (c *charged) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if n > 0 {
		if cerr := c.b.add(int64(n) * jsonFactor); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

func (c *charged) Close() error { return c.rc.Close() }
