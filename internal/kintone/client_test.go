package kintone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

func newTestClient(t *testing.T, h http.HandlerFunc, mod func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewClientRefusesBaseURLsThatAreNotAKintoneDomain(t *testing.T) {
	for _, base := range []string{"", "example.cybozu.com", "ftp://example.cybozu.com", "https://", "https://example.cybozu.com/k/v1"} {
		if _, err := NewClient(Config{BaseURL: base}); err == nil {
			t.Errorf("NewClient(%q) succeeded, want an error", base)
		}
	}
}

func TestRequestIsBuiltFromScratchWithKintoneAuthHeaders(t *testing.T) {
	var got *http.Request
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Write([]byte(`{}`))
	}, func(cfg *Config) { cfg.BasicUser, cfg.BasicPassword = "proxy", "pw" })
	_, err := c.Do(context.Background(), Request{
		Method: "GET", API: "records.json", GuestSpace: "7", App: "3",
		Tokens: []string{"t1", "t2"}, Params: url.Values{"app": {"3"}}, Lang: "ja",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/k/guest/7/v1/records.json" {
		t.Errorf("path = %q, want the guest-space path", got.URL.Path)
	}
	if h := got.Header.Get("X-Cybozu-API-Token"); h != "t1,t2" {
		t.Errorf("X-Cybozu-API-Token = %q, want both tokens comma-separated", h)
	}
	if h := got.Header.Get("Authorization"); h != "Basic "+basicToken("proxy", "pw") {
		t.Errorf("Authorization = %q, want the configured Basic credentials", h)
	}
	if got.Header.Get("Accept-Language") != "ja" || got.Header.Get("Cookie") != "" {
		t.Errorf("unexpected headers %v", got.Header)
	}
}

func TestLongReadsSwitchToMethodOverride(t *testing.T) {
	var method, override string
	var body map[string]any
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		method, override = r.Method, r.Header.Get("X-HTTP-Method-Override")
		json.NewDecoder(r.Body).Decode(&body)
		w.Write([]byte(`{"records":[]}`))
	}, nil)
	q := `title = "` + strings.Repeat("x", 5000) + `"`
	_, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1",
		Params: url.Values{"app": {"1"}, "query": {q}, "fields[0]": {"$id"}, "fields[1]": {"title"}}})
	if err != nil {
		t.Fatal(err)
	}
	if method != "POST" || override != "GET" {
		t.Fatalf("sent %s with override %q, want POST with X-HTTP-Method-Override: GET", method, override)
	}
	if body["query"] != q || len(body["fields"].([]any)) != 2 || body["fields"].([]any)[1] != "title" {
		t.Errorf("body = %v, want the params as JSON with fields as an array", body)
	}
}

func TestKintoneErrorsAreTyped(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"kintone error body", 404, `{"code":"GAIA_RE01","id":"x","message":"The specified record (ID: 9) is not found."}`,
			func(t *testing.T, err error) {
				var ke *Error
				if !errors.As(err, &ke) || ke.Code != "GAIA_RE01" || ke.Status != 404 {
					t.Errorf("err = %v, want *Error GAIA_RE01 with status 404", err)
				}
			}},
		{"maintenance page", 503, "Service Unavailable", func(t *testing.T, err error) {
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.Status != 503 {
				t.Errorf("err = %v, want *UpstreamError 503", err)
			}
		}},
		{"truncated JSON", 500, `{"code":"GAIA_`, func(t *testing.T, err error) {
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Errorf("err = %v, want *UpstreamError", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}, nil)
			_, err := c.Do(context.Background(), Request{Method: "POST", API: "record.json", App: "1", Body: map[string]any{"app": 1}})
			tt.check(t, err)
		})
	}
}

func TestCredentialsNeverAppearInErrors(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
	}, func(cfg *Config) {
		cfg.Timeout = 20 * time.Millisecond
		cfg.BasicUser, cfg.BasicPassword = "user", "secret-pw"
	})
	_, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1",
		Tokens: []string{"secret-token"}, Params: url.Values{"app": {"1"}}})
	if err == nil {
		t.Fatal("want a timeout error")
	}
	for _, secret := range []string{"secret-token", "secret-pw", basicToken("user", "secret-pw")} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains a credential", err)
		}
	}
}

