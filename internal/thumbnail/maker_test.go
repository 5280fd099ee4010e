package thumbnail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
)

// source counts how often a file is opened.
type source struct {
	data  []byte
	opens atomic.Int32
}

func (s *source) open(context.Context) (io.ReadCloser, error) {
	s.opens.Add(1)
	return io.NopCloser(bytes.NewReader(s.data)), nil
}

func TestMakerCachesByKeyAndSize(t *testing.T) {
	m := New(Options{})
	src := &source{data: encodeJPEG(t, halves(640, 480, red, blue))}
	ctx := context.Background()
	for i, step := range []struct {
		key   string
		size  int
		opens int32 // opens so far after this step
	}{
		{"k1", CardSize, 1},
		{"k1", CardSize, 1},    // cached
		{"k1", PreviewSize, 2}, // another size is another thumbnail
		{"k2", CardSize, 3},    // another key is another file
		{"k1", PreviewSize, 3},
	} {
		th, err := m.Get(ctx, step.key, step.size, src.open)
		if err != nil {
			t.Fatal(err)
		}
		if w, _ := fit(640, 480, step.size); th.Width != w {
			t.Errorf("step %d: width %d, want %d", i, th.Width, w)
		}
		if got := src.opens.Load(); got != step.opens {
			t.Errorf("step %d: %d opens, want %d", i, got, step.opens)
		}
	}
}

func TestMakerCacheIsBoundedByBytesLeastRecentlyUsedFirst(t *testing.T) {
	src := &source{data: encodeJPEG(t, halves(640, 480, red, blue))}
	one, err := Make(src.data, CardSize)
	if err != nil {
		t.Fatal(err)
	}
	// Room for two thumbnails, not three.
	m := New(Options{CacheBytes: 2*entry{thumb: one}.cost("320\x00kx") + 10})
	ctx := context.Background()
	get := func(key string) {
		if _, err := m.Get(ctx, key, CardSize, src.open); err != nil {
			t.Fatal(err)
		}
	}
	get("ka")
	get("kb")
	get("ka") // ka is now the most recent
	get("kc") // evicts kb
	opens := src.opens.Load()
	get("ka")
	get("kc")
	if got := src.opens.Load(); got != opens {
		t.Errorf("ka or kc was evicted (%d more opens)", got-opens)
	}
	get("kb")
	if got := src.opens.Load(); got != opens+1 {
		t.Errorf("kb stayed cached past the bound")
	}
	if m.cache.used > m.cache.max {
		t.Errorf("cache holds %d bytes, bound %d", m.cache.used, m.cache.max)
	}
}

func TestMakerKeepsRefusals(t *testing.T) {
	m := New(Options{})
	src := &source{data: []byte("\x89PNG\r\n\x1a\n garbage")}
	for range 3 {
		if _, err := m.Get(context.Background(), "bad", CardSize, src.open); !errors.Is(err, ErrRefused) {
			t.Fatalf("Get = %v, want a refusal", err)
		}
	}
	if n := src.opens.Load(); n != 1 {
		t.Errorf("a refused file was opened %d times", n)
	}
}

func TestMakerReadsAtMostTheInputBound(t *testing.T) {
	m := New(Options{})
	var read atomic.Int64
	open := func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(&counting{n: &read, r: io.LimitReader(zeros{}, 1<<30)}), nil
	}
	_, err := m.Get(context.Background(), "huge", CardSize, open)
	var r *Refusal
	if !errors.As(err, &r) || r.Reason != TooLarge {
		t.Fatalf("Get = %v, want a refusal for its size", err)
	}
	if n := read.Load(); n > MaxInputBytes+1<<16 {
		t.Errorf("read %d bytes of a 1 GiB file, bound %d", n, MaxInputBytes)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type counting struct {
	n *atomic.Int64
	r io.Reader
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// With every slot taken by a making that waits, one more request does
// not start: it waits too, and gives up with its context.
func TestMakerRunsAtMostConcurrencyAtOnce(t *testing.T) {
	m := New(Options{})
	started, release := make(chan struct{}), make(chan struct{})
	data := encodeJPEG(t, halves(64, 64, red, blue))
	blocking := func(context.Context) (io.ReadCloser, error) {
		started <- struct{}{}
		<-release
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	done := make(chan error, Concurrency)
	for i := range Concurrency {
		go func() {
			_, err := m.Get(context.Background(), string(rune('a'+i)), CardSize, blocking)
			done <- err
		}()
	}
	for range Concurrency {
		<-started
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var opened atomic.Bool
	_, err := m.Get(ctx, "z", CardSize, func(context.Context) (io.ReadCloser, error) {
		opened.Store(true)
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if !errors.Is(err, context.Canceled) || opened.Load() {
		t.Errorf("a request beyond %d ran (err %v, opened %v)", Concurrency, err, opened.Load())
	}
	close(release)
	for range Concurrency {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
