package thumbnail

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Concurrency is how many thumbnails a Maker makes at once; a request
// beyond it waits for a slot (or for its context).
const Concurrency = 2

// DefaultCacheBytes bounds a Maker's cache when Options name no bound.
const DefaultCacheBytes = 64 << 20

// Options configure a Maker.
type Options struct {
	// CacheBytes bounds the thumbnails kept, by their encoded size
	// (default DefaultCacheBytes).
	CacheBytes int64
}

// Maker makes thumbnails, at most Concurrency at once, and keeps them in
// a cache bounded by bytes, least recently used first out. Refusals are
// kept too, so a bad file is read once. It is safe for concurrent use.
type Maker struct {
	slots chan struct{}
	mu    sync.Mutex
	cache *lru
}

// New returns a Maker.
func New(o Options) *Maker {
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	return &Maker{slots: make(chan struct{}, Concurrency), cache: newLRU(o.CacheBytes)}
}

// Opener opens the file a thumbnail is made of.
type Opener func(ctx context.Context) (io.ReadCloser, error)

// Get returns the thumbnail of the file that key names (a key must name
// one content for good, as kintone's file keys do) at size, from the
// cache or made from what open returns. The caller has checked that the
// member may read the file: the cache does not.
func (m *Maker) Get(ctx context.Context, key string, size int, open Opener) (*Thumb, error) {
	ck := fmt.Sprintf("%d\x00%s", size, key)
	if e, ok := m.cached(ck); ok {
		return e.thumb, e.err
	}
	select {
	case m.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.slots }()
	if e, ok := m.cached(ck); ok { // made while this one waited
		return e.thumb, e.err
	}
	t, err := m.make(ctx, size, open)
	if err == nil || errors.Is(err, ErrRefused) {
		m.mu.Lock()
		m.cache.add(ck, entry{thumb: t, err: err})
		m.mu.Unlock()
	}
	return t, err
}

func (m *Maker) cached(ck string) (entry, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cache.get(ck)
}

func (m *Maker) make(ctx context.Context, size int, open Opener) (*Thumb, error) {
	body, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, MaxInputBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInputBytes {
		return nil, refuse(TooLarge, "more than %d bytes", MaxInputBytes)
	}
	return Make(data, size)
}

type entry struct {
	thumb *Thumb
	err   error
}

// cost is what an entry counts against the cache's bound: its bytes and
// a little for the bookkeeping.
func (e entry) cost(key string) int64 {
	n := int64(len(key) + 128)
	if e.thumb != nil {
		n += int64(len(e.thumb.Body))
	}
	return n
}

// lru is a cache bounded by the total cost of its entries.
type lru struct {
	max, used int64
	order     *list.List // front: most recently used
	items     map[string]*list.Element
}

type item struct {
	key string
	e   entry
}

func newLRU(max int64) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *lru) get(key string) (entry, bool) {
	el, ok := c.items[key]
	if !ok {
		return entry{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*item).e, true
}

// add keeps e unless it alone is over the bound, evicting the least
// recently used entries to make room.
func (c *lru) add(key string, e entry) {
	cost := e.cost(key)
	if cost > c.max {
		return
	}
	if el, ok := c.items[key]; ok {
		c.remove(el)
	}
	for c.used+cost > c.max {
		c.remove(c.order.Back())
	}
	c.items[key] = c.order.PushFront(&item{key: key, e: e})
	c.used += cost
}

func (c *lru) remove(el *list.Element) {
	it := c.order.Remove(el).(*item)
	delete(c.items, it.key)
	c.used -= it.e.cost(it.key)
}
