// Package kintonesim is a kintone simulator: an http.Handler that speaks the
// kintone REST API as kintone does — paths, parameters, JSON shapes, error
// codes, HTTP statuses and limits — over apps, users, tokens and records
// loaded from a seed. kgate's tests and `kgate demo` run against it, so where
// kintone is strict it is strict too.
//
// Behaviour the reference (shared/reference/kintone-api.md) leaves
// unverified is decided in place and marked "unverified" in comments.
//
// For Go tests: LoadSeed (or ParseSeed) and New build a Server, an
// http.Handler; WithClock/SetClock set the clock that record times, date
// functions, cursor and upload expiry and daily counters read; InjectFault
// and ClearFaults arm failures; RequestCount and SetRequestCount read and
// preset the per-app daily counter, OverDailyLimit lists the apps past
// kintone's daily limit, Load reports the requests at once and the 429s; Select evaluates a query as kintone would for a user; EditRecord
// changes a record as another kintone user would; Snapshot and
// WithPersistFile keep the data. SEED.md describes the seed format.
package kintonesim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// Server is the simulator. It is safe for concurrent use.
type Server struct {
	st      *state
	clock   atomic.Pointer[func() time.Time]
	limit   int64
	running atomic.Int64
	control bool
	maxBody int64

	faults  faults
	traffic traffic
	counter counter
	cursors cursors
	persist persister
	rowSeq  atomic.Int64
	hooks   webhooks
}

// Option configures a Server.
type Option func(*Server)

// WithConcurrencyLimit sets how many requests may run at once before
// kintone's 429 GAIA_TO04 (100, kintone's per-domain limit, by default).
func WithConcurrencyLimit(n int) Option { return func(s *Server) { s.limit = int64(n) } }

// WithControl enables the control endpoints under /_sim/ (faults, clock,
// counters, direct edits). Never enable it where partners can reach.
func WithControl() Option { return func(s *Server) { s.control = true } }

// WithPersistFile makes the server save its data to path (atomically, as a
// seed) shortly after every change and on Close.
func WithPersistFile(path string) Option { return func(s *Server) { s.persist.path = path } }

// WithClock sets the clock from the start, so that seeded records get its
// times; SetClock changes it later.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock.Store(&now) } }

// New builds a simulator from seed. Errors name the seed file, the app and
// the field at fault.
func New(seed *Seed, opts ...Option) (*Server, error) {
	s := &Server{limit: 100, maxBody: 64 << 20}
	s.counter.limit = 10000
	now := time.Now
	s.clock.Store(&now)
	s.rowSeq.Store(1000)
	for _, o := range opts {
		o(s)
	}
	st, err := s.load(seed)
	if err != nil {
		return nil, err
	}
	s.st = st
	st.hookedFn = s.hooks.has
	s.cursors.m = map[string]*cursor{}
	s.persist.start(s)
	return s, nil
}

// SetClock replaces the clock the simulator reads for record times, date
// functions in queries, cursor and upload expiry, and daily counters.
func (s *Server) SetClock(now func() time.Time) { s.clock.Store(&now) }

func (s *Server) now() time.Time { return (*s.clock.Load())() }

// Close saves the data when a persist file is set and stops saving.
func (s *Server) Close() error { return s.persist.stop(s) }

// Running reports how many API requests are being served right now.
func (s *Server) Running() int { return int(s.running.Load()) }

// ServeHTTP serves kintone's REST API, and /_sim/ when enabled.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.control && strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	n := s.running.Add(1)
	defer s.running.Add(-1)
	s.traffic.saw(n)
	h := w.Header()
	h.Set("X-ConcurrencyLimit-Limit", strconv.FormatInt(s.limit, 10))
	h.Set("X-ConcurrencyLimit-Running", strconv.FormatInt(n, 10))
	// kintone refuses a request over the limit at once, before doing any
	// of its work: a refused request holds no slot for long.
	if n > s.limit {
		s.traffic.refused.Add(1)
		e := kintone.NewError("GAIA_TO04", s.st.requestLang(r, nil))
		h.Set("X-Cybozu-Error", e.Code)
		e.Respond(w)
		return
	}
	if f := s.faults.take(r); f != nil {
		if s.applyFault(w, r, f) {
			return
		}
	}
	if s.st.basic != nil && !basicOK(r, s.st.basic) {
		// cybozu.com's Basic-auth front answers before kintone does;
		// its body is a page, not kintone's JSON (unverified wording).
		h.Set("WWW-Authenticate", `Basic realm="cybozu.com"`)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "401 Authorization Required\n")
		return
	}
	status, body, ctype := s.serve(r)
	h.Set("Content-Type", ctype)
	w.WriteHeader(status)
	w.Write(body)
}