func TestReadsAreRetriedOnOverloadButWritesNever(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			var calls atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(429)
					io.WriteString(w, `{"code":"GAIA_TO04","id":"x","message":"busy"}`)
					return
				}
				io.WriteString(w, `{}`)
			}, nil)
			req := Request{Method: method, API: "records.json", App: "1", Params: url.Values{"app": {"1"}}}
			if method == "POST" {
				req.Params, req.Body = nil, map[string]any{"app": 1, "records": []any{}}
			}
			_, err := c.Do(context.Background(), req)
			want := int32(2)
			if method == "POST" {
				want = 1
				var ke *Error
				if !errors.As(err, &ke) || ke.Code != "GAIA_TO04" {
					t.Errorf("err = %v, want the 429 passed on", err)
				}
			} else if err != nil {
				t.Errorf("err = %v, want the retry to succeed", err)
			}
			if calls.Load() != want {
				t.Errorf("kintone saw %d calls, want %d", calls.Load(), want)
			}
		})
	}
}

func TestConcurrencyStaysUnderTheCapAndTheQueueIsBounded(t *testing.T) {
	var inflight, peak atomic.Int32
	release := make(chan struct{})
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inflight.Add(-1)
		io.WriteString(w, `{}`)
	}, func(cfg *Config) { cfg.MaxConcurrent, cfg.MaxQueue = 2, 4 })

	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ { // 2 in flight, 4 waiting
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Do(context.Background(), Request{Method: "POST", API: "record.json", App: "1", Body: map[string]int{"app": 1}})
			errs <- err
		}()
	}
	waitFor(t, func() bool { inFlight, waiting := c.Load(); return inFlight == 2 && waiting == 4 })
	if _, err := c.Do(context.Background(), Request{Method: "POST", API: "record.json", App: "1", Body: 1}); !errors.Is(err, ErrBusy) {
		t.Errorf("seventh request: err = %v, want ErrBusy while the queue is full", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if peak.Load() > 2 {
		t.Errorf("kintone saw %d requests at once, want at most 2", peak.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadCacheServesRepeatsAndWritesRetireIt(t *testing.T) {
	var reads atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			reads.Add(1)
		}
		io.WriteString(w, `{"records":[]}`)
	}, func(cfg *Config) { cfg.CacheTTL = time.Hour })
	ctx := context.Background()
	read := func(query string, fresh bool) {
		t.Helper()
		if _, err := c.Do(ctx, Request{Method: "GET", API: "records.json", App: "1", Fresh: fresh,
			Params: url.Values{"app": {"1"}, "query": {query}}}); err != nil {
			t.Fatal(err)
		}
	}
	read(`org in ("acme")`, false)
	read(`org in ("acme")`, false)
	if reads.Load() != 1 {
		t.Fatalf("identical reads reached kintone %d times, want 1", reads.Load())
	}
	read(`org in ("bluebird")`, false)
	if reads.Load() != 2 {
		t.Fatalf("a read with another row rule was served from the cache")
	}
	read(`org in ("acme")`, true)
	if reads.Load() != 3 {
		t.Fatalf("a fresh read was served from the cache")
	}
	if _, err := c.Do(ctx, Request{Method: "PUT", API: "record.json", App: "1", Body: map[string]any{"app": 1}}); err != nil {
		t.Fatal(err)
	}
	read(`org in ("acme")`, false)
	if reads.Load() != 4 {
		t.Fatalf("a write to the app did not retire its cached reads")
	}
}

func TestBudgetCountsPerAppAndDay(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) }, nil)
	day := time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)
	c.budget.now = func() time.Time { return day }
	for _, app := range []string{"1", "1", "2"} {
		c.Do(context.Background(), Request{Method: "GET", API: "app.json", App: app, Params: url.Values{"id": {app}}})
	}
	if got := c.Budget().Today(); got["1"] != 2 || got["2"] != 1 {
		t.Fatalf("today = %v, want 1:2 2:1", got)
	}
	day = day.Add(2 * time.Minute) // 09:01 JST: kintone's counters reset
	if got := c.Budget().Today(); len(got) != 0 {
		t.Fatalf("after the reset: %v, want empty", got)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked.Store(true) }))
	defer other.Close()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
	}, nil)
	_, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1", Tokens: []string{"t"}, Params: url.Values{"app": {"1"}}})
	if err == nil || leaked.Load() {
		t.Fatalf("err = %v, leaked = %v: a redirect must neither be followed nor count as success", err, leaked.Load())
	}
}

