package kintone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Config sets up a Client.
type Config struct {
	// BaseURL is the kintone domain, e.g. https://example.cybozu.com.
	BaseURL string
	// BasicUser and BasicPassword are sent as Authorization: Basic when
	// the domain has cybozu.com's Basic authentication turned on.
	BasicUser, BasicPassword string
	// Timeout bounds one upstream request (default 30s).
	Timeout time.Duration
	// MaxConcurrent caps requests in flight to kintone (default 20): this
	// process's, or with Shared every instance's together. kintone allows
	// 100 per domain, shared by every integration of the company, so kgate
	// keeps well below it. A request holds its slot until kintone's answer
	// is read to its end.
	MaxConcurrent int
	// MaxQueue caps the requests of this process waiting for a slot, per
	// lane (default 10×MaxConcurrent); beyond it kgate answers "busy" at
	// once instead of piling up. A request waits at most Timeout.
	MaxQueue int
	// MemberShare slots of MaxConcurrent are kept for requests of priority
	// PriorityMember (default none: they wait with the others).
	MemberShare int
	// FileShare caps the file transfers holding slots at once (default a
	// quarter of MaxConcurrent, at least 1): a transfer holds its slot to
	// its end, and slow members must not hold them all.
	FileShare int
	// Shared is a redis:// URL: MaxConcurrent, MemberShare and FileShare
	// then hold for every instance using it together, and the daily
	// counters are theirs together.
	Shared string
	// Instances is how many instances share Redis (required with Shared).
	// While Redis does not answer, each keeps to MaxConcurrent/Instances.
	Instances int
	// DailyLimit is kintone's requests per app and day (default 10,000,
	// the standard course; 100,000 on the wide course).
	DailyLimit int64
	// DailyWarn are the percentages of DailyLimit at which kgate logs a
	// warning, once a day each (default 80 and 95).
	DailyWarn []int
	// LowPriorityCutoff is the percentage of DailyLimit past which reads of
	// PriorityLow are refused as busy (default 90; negative: never).
	LowPriorityCutoff int
	// Logger receives the shield's warnings: refusals for load (one line
	// per interval), daily thresholds, Redis going and coming back.
	Logger *zap.Logger
	// CacheTTL keeps upstream reads for this long (0 = no cache). The key
	// is the exact upstream request, which contains the row rule, so one
	// member's cached page is never served to another whose rule differs.
	CacheTTL time.Duration
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
	// Charge, when set, is told of every chunk of a kintone answer as it is
	// read, for the request of ctx; an error stops the read, and the call
	// fails as ErrBusy. kgate charges answers to its memory budget so.
	Charge func(ctx context.Context, n int64) error
}

// Client calls kintone. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	basic string
	http  *http.Client
	// stream carries files both ways. Files may be large and the member's
	// link slow, so there is no deadline on the whole exchange; kintone
	// must still start answering within the timeout, and a transfer that
	// stalls for as long is cut (see stall).
	stream   *http.Client
	timeout  time.Duration
	charge   func(ctx context.Context, n int64) error
	flight   singleflight.Group
	joined   func() // tests: called once a read has joined or started its flight
	cache    *readCache
	budget   *Budget
	shield   *shield
	refusals *refusals
	stop     context.CancelFunc
	done     sync.WaitGroup
	closing  sync.Once
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("kintone base URL %q must be an absolute http(s) URL such as https://example.cybozu.com", cfg.BaseURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("kintone base URL %q must not have a path", cfg.BaseURL)
	}
	u.Path = ""
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 20
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 10 * cfg.MaxConcurrent
	}
	whole, fallback, err := cfg.shares()
	if err != nil {
		return nil, err
	}
	if cfg.Transport == nil {
		// Keep a connection per slot: Go's default of two idle connections
		// per host would make busy moments open and close connections to
		// kintone over and over.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.MaxConcurrent
		// A page of records is 100 KB or more: read it in few system
		// calls rather than in the default 4 KB steps.
		t.ReadBufferSize = 64 << 10
		cfg.Transport = t
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	var shared *sharedRedis
	if cfg.Shared != "" {
		if shared, err = newSharedRedis(cfg.Shared, u, log); err != nil {
			return nil, err
		}
	}
	c := &Client{
		base:     u,
		http:     &http.Client{Timeout: cfg.Timeout, Transport: cfg.Transport, CheckRedirect: noRedirects},
		stream:   &http.Client{Transport: withHeaderTimeout(cfg.Transport, cfg.Timeout), CheckRedirect: noRedirects},
		timeout:  cfg.Timeout,
		charge:   cfg.Charge,
		cache:    newReadCache(cfg.CacheTTL),
		shield:   newShield(whole, fallback, cfg.MaxQueue, cfg.Timeout, shared),
		refusals: &refusals{log: log},
	}
	c.budget = newBudget(cfg.budget(), shared, log)
	if cfg.BasicUser != "" {
		c.basic = "Basic " + basicToken(cfg.BasicUser, cfg.BasicPassword)
	}
	c.start(cfg.Logger != nil)
	return c, nil
}

