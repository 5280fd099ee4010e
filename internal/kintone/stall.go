package kintone

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// stall ends a file transfer that stops moving: each read or write that
// makes progress rearms a timer; when it fires, cancel ends the request.
// Large files over slow links take as long as they take, but a peer that
// goes silent does not hold a connection and a goroutine forever.
type stall struct {
	rc     io.ReadCloser
	timer  *time.Timer
	cancel func()
	once   sync.Once
	limit  time.Duration
	done   bool // Close ends the request too (a response body)
}

// newStall guards a response body: closing it ends the request.
func newStall(rc io.ReadCloser, limit time.Duration, cancel func()) *stall {
	return &stall{rc: rc, timer: time.AfterFunc(limit, cancel), cancel: cancel, limit: limit, done: true}
}

// newSendStall guards a request body: the transport closes it once sent,
// and the request goes on to wait for kintone's answer.
func newSendStall(rc io.ReadCloser, limit time.Duration, cancel func()) *stall {
	return &stall{rc: rc, timer: time.AfterFunc(limit, cancel), cancel: cancel, limit: limit}
}

func (s *stall) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if n > 0 {
		s.timer.Reset(s.limit)
	}
	return n, err
}

func (s *stall) Close() error {
	s.once.Do(func() {
		s.timer.Stop()
		if s.done {
			s.cancel()
		}
	})
	return s.rc.Close()
}

// withHeaderTimeout is t with kintone bound to start answering within d,
// for the streaming client that has no overall deadline.
func withHeaderTimeout(t http.RoundTripper, d time.Duration) http.RoundTripper {
	if tr, ok := t.(*http.Transport); ok {
		tr = tr.Clone()
		tr.ResponseHeaderTimeout = d
		return tr
	}
	return t
}
