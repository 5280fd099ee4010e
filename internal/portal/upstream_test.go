package portal

import (
	"net/http"
	"strings"
	"sync"
)

// countingTransport sits between the gateway and the simulator and keeps
// every request kintone received, as "METHOD API" (the path after the
// version, e.g. "GET records.json"). It keeps a connection per request in
// flight, as the kintone client's own transport does, so that what it
// measures is not dialling.
type countingTransport struct {
	mu    sync.Mutex
	calls []string
	next  *http.Transport
}

func newCountingTransport() *countingTransport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 20
	return &countingTransport{next: t}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	method := r.Method
	if o := r.Header.Get("X-HTTP-Method-Override"); o != "" {
		method = o
	}
	api := r.URL.Path
	if i := strings.Index(api, "/v1/"); i >= 0 {
		api = api[i+len("/v1/"):]
	}
	c.mu.Lock()
	c.calls = append(c.calls, method+" "+api)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// taken returns the requests since the last call and forgets them.
func (c *countingTransport) taken() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *countingTransport) reset() { c.taken() }

// counts returns how many requests were made since the last reset, and
// how many of them read records.
func (c *countingTransport) counts() (all, records int) {
	for _, call := range c.taken() {
		all++
		if call == "GET records.json" || call == "GET record.json" {
			records++
		}
	}
	return all, records
}