// serve answers one API request with status, body and content type.
func (s *Server) serve(r *http.Request) (int, []byte, string) {
	space, api, preview, ok := parsePath(r.URL.Path)
	lang := s.st.requestLang(r, nil)
	if !ok {
		return errorBody(kintone.NewError("CB_NO01", lang))
	}
	method := kintone.Method(r) // X-HTTP-Method-Override as kintone honours it
	ep := lookupEndpoint(api, method, preview)
	if ep == nil {
		return errorBody(kintone.NewError("CB_NO01", lang))
	}
	who, kerr := s.st.authenticate(r, lang)
	if kerr != nil {
		return errorBody(kerr)
	}
	lang = s.st.requestLang(r, who)
	c := &call{s: s, st: s.st, lang: lang, who: who, space: space, method: method, api: api, now: s.now()}
	if ep.upload {
		v, kerr := s.upload(c, r)
		if kerr != nil {
			return errorBody(kerr)
		}
		return jsonBodyOf(v)
	}
	p, kerr := s.readParams(r, lang)
	if kerr != nil {
		return errorBody(kerr)
	}
	c.p = p
	if ep.download {
		return s.download(c)
	}
	if ep.bulk {
		return s.bulk(c)
	}
	v, kerr := s.run(c, ep)
	if kerr != nil {
		return errorBody(kerr)
	}
	return jsonBodyOf(v)
}

// run calls an endpoint under the state lock: shared for reads, exclusive
// with an undo log for writes, so a failed write changes nothing.
func (s *Server) run(c *call, ep *endpoint) (any, *kintone.Error) {
	if !ep.write {
		s.st.mu.RLock()
		defer s.st.mu.RUnlock()
		return ep.fn(c)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.begin()
	s.st.api = c.api
	v, err := ep.fn(c)
	if err != nil {
		s.st.rollback()
		return nil, err
	}
	s.sendHooks(s.st.commit())
	s.persist.changed()
	return v, nil
}

// readParams gathers the parameters from the query string and, when the
// content type says JSON, from the body (which wins on conflicts).
func (s *Server) readParams(r *http.Request, lang string) (params, *kintone.Error) {
	p := queryParams(r.URL.Query())
	if !kintone.JSONBody(r.Header.Get("Content-Type")) {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, kintone.NewError("CB_IL02", lang)
	}
	if int64(len(body)) > s.maxBody {
		// kintone documents no body limit; the simulator refuses more
		// than 64 MiB rather than hold it (unverified code).
		return nil, kintone.NewError("CB_IL02", lang)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	b, ok := decodeJSON(body)
	if !ok {
		return nil, kintone.NewError("CB_IJ01", lang)
	}
	for k, v := range b {
		p[k] = v
	}
	return p, nil
}

// parsePath splits /k/v1/{api}.json and /k/guest/{space}/v1/{api}.json, with
// an optional preview/ before the api name.
func parsePath(path string) (space int64, api string, preview, ok bool) {
	rest, found := strings.CutPrefix(path, "/k/")
	if !found {
		return 0, "", false, false
	}
	if g, found := strings.CutPrefix(rest, "guest/"); found {
		i := strings.IndexByte(g, '/')
		if i <= 0 {
			return 0, "", false, false
		}
		n, err := strconv.ParseInt(g[:i], 10, 64)
		if err != nil || n <= 0 {
			return 0, "", false, false
		}
		space, rest = n, g[i+1:]
	}
	rest, found = strings.CutPrefix(rest, "v1/")
	if !found {
		return 0, "", false, false
	}
	rest, found = strings.CutSuffix(rest, ".json")
	if !found || rest == "" {
		return 0, "", false, false
	}
	rest, preview = strings.CutPrefix(rest, "preview/")
	return space, rest, preview, true
}

func errorBody(e *kintone.Error) (int, []byte, string) {
	b, _ := json.Marshal(e)
	return e.Status, b, "application/json; charset=utf-8"
}

// jsonBodyOf encodes a success body; []byte passes through as encoded JSON.
func jsonBodyOf(v any) (int, []byte, string) {
	if b, ok := v.([]byte); ok {
		return http.StatusOK, b, "application/json; charset=utf-8"
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.Encode(v)
	return http.StatusOK, bytes.TrimRight(buf.Bytes(), "\n"), "application/json; charset=utf-8"
}

func basicOK(r *http.Request, b *BasicAuth) bool {
	for _, v := range r.Header.Values("Authorization") {
		if cred, ok := strings.CutPrefix(v, "Basic "); ok {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
			if err == nil && string(raw) == b.User+":"+b.Password {
				return true
			}
		}
	}
	return false
}

func sortStrings(s []string) { sort.Strings(s) }