// shares checks the shares of the cap and fills in their defaults.
func (cfg *Config) shares() (whole, fallback shares, err error) {
	if cfg.MemberShare < 0 || cfg.FileShare < 0 {
		return whole, fallback, errors.New("member_share and file_share must not be negative")
	}
	if cfg.FileShare == 0 {
		cfg.FileShare = max(1, cfg.MaxConcurrent/4)
	}
	if whole, err = split(cfg.MaxConcurrent, cfg.MemberShare, cfg.FileShare); err != nil {
		return whole, fallback, err
	}
	if cfg.Shared == "" {
		return whole, whole, nil
	}
	if cfg.Instances < 1 || cfg.Instances > cfg.MaxConcurrent {
		return whole, fallback, fmt.Errorf("shared needs the number of instances sharing it, from 1 to max_concurrent (%d), to know each one's share while Redis does not answer", cfg.MaxConcurrent)
	}
	fallback, err = fallbackShares(cfg.MaxConcurrent, cfg.Instances, whole)
	return whole, fallback, err
}

func (cfg *Config) budget() budgetConfig {
	b := budgetConfig{limit: cfg.DailyLimit, warn: cfg.DailyWarn, lowCut: cfg.LowPriorityCutoff}
	if b.limit <= 0 {
		b.limit = 10000
	}
	if b.warn == nil {
		b.warn = []int{80, 95}
	}
	if b.lowCut == 0 {
		b.lowCut = 90
	}
	return b
}

// start runs what the client does in the background: the shared cap and
// counters, and the refusal log.
func (c *Client) start(logs bool) {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	if sh := c.shield.shared; sh != nil {
		sh.start(c.shield.lanes(), c.shield.grace)
		c.done.Add(1)
		go func() { defer c.done.Done(); c.budget.flushLoop(ctx) }()
	}
	if logs {
		c.done.Add(1)
		go func() { defer c.done.Done(); c.refusals.reportLoop(ctx) }()
	}
}

// Close stops the client's background work: it adds the last requests to
// the shared daily counters, logs the last refusals and closes its Redis
// client. Requests in flight are not stopped.
func (c *Client) Close() error {
	var err error
	c.closing.Do(func() {
		c.stop()
		c.done.Wait()
		if sh := c.shield.shared; sh != nil {
			err = sh.close()
		}
	})
	return err
}

// kintone never redirects API calls; following one could send the API
// token to another host.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Budget returns the per-app daily request counters.
func (c *Client) Budget() *Budget { return c.budget }

// Request is one call to kintone's REST API.
type Request struct {
	Method     string     // GET, POST, PUT or DELETE
	API        string     // resource path without prefix, e.g. "records.json"
	GuestSpace string     // guest space id, "" for a normal app
	App        string     // app id the call concerns, for counters and cache invalidation
	Tokens     []string   // API tokens, sent comma-separated
	Params     url.Values // GET/DELETE parameters in kintone's query-string form
	Body       any        // JSON body for POST/PUT (and GET/DELETE when Params is nil)
	Lang       string     // Accept-Language for kintone's messages
	Fresh      bool       // bypass the read cache (reads that a write depends on)
	Priority   Priority   // how the request fares when the quota runs short; PriorityNormal takes the context's (WithPriority)
}

// Response is kintone's successful answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Path returns the URL path kintone serves req.API at.
func (r *Request) Path() string {
	if r.GuestSpace != "" {
		return "/k/guest/" + r.GuestSpace + "/v1/" + r.API
	}
	return "/k/v1/" + r.API
}

// longURL is where the official JavaScript client switches a GET to
// POST + X-HTTP-Method-Override; kintone refuses URLs above about 8 KB.
const longURL = 4096

