package kintone

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedKintone answers reads only once open is closed, counting them.
type gatedKintone struct {
	reads   atomic.Int32
	arrived chan struct{} // one send per read that reached kintone
	open    chan struct{}
	body    atomic.Value // string
}

func newGatedKintone() *gatedKintone {
	g := &gatedKintone{arrived: make(chan struct{}, 100), open: make(chan struct{})}
	g.body.Store(`{"records":[],"v":1}`)
	return g
}

func (g *gatedKintone) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		io.WriteString(w, `{}`)
		return
	}
	g.reads.Add(1)
	body := g.body.Load().(string) // what kintone held when the read began
	g.arrived <- struct{}{}
	select {
	case <-g.open:
	case <-r.Context().Done():
		return
	}
	io.WriteString(w, body)
}

var listRead = Request{Method: "GET", API: "records.json", App: "1",
	Params: url.Values{"app": {"1"}, "query": {`org in ("acme")`}}}

// joinedAfter makes c count the reads that have joined a flight.
func joinedAfter(c *Client, n int) <-chan struct{} {
	var joined atomic.Int32
	all := make(chan struct{})
	c.joined = func() {
		if joined.Add(1) == int32(n) {
			close(all)
		}
	}
	return all
}

func TestIdenticalReadsInFlightShareOneCallWithOrWithoutTheCache(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run("cache "+ttl.String(), func(t *testing.T) {
			k := newGatedKintone()
			c := newTestClient(t, k.serve, func(cfg *Config) { cfg.CacheTTL = ttl })
			const callers = 50
			all := joinedAfter(c, callers)
			var wg sync.WaitGroup
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := c.Do(context.Background(), listRead)
					if err != nil || string(resp.Body) != `{"records":[],"v":1}` {
						t.Errorf("Do = %v, %v", resp, err)
					}
				}()
			}
			<-all
			close(k.open)
			wg.Wait()
			if n := k.reads.Load(); n != 1 {
				t.Errorf("%d identical concurrent reads reached kintone %d times, want 1", callers, n)
			}
		})
	}
}

func TestAReadAfterAWriteNeverJoinsOrCachesAReadFromBeforeIt(t *testing.T) {
	k := newGatedKintone()
	c := newTestClient(t, k.serve, func(cfg *Config) { cfg.CacheTTL = time.Hour })
	before := make(chan *Response)
	go func() {
		resp, err := c.Do(context.Background(), listRead)
		if err != nil {
			t.Error(err)
		}
		before <- resp
	}()
	<-k.arrived
	if _, err := c.Do(context.Background(), Request{Method: "PUT", API: "record.json", App: "1", Body: map[string]any{"app": 1}}); err != nil {
		t.Fatal(err)
	}
	k.body.Store(`{"records":[],"v":2}`)
	after := make(chan *Response)
	go func() {
		resp, err := c.Do(context.Background(), listRead)
		if err != nil {
			t.Error(err)
		}
		after <- resp
	}()
	<-k.arrived // the read after the write went to kintone on its own
	close(k.open)
	if got := string((<-before).Body); got != `{"records":[],"v":1}` {
		t.Errorf("read before the write = %s", got)
	}
	if got := string((<-after).Body); got != `{"records":[],"v":2}` {
		t.Errorf("read after the write = %s, want what kintone held after it", got)
	}
	resp, err := c.Do(context.Background(), listRead)
	if err != nil || string(resp.Body) != `{"records":[],"v":2}` {
		t.Errorf("the cache kept the answer from before the write: %s, %v", resp.Body, err)
	}
	if n := k.reads.Load(); n != 2 {
		t.Errorf("kintone saw %d reads, want 2", n)
	}
}

func TestWaitersOfAReadWhoseStarterLeftGetTheirOwnAnswer(t *testing.T) {
	k := newGatedKintone()
	c := newTestClient(t, k.serve, nil)
	all := joinedAfter(c, 2)
	starter, leave := context.WithCancel(context.Background())
	left := make(chan error)
	go func() {
		_, err := c.Do(starter, listRead)
		left <- err
	}()
	<-k.arrived
	waiter := make(chan error)
	go func() {
		resp, err := c.Do(context.Background(), listRead)
		if err == nil && string(resp.Body) != `{"records":[],"v":1}` {
			t.Errorf("waiter got %s", resp.Body)
		}
		waiter <- err
	}()
	<-all
	leave()
	if err := <-left; err != context.Canceled {
		t.Errorf("the starter that left got %v, want context.Canceled", err)
	}
	<-k.arrived // the waiter started the read again
	close(k.open)
	if err := <-waiter; err != nil {
		t.Errorf("the waiter failed with the starter: %v", err)
	}
}

func TestFreshReadsNeverJoinAReadInFlight(t *testing.T) {
	k := newGatedKintone()
	c := newTestClient(t, k.serve, nil)
	done := make(chan struct{})
	go func() {
		c.Do(context.Background(), listRead)
		done <- struct{}{}
	}()
	<-k.arrived
	go func() {
		fresh := listRead
		fresh.Fresh = true
		c.Do(context.Background(), fresh)
		done <- struct{}{}
	}()
	<-k.arrived
	close(k.open)
	<-done
	<-done
	if n := k.reads.Load(); n != 2 {
		t.Errorf("kintone saw %d reads, want the fresh one on its own", n)
	}
}

// Answers are read into lent buffers; what a caller gets is its own.
func TestAnAnswerIsNotOverwrittenByTheNextOne(t *testing.T) {
	first, err := readAnswer(strings.NewReader(`{"records":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := readAnswer(strings.NewReader(`{"records":[2,3,4,5,6,7,8]}`)); err != nil {
			t.Fatal(err)
		}
	}
	if string(first) != `{"records":[1]}` {
		t.Errorf("the first answer became %s", first)
	}
}
