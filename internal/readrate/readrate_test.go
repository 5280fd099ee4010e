package readrate

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock moves on only when told to, or when a read sleeps: Sleep
// advances it at once, so no test waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  []time.Duration
	cancel bool // Sleep reports a cancelled context instead
}

func newClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	if c.cancel {
		return context.Canceled
	}
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func take(t *testing.T, l *Limiter, member string, rate, n int) (Grant, error) {
	t.Helper()
	return l.Take(context.Background(), member, "budget", rate, n)
}

func TestAFullBucketGrantsItsRateWithoutWaiting(t *testing.T) {
	c := newClock()
	l := New(c, 0)
	for range 6 {
		if _, err := take(t, l, "bob", 3000, 500); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.slept) != 0 {
		t.Fatalf("waited %v for reads within the rate", c.slept)
	}
}

func TestAReadWaitsWhenItsTokensComeWithinMaxWaitOtherwiseIsRefused(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		spent    int // read first, from a full bucket
		n        int
		wantWait bool
		refused  bool
	}{
		{"tokens left: no wait", 600, 100, 100, false, false},
		{"a few tokens short: waits", 600, 550, 100, true, false},
		{"the whole rate short but due in 30 s: waits", 1000, 1000, 500, true, false},
		{"due after 30 s: refused", 600, 600, 500, false, true},
		{"a page larger than the rate needs only a full bucket", 100, 0, 500, false, false},
		{"after a page larger than the rate, the debt is paid first", 100, 500, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(c, 0)
			if _, err := take(t, l, "bob", tt.rate, tt.spent); err != nil {
				t.Fatal(err)
			}
			c.slept = nil
			_, err := take(t, l, "bob", tt.rate, tt.n)
			var re *RefusedError
			if got := errors.As(err, &re); got != tt.refused {
				t.Fatalf("refused %v (%v), want %v", got, err, tt.refused)
			}
			if tt.refused {
				if re.RetryAfter <= MaxWait || !errors.Is(err, ErrRefused) || re.RetrySeconds() < int(MaxWait/time.Second) {
					t.Fatalf("refusal %+v: want a Retry-After beyond MaxWait", re)
				}
				// come back when told: granted
				c.advance(re.RetryAfter)
				if _, err := take(t, l, "bob", tt.rate, tt.n); err != nil {
					t.Fatalf("after Retry-After: %v", err)
				}
				return
			}
			if waited := len(c.slept) > 0; waited != tt.wantWait {
				t.Fatalf("waited %v, want a wait: %v", c.slept, tt.wantWait)
			}
			for _, d := range c.slept {
				if d <= 0 || d > MaxWait {
					t.Fatalf("waited %v, outside (0, MaxWait]", d)
				}
			}
		})
	}
}

func TestReturnGivesBackWhatTheReadDidNotReturn(t *testing.T) {
	c := newClock()
	l := New(c, 0)
	g, err := take(t, l, "bob", 600, 500)
	if err != nil {
		t.Fatal(err)
	}
	g.Return(20) // a page of 500 that held 20 records
	// 580 tokens left: another 500 without a wait
	if _, err := take(t, l, "bob", 600, 500); err != nil || len(c.slept) != 0 {
		t.Fatalf("after the refund: %v, waited %v", err, c.slept)
	}
	// without the refund the same reads refuse
	l2 := New(c, 0)
	take(t, l2, "bob", 600, 500)
	if _, err := take(t, l2, "bob", 600, 500); !errors.Is(err, ErrRefused) {
		t.Fatalf("without a refund: %v, want a refusal", err)
	}
}

func TestACancelledWaitGivesItsTokensBack(t *testing.T) {
	c := newClock()
	l := New(c, 0)
	take(t, l, "bob", 600, 550)
	c.cancel = true
	if _, err := take(t, l, "bob", 600, 100); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	c.cancel = false
	c.slept = nil
	if _, err := take(t, l, "bob", 600, 50); err != nil || len(c.slept) != 0 {
		t.Fatalf("the cancelled read kept its tokens: %v, waited %v", err, c.slept)
	}
}

func TestBucketsArePerMemberAndAppAndUnlimitedWithoutARate(t *testing.T) {
	c := newClock()
	l := New(c, 0)
	take(t, l, "bob", 600, 600)
	for _, tc := range []struct{ member, app string }{{"alice", "budget"}, {"bob", "documents"}} {
		if _, err := l.Take(context.Background(), tc.member, tc.app, 600, 600); err != nil {
			t.Errorf("%s/%s shares bob's budget bucket: %v", tc.member, tc.app, err)
		}
	}
	for range 10 {
		if _, err := take(t, l, "sam", 0, 500); err != nil {
			t.Fatalf("no rate: %v", err)
		}
	}
	if l.Len() != 3 {
		t.Fatalf("%d buckets; an unlimited member must not take one", l.Len())
	}
}

func TestTheBucketTableIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name      string
		asked     int
		wantBound int
	}{
		{"a small bound", 3, 3},
		{"the default", 0, MaxBuckets},
		{"never above MaxBuckets", MaxBuckets * 4, MaxBuckets},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(c, tt.asked)
			for i := range tt.wantBound + 10 {
				take(t, l, strconv.Itoa(i), 60, 60)
			}
			if l.Len() != tt.wantBound {
				t.Fatalf("%d buckets, want the bound %d", l.Len(), tt.wantBound)
			}
		})
	}
	t.Run("the least recently used goes", func(t *testing.T) {
		c := newClock()
		l := New(c, 2)
		take(t, l, "a", 60, 60)
		take(t, l, "b", 60, 60)
		take(t, l, "a", 60, 1)  // a used again
		take(t, l, "c", 60, 60) // evicts b
		if _, err := take(t, l, "a", 60, 60); !errors.Is(err, ErrRefused) {
			t.Fatalf("a's spent bucket was evicted instead of b's: %v", err)
		}
	})
}

// TestBucketBytes measures what a bucket costs, the figure MaxBuckets'
// comment and the README give.
func TestBucketBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates the full table")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := New(newClock(), 0)
	for i := range MaxBuckets {
		l.Take(context.Background(), strconv.Itoa(i), "budget", 60, 1)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / MaxBuckets
	t.Logf("%.0f bytes per bucket, %.1f MiB for %d", per, per*MaxBuckets/(1<<20), MaxBuckets)
	if per > 256 {
		t.Errorf("%.0f bytes per bucket; the documented bound assumes about 150", per)
	}
	runtime.KeepAlive(l)
}
