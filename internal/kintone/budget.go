package kintone

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

func basicToken(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// readCache keeps kintone's answers to reads for a short time. Writes to an
// app through kgate move the app's generation on, which retires its entries.
type readCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cacheEntry
	bytes   int // of the answers in entries
	gen     map[string]uint64
	now     func() time.Time
}

type cacheEntry struct {
	size    int
	resp    *Response
	app     string
	gen     uint64
	expires time.Time
}

// The cache's memory is bounded by entries and by bytes; a full cache
// drops expired entries first and then everything, which only costs
// upstream calls. An answer larger than maxCachedAnswer is not kept: large
// pages are rarely asked for twice within a second, and would crowd out
// the many small ones.
const (
	maxCacheEntries = 2048
	maxCacheBytes   = 32 << 20
	maxCachedAnswer = 1 << 20
)

func newReadCache(ttl time.Duration) *readCache {
	return &readCache{ttl: ttl, entries: map[string]cacheEntry{}, gen: map[string]uint64{}, now: time.Now}
}

func (c *readCache) enabled() bool { return c.ttl > 0 }

func (c *readCache) get(key string) (*Response, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().After(e.expires) || e.gen != c.gen[e.app] {
		return nil, false
	}
	return e.resp, true
}

// generation returns app's generation, to be given back to put: an answer
// to a read that started before a write is stored as already stale.
func (c *readCache) generation(app string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[app]
}

func (c *readCache) put(key, app string, gen uint64, resp *Response) {
	if !c.enabled() {
		return
	}
	size := len(resp.Body)
	if size > maxCachedAnswer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen[app] {
		return // a write came after the read began
	}
	now := c.now()
	if len(c.entries) >= maxCacheEntries || c.bytes+size > maxCacheBytes {
		for k, e := range c.entries {
			if now.After(e.expires) || e.gen != c.gen[e.app] {
				c.bytes -= e.size
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries || c.bytes+size > maxCacheBytes {
			clear(c.entries)
			c.bytes = 0
		}
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= old.size
	}
	c.entries[key] = cacheEntry{resp: resp, app: app, gen: gen, expires: now.Add(c.ttl), size: size}
	c.bytes += size
}

func (c *readCache) invalidate(app string) {
	c.mu.Lock()
	c.gen[app]++
	c.mu.Unlock()
}

// cacheKey identifies the exact upstream request. The tokens are hashed in:
// two apps' tokens may see different things through the same path.
func (r *Request) cacheKey() string {
	h := sha256.New()
	for _, s := range []string{r.Method, r.Path(), r.Lang, r.Params.Encode()} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, t := range r.Tokens {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	if r.Body != nil {
		b, _ := json.Marshal(r.Body)
		h.Write(b)
	}
	if r.Priority != PriorityNormal {
		// A read refused for its priority must not refuse the same read
		// of another priority that joined it.
		h.Write([]byte{0, byte(r.Priority)})
	}
	return hex.EncodeToString(h.Sum(nil))
}