func TestUploadSendsOneMultipartFile(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		f, h, err := r.FormFile("file")
		if err != nil {
			w.WriteHeader(400)
			return
		}
		b, _ := io.ReadAll(f)
		if h.Filename != `a "b".txt` || string(b) != "hello" {
			w.WriteHeader(400)
			return
		}
		io.WriteString(w, `{"fileKey":"tmp-1"}`)
	}, nil)
	key, err := c.Upload(context.Background(), Request{App: "2"}, `a "b".txt`, "text/plain", strings.NewReader("hello"))
	if err != nil || key != "tmp-1" {
		t.Fatalf("Upload = %q, %v", key, err)
	}
}

func TestDownloadsOutlastTheTimeoutWhileTheyMoveAndEndWhenTheyStall(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		chunks, gap := 8, 60*time.Millisecond
		if r.URL.Query().Get("fileKey") == "stalls" {
			chunks, gap = 2, time.Second
		}
		for i := 0; i < chunks; i++ {
			io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	}, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
	// 8 chunks 60ms apart take about 480ms, longer than the timeout.
	resp, err := c.Download(context.Background(), Request{API: "file.json", App: "2", Params: url.Values{"fileKey": {"moves"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(b) != 80 {
		t.Fatalf("read %d bytes, %v: a download that keeps moving must not be cut", len(b), err)
	}
	resp, err = c.Download(context.Background(), Request{API: "file.json", App: "2", Params: url.Values{"fileKey": {"stalls"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("read %d bytes: a download that stalls past the timeout must end", len(b))
	}
}

func TestUploadsStreamWithoutBeingHeldWhole(t *testing.T) {
	var sawLength int64
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		sawLength = r.ContentLength
		f, _, err := r.FormFile("file")
		if err != nil {
			w.WriteHeader(400)
			return
		}
		n, _ := io.Copy(io.Discard, f)
		fmt.Fprintf(w, `{"fileKey":"tmp-%d"}`, n)
	}, nil)
	big := io.LimitReader(zeros{}, 8<<20)
	key, err := c.Upload(context.Background(), Request{App: "2"}, "big.bin", "", big)
	if err != nil || key != "tmp-8388608" {
		t.Fatalf("Upload = %q, %v", key, err)
	}
	if sawLength != -1 {
		t.Errorf("kintone saw Content-Length %d: the upload was buffered to measure it", sawLength)
	}
	broken := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("member went away")))
	if _, err := c.Upload(context.Background(), Request{App: "2"}, "cut.bin", "", broken); err == nil || err.Error() != "member went away" {
		t.Fatalf("Upload of a body that broke off: %v, want the body's own error", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTheReadCacheHoldsNoLargeAnswersAndBoundedBytes(t *testing.T) {
	c := newReadCache(time.Minute)
	c.put("big", "1", 0, &Response{Body: make([]byte, maxCachedAnswer+1)})
	if _, ok := c.get("big"); ok {
		t.Fatal("an answer above maxCachedAnswer was cached")
	}
	for i := 0; i < 2*maxCacheBytes/maxCachedAnswer; i++ {
		c.put(strconv.Itoa(i), "1", 0, &Response{Body: make([]byte, maxCachedAnswer)})
		if c.bytes > maxCacheBytes {
			t.Fatalf("after %d answers the cache holds %d bytes, above %d", i+1, c.bytes, maxCacheBytes)
		}
	}
}