// maxBody caps a kintone JSON answer kgate will read (500 records of
// large rich-text fields stay far below it).
const maxBody = 64 << 20

// Do sends req and returns kintone's 2xx answer. A kintone error body comes
// back as *Error; anything else (timeouts, broken connections, malformed
// answers) as a plain error that never contains credentials.
//
// Identical reads share one upstream call: a read that finds the same
// request already in flight waits for its answer instead of sending its
// own, whether or not the cache is on. Many members whose policies compile
// to the same request (one organization, one level) then cost kintone one
// call, and so does a member's burst of the same page. The answer is
// shared: callers must not modify its Body.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	req.Priority = req.priorityIn(ctx)
	if req.Method != http.MethodGet {
		resp, err := c.do(ctx, &req)
		// Whatever happened, the app's data may have changed.
		c.cache.invalidate(req.App)
		return resp, err
	}
	if req.Fresh {
		// A read a write depends on must start after the write: joining
		// a read already in flight could return what came before it.
		return c.do(ctx, &req)
	}
	key := req.cacheKey()
	if resp, ok := c.cache.get(key); ok {
		return resp, nil
	}
	return c.shared(ctx, key, &req)
}

// shared runs one upstream read per request and app generation at a time:
// a read that starts after a write to the app never joins one that started
// before it. The read is charged to the caller that started it; when that
// caller goes away first, the read ends with it and the callers still
// waiting start another.
func (c *Client) shared(ctx context.Context, key string, req *Request) (*Response, error) {
	gen := c.cache.generation(req.App)
	flightKey := key + "/" + strconv.FormatUint(gen, 10)
	for {
		flight := c.flight.DoChan(flightKey, func() (any, error) {
			resp, err := c.do(ctx, req)
			if err != nil && ctx.Err() != nil {
				return nil, errAbandoned
			}
			if err == nil {
				c.cache.put(key, req.App, gen, resp)
			}
			return resp, err
		})
		if c.joined != nil {
			c.joined()
		}
		select {
		case r := <-flight:
			switch {
			case r.Err == nil:
				return r.Val.(*Response), nil
			case !errors.Is(r.Err, errAbandoned):
				return nil, r.Err
			case ctx.Err() != nil:
				return nil, ctx.Err()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// errAbandoned ends a shared read whose starter went away.
var errAbandoned = errors.New("kintone: the caller that started this read went away")

func (c *Client) do(ctx context.Context, req *Request) (*Response, error) {
	hreq, err := c.build(ctx, req)
	if err != nil {
		return nil, err
	}
	hresp, err := c.sendWith(ctx, c.http, hreq, req, false)
	if err != nil {
		return nil, err
	}
	defer hresp.Body.Close()
	var answer io.Reader = io.LimitReader(hresp.Body, maxBody+1)
	if c.charge != nil {
		answer = &chargedAnswer{r: answer, ctx: ctx, charge: c.charge}
	}
	body, err := readAnswer(answer)
	var refused *chargeRefused
	if errors.As(err, &refused) {
		c.refusals.add(RefusedMemory)
		return nil, fmt.Errorf("%w: %v", ErrBusy, refused.err)
	}
	if err != nil {
		return nil, fmt.Errorf("kintone: reading the answer to %s %s: %w", req.Method, req.Path(), stripURL(err))
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("kintone: the answer to %s %s is larger than %d bytes", req.Method, req.Path(), maxBody)
	}
	if hresp.StatusCode/100 != 2 {
		return nil, decodeError(hresp, body)
	}
	return &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: body}, nil
}

// Download fetches a file; the caller must close the returned body. The
// body streams for as long as it keeps moving: only a stall of the
// client's timeout ends it. The download holds its slots until the body
// is read to its end or closed (kintone counts it while it streams); file
// transfers together hold at most FileShare of them.
func (c *Client) Download(ctx context.Context, req Request) (*http.Response, error) {
	req.Method = http.MethodGet
	ctx, cancel := context.WithCancel(ctx)
	hreq, err := c.build(ctx, &req)
	if err != nil {
		cancel()
		return nil, err
	}
	hresp, err := c.sendWith(ctx, c.stream, hreq, &req, true)
	if err != nil {
		cancel()
		return nil, err
	}
	if hresp.StatusCode/100 != 2 {
		defer cancel()
		defer hresp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
		return nil, decodeError(hresp, body)
	}
	hresp.Body = newStall(hresp.Body, c.timeout, cancel)
	return hresp, nil
}

// Upload sends one file to file.json and returns kintone's temporary key.
// The file streams from content to kintone: kgate never holds it whole.
// An error content returns (a size limit, the member's connection closing)
// ends the upload with that error.
func (c *Client) Upload(ctx context.Context, req Request, name, contentType string, content io.Reader) (string, error) {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	src := &sourceReader{r: content}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, escapeQuotes(name)))
		h.Set("Content-Type", contentType)
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, src)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req.Method, req.API, req.Body, req.Params = http.MethodPost, "file.json", nil, nil
	hreq, err := c.build(ctx, &req)
	if err != nil {
		pr.Close()
		<-copied
		return "", err
	}
	hreq.Body = newSendStall(pr, c.timeout, cancel)
	hreq.ContentLength = -1
	hreq.GetBody = nil
	hreq.Header.Set("Content-Type", mw.FormDataContentType())
	hresp, err := c.sendWith(ctx, c.stream, hreq, &req, true)
	pr.CloseWithError(errUploadEnded) // unblocks the copy if kintone answered early
	<-copied
	if src.err != nil {
		if hresp != nil {
			hresp.Body.Close()
		}
		return "", src.err
	}
	if err != nil {
		return "", err
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("kintone: reading the upload answer: %w", stripURL(err))
	}
	if hresp.StatusCode/100 != 2 {
		return "", decodeError(hresp, body)
	}
	var out struct {
		FileKey string `json:"fileKey"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.FileKey == "" {
		return "", errors.New("kintone: the upload answer has no fileKey")
	}
	return out.FileKey, nil
}

// answers lends the buffers answers are read into. Reading a page into a
// buffer that grows as it goes allocates about twice the page and copies
// it as often; reading into a lent buffer and keeping an exact copy
// allocates the page once, which is what the collector pays for.
var answers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxLent bounds the buffers kept for lending, so that one huge answer
// does not stay in memory after it is gone.
const maxLent = 4 << 20

func readAnswer(r io.Reader) ([]byte, error) {
	buf := answers.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(r)
	body := bytes.Clone(buf.Bytes())
	if buf.Cap() <= maxLent {
		answers.Put(buf)
	}
	return body, err
}

// chargedAnswer tells Charge of each chunk of an answer as it is read.
type chargedAnswer struct {
	r      io.Reader
	ctx    context.Context
	charge func(context.Context, int64) error
}

type chargeRefused struct{ err error }

func (c *chargeRefused) Error() string { return c.err.Error() }

func (c *chargedAnswer) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if cerr := c.charge(c.ctx, int64(n)); cerr != nil {
			return n, &chargeRefused{cerr}
		}
	}
	return n, err
}

// errUploadEnded stops the copy of an upload kintone has answered.
var errUploadEnded = errors.New("kintone: the upload ended")

// sourceReader keeps the first error of the file being uploaded, so that a
// refusal of the member's own body (too large, cut short) is told apart
// from kintone's answer.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// build makes the HTTP request from scratch: nothing of the partner's own
// request (cookies, Authorization, X-Cybozu-*) can reach kintone.
func (c *Client) build(ctx context.Context, req *Request) (*http.Request, error) {
	u := *c.base
	u.Path = req.Path()
	method := req.Method
	var body []byte
	override := ""
	switch {
	case req.Params != nil:
		u.RawQuery = req.Params.Encode()
		if len(u.String()) > longURL {
			override, method = method, http.MethodPost
			u.RawQuery = ""
			var err error
			if body, err = json.Marshal(paramsToJSON(req.Params)); err != nil {
				return nil, err
			}
		}
	case req.Body != nil:
		var err error
		if body, err = json.Marshal(req.Body); err != nil {
			return nil, fmt.Errorf("kintone: encoding the request body: %w", err)
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if override != "" {
		hreq.Header.Set("X-HTTP-Method-Override", override)
	}
	if len(req.Tokens) > 0 {
		hreq.Header.Set("X-Cybozu-API-Token", strings.Join(req.Tokens, ","))
	}
	if c.basic != "" {
		hreq.Header.Set("Authorization", c.basic)
	}
	if req.Lang != "" {
		hreq.Header.Set("Accept-Language", req.Lang)
	}
	hreq.Header.Set("User-Agent", "kgate")
	return hreq, nil
}

// sendWith waits for the slots of the request (file: a file transfer),
// counts it against the app's daily budget and sends it. The slots are
// held until the answer's body is read to its end or closed. Reads kintone
// refused for load (429, 503) are tried again after a short pause, holding
// no slot while they wait; a read kintone still refuses with 429 is
// kgate's busy (ErrBusy), not kintone's error. Writes are never tried
// again, since kgate cannot know whether they took effect.
func (c *Client) sendWith(ctx context.Context, client *http.Client, hreq *http.Request, req *Request, file bool) (*http.Response, error) {
	p := req.priorityIn(ctx)
	if p == PriorityLow && c.budget.short(req.App) {
		return nil, c.refuse(ErrDailyBudget)
	}
	idempotent := hreq.Method == http.MethodGet || hreq.Header.Get("X-HTTP-Method-Override") == http.MethodGet
	for attempt := 1; ; attempt++ {
		release, err := c.shield.acquire(ctx, p, file)
		if err != nil {
			return nil, c.refuse(err)
		}
		c.budget.count(req.App)
		resp, err := client.Do(hreq)
		if err != nil {
			release()
			return nil, fmt.Errorf("kintone: %s %s: %w", hreq.Header.Get("X-HTTP-Method-Override")+hreq.Method, hreq.URL.Path, stripURL(err))
		}
		overloaded := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !idempotent || !overloaded || attempt == attempts && resp.StatusCode != http.StatusTooManyRequests {
			resp.Body = &heldBody{ReadCloser: resp.Body, release: release}
			return resp, nil
		}
		pause := retryPause(resp.Header.Get("Retry-After"), attempt-1)
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) // keeps the connection for the next request
		resp.Body.Close()
		release()
		if attempt == attempts {
			return nil, c.refuse(errKintoneBusy)
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if hreq.GetBody != nil {
			if hreq.Body, err = hreq.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// refuse counts err when it is a refusal for load, and returns it.
func (c *Client) refuse(err error) error {
	if reason := reasonOf(err); reason != "" {
		c.refusals.add(reason)
	}
	return err
}

func retryPause(retryAfter string, attempt int) time.Duration {
	if s, err := strconv.Atoi(retryAfter); err == nil && s >= 0 && s <= 5 {
		return time.Duration(s) * time.Second
	}
	return time.Duration(200*(attempt+1)) * time.Millisecond
}

// stripURL drops the URL from a transport error: it may carry the user's
// query, and error text travels to logs.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// decodeError turns a non-2xx answer into *Error when it is kintone's JSON
// error shape, and into a plain error otherwise (a maintenance page, a
// proxy's HTML, a truncated body).
func decodeError(resp *http.Response, body []byte) error {
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		e.Status = resp.StatusCode
		return &e
	}
	if be := bulkError(resp.StatusCode, body); be != nil {
		return be
	}
	return &UpstreamError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
}

// UpstreamError is a non-2xx answer that is not kintone's JSON error shape:
// a maintenance page, a proxy error, a broken body.
type UpstreamError struct {
	Status     int
	RetryAfter string
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("kintone answered %d without a kintone error body", e.Status)
}

// paramsToJSON turns kintone's query-string form (ids[0]=1, fields[1]=x)
// into the JSON body kintone accepts behind X-HTTP-Method-Override.
func paramsToJSON(p url.Values) map[string]any {
	out := make(map[string]any, len(p))
	arrays := map[string][]string{}
	for k, vs := range p {
		if i := strings.IndexByte(k, '['); i > 0 && strings.HasSuffix(k, "]") {
			n, err := strconv.Atoi(k[i+1 : len(k)-1])
			if err == nil && n >= 0 && n < 10000 && len(vs) > 0 {
				name := k[:i]
				a := arrays[name]
				for len(a) <= n {
					a = append(a, "")
				}
				a[n] = vs[0]
				arrays[name] = a
				continue
			}
		}
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	for k, a := range arrays {
		out[k] = a
	}
	return out
}

// Load reports this process's requests to kintone in flight and waiting
// for a slot, for metrics.
func (c *Client) Load() (inFlight, waiting int) { return c.shield.load() }

// Refused returns the requests refused for load since the start, per
// reason (the Refused… constants).
func (c *Client) Refused() map[string]int64 { return c.refusals.counts() }

// Degraded reports whether the cap is shared through Redis and Redis does
// not answer, so that this instance keeps to its own share.
func (c *Client) Degraded() bool { return c.shield.shared != nil && c.shield.shared.isDown() }
