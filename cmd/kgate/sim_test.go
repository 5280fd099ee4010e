package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe to read while runSim writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSimServesPersistsAndStops: kgate sim serves the seed on localhost,
// writes changes to the persist file, and stops when its context ends.
func TestSimServesPersistsAndStops(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.json")
	os.WriteFile(seed, []byte(`{"apps":[{"id":1,"name":"A","fields":[{"type":"SINGLE_LINE_TEXT","code":"t","label":"T"}],
		"tokens":[{"token":"tk","view":true,"add":true}]}]}`), 0o600)
	persist := filepath.Join(dir, "data.json")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- runSim(ctx, &out, ln, simOptions{data: seed, persist: persist}) }()
	url := "http://" + ln.Addr().String() + "/k/v1/record.json"
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"app":1,"record":{"t":{"value":"kept"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cybozu-API-Token", "tk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("add: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "http://localhost:") || !strings.Contains(out.String(), "stopped") {
		t.Errorf("output: %s", out.String())
	}
	b, err := os.ReadFile(persist)
	if err != nil || !bytes.Contains(b, []byte("kept")) {
		t.Fatalf("persist file: %v %s", err, b)
	}
}
