package kintonesim

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// Fault is a failure to inject into the next requests that match Path and
// Method. Exactly one kind is usually set; Latency (or Hold) can precede
// any other kind, or delay an otherwise normal answer.
type Fault struct {
	Path   string `json:"path,omitempty"`   // URL path, e.g. /k/v1/records.json; "" matches every API path
	Method string `json:"method,omitempty"` // HTTP method as sent; "" matches any
	Times  int    `json:"times,omitempty"`  // how many requests it hits; 0 means 1, -1 until cleared

	Status      int           `json:"status,omitempty"`      // answer with this status and Body
	Body        string        `json:"body,omitempty"`        //
	ContentType string        `json:"contentType,omitempty"` // for Status; application/json; charset=utf-8 when empty
	Latency     time.Duration `json:"-"`                     // wait before answering (latencyMs on /_sim/faults)
	Drop        bool          `json:"drop,omitempty"`        // close the connection without an answer
	Truncate    bool          `json:"truncate,omitempty"`    // serve the real answer cut in half
	Malformed   bool          `json:"malformed,omitempty"`   // serve the real answer with its JSON broken
	Maintenance bool          `json:"maintenance,omitempty"` // 503 with a plain-text maintenance page

	// Hold, when set (Go tests only), blocks the request until it is
	// closed: a deterministic stand-in for latency.
	Hold <-chan struct{} `json:"-"`
}

type faults struct {
	mu   sync.Mutex
	list []*Fault
}

// InjectFault arms f.
func (s *Server) InjectFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults.mu.Lock()
	s.faults.list = append(s.faults.list, &f)
	s.faults.mu.Unlock()
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.list = nil
	s.faults.mu.Unlock()
}

// take returns the first armed fault matching r and uses up one of its
// hits.
func (fs *faults) take(r *http.Request) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.list {
		if (f.Path == "" || f.Path == r.URL.Path) && (f.Method == "" || f.Method == r.Method) {
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					fs.list = append(fs.list[:i:i], fs.list[i+1:]...)
				}
			}
			return f
		}
	}
	return nil
}

// maintenancePage is what kintone's front answers during maintenance.
const maintenancePage = "503 Service Unavailable\n\nkintone is under maintenance. Please try again later.\n"

// applyFault acts out f; it reports whether the answer has been written.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
		}
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch {
	case f.Drop:
		panic(http.ErrAbortHandler) // net/http closes the connection without answering
	case f.Maintenance:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, maintenancePage)
		return true
	case f.Status != 0:
		ct := f.ContentType
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
		return true
	case f.Truncate, f.Malformed:
		status, body, ctype := s.serve(r)
		if f.Truncate {
			body = body[:len(body)/2]
		} else {
			body = breakJSON(body)
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write(body)
		return true
	}
	return false
}

// breakJSON returns b with its JSON made invalid at the first colon.
func breakJSON(b []byte) []byte {
	out := bytes.Replace(b, []byte(":"), []byte(";"), 1)
	if bytes.Equal(out, b) {
		return append([]byte("{"), b...)
	}
	return out
}
