package kintonesim

import (
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// kintone's two quotas: requests in flight per domain (WithConcurrencyLimit,
// 429 GAIA_TO04 beyond) and requests per app and day (WithDailyLimit).
//
// kintone does not refuse requests past the daily limit: it keeps serving
// them, and the next morning it mails the store administrator about the
// apps that went over (cybozu.com may suspend an integration that keeps
// harming others, by hand). The simulator does the same: it keeps
// counting and lists the apps over the limit under /_sim/counters, the
// stand-in for that mail. A test that wants a suspension injects a fault.

// WithDailyLimit sets the requests per app and day kintone allows (10,000
// on the standard course, the default; 100,000 on the wide course).
func WithDailyLimit(n int) Option { return func(s *Server) { s.counter.limit = n } }

// counter counts API requests per app and day. kintone's day ends at 09:00
// JST, which is midnight UTC.
type counter struct {
	mu    sync.Mutex
	day   string
	apps  map[int64]int
	limit int
}

func (c *counter) add(app int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roll(now)
	c.apps[app]++
}

func (c *counter) roll(now time.Time) {
	day := now.UTC().Format("2006-01-02")
	if day != c.day || c.apps == nil {
		c.day, c.apps = day, map[int64]int{}
	}
}

// RequestCount returns how many API requests named app today, kintone's
// daily count (the day starts at 09:00 JST).
func (s *Server) RequestCount(app int64) int {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	s.counter.roll(s.now())
	return s.counter.apps[app]
}

// SetRequestCount sets today's count of app, as if that many requests had
// been made earlier in the day.
func (s *Server) SetRequestCount(app int64, n int) {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	s.counter.roll(s.now())
	s.counter.apps[app] = n
}

// OverDailyLimit returns the apps whose count today is past the daily
// limit, in order: the apps kintone's mail would name.
func (s *Server) OverDailyLimit() []int64 {
	s.counter.mu.Lock()
	defer s.counter.mu.Unlock()
	s.counter.roll(s.now())
	var out []int64
	for id, n := range s.counter.apps {
		if n > s.counter.limit {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// counters is the body of GET /_sim/counters.
type counters struct {
	Apps  map[string]int `json:"apps"`
	Limit int            `json:"limit"`
	Over  []string       `json:"over"`
}

func (s *Server) counters() counters {
	s.counter.mu.Lock()
	s.counter.roll(s.now())
	out := counters{Apps: map[string]int{}, Limit: s.counter.limit, Over: []string{}}
	for id, n := range s.counter.apps {
		out.Apps[strconv.FormatInt(id, 10)] = n
	}
	s.counter.mu.Unlock()
	for _, id := range s.OverDailyLimit() {
		out.Over = append(out.Over, strconv.FormatInt(id, 10))
	}
	return out
}

// traffic keeps what a test of a client's concurrency wants to know: the most
// requests that were at the simulator at once, those refused for the limit
// included, and how many it refused with 429.
type traffic struct {
	peak    atomic.Int64
	refused atomic.Int64
}

func (l *traffic) saw(n int64) {
	for {
		p := l.peak.Load()
		if n <= p || l.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// Load reports the requests running now, the most that ran at once since
// the start or the last ResetLoad (requests refused for the limit
// included), and how many were refused with 429 GAIA_TO04.
func (s *Server) Load() (running, peak, refused int) {
	return int(s.running.Load()), int(s.traffic.peak.Load()), int(s.traffic.refused.Load())
}

// ResetLoad starts the peak and the count of refusals afresh.
func (s *Server) ResetLoad() {
	s.traffic.peak.Store(s.running.Load())
	s.traffic.refused.Store(0)
}
