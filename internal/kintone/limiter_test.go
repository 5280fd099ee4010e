package kintone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// halfway is a kintone that sends its headers and half of every answer,
// then waits until the test lets it finish: a slow answer kgate is still
// reading. It counts the requests it serves at once.
type halfway struct {
	running, peak atomic.Int32
	finish        chan struct{}
	once          sync.Once
	started       chan string // the path of each request as it starts
}

// done lets every answer finish. Tests also call it at cleanup, before
// the server's own cleanup waits for its handlers.
func (h *halfway) done() { h.once.Do(func() { close(h.finish) }) }

func newHalfway() *halfway {
	return &halfway{finish: make(chan struct{}), started: make(chan string, 100)}
}

func (h *halfway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for p := h.peak.Load(); n > p && !h.peak.CompareAndSwap(p, n); p = h.peak.Load() {
	}
	h.started <- r.URL.Path
	io.WriteString(w, `{"records":[`)
	w.(http.Flusher).Flush()
	<-h.finish
	io.WriteString(w, `]}`)
}

func TestASlotIsHeldUntilTheAnswerIsReadToItsEnd(t *testing.T) {
	h := newHalfway()
	c := newTestClient(t, h.ServeHTTP, func(cfg *Config) { cfg.MaxConcurrent = 1 })
	t.Cleanup(h.done)
	read := func(query string) error { // reads of their own: identical ones would share one request
		_, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1", Params: url.Values{"app": {"1"}, "query": {query}}})
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- read("limit 1") }()
	<-h.started // the first answer's headers are out; its body is not
	go func() { errs <- read("limit 2") }()
	waitFor(t, func() bool { _, waiting := c.Load(); return waiting == 1 })
	if h.running.Load() != 1 {
		t.Fatalf("kintone serves %d requests while the first answer is still being read, want 1", h.running.Load())
	}
	h.done()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if h.peak.Load() != 1 {
		t.Errorf("kintone saw %d requests at once under a cap of 1", h.peak.Load())
	}
}

func TestADownloadHoldsItsSlotWhileItStreamsAndFilesTakeOnlyTheirShare(t *testing.T) {
	h := newHalfway()
	c := newTestClient(t, h.ServeHTTP, func(cfg *Config) { cfg.MaxConcurrent, cfg.FileShare = 3, 1 })
	t.Cleanup(h.done)
	ctx := context.Background()
	first, err := c.Download(ctx, Request{API: "file.json", App: "1", Params: url.Values{"fileKey": {"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := c.Load(); in != 1 {
		t.Fatalf("a download streaming holds %d slots, want 1", in)
	}
	second := make(chan error, 1)
	go func() {
		resp, err := c.Download(ctx, Request{API: "file.json", App: "1", Params: url.Values{"fileKey": {"b"}}})
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		second <- err
	}()
	waitFor(t, func() bool { _, waiting := c.Load(); return waiting == 1 })
	// A read still finds a slot: the download waits for the file share,
	// not for the cap.
	h2 := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, Request{Method: "GET", API: "records.json", App: "1", Params: url.Values{"app": {"1"}}})
		h2 <- err
	}()
	if p := <-h.started; p != "/k/v1/file.json" {
		t.Fatalf("first started %s", p)
	}
	if p := <-h.started; p != "/k/v1/records.json" {
		t.Fatalf("with one download streaming, %s started instead of the read", p)
	}
	h.done()
	if err := <-h2; err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(first.Body); err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if in, waiting := c.Load(); in != 0 || waiting != 0 {
		t.Errorf("after the downloads: %d in flight, %d waiting", in, waiting)
	}
}

func TestARetryGivesItsSlotBackWhileItWaits(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"code":"GAIA_TO04","id":"x","message":"busy"}`)
			return
		}
		io.WriteString(w, `{}`)
	}, func(cfg *Config) { cfg.MaxConcurrent = 1 })
	var done atomic.Bool
	go func() {
		c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1", Params: url.Values{"app": {"1"}}})
		done.Store(true)
	}()
	waitFor(t, func() bool { in, _ := c.Load(); return calls.Load() == 1 && in == 0 && !done.Load() })
	// Another request takes the slot meanwhile.
	if _, err := c.Do(context.Background(), Request{Method: "POST", API: "record.json", App: "1", Body: map[string]int{"app": 1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, done.Load)
	if calls.Load() != 3 {
		t.Errorf("kintone saw %d calls, want the 429, the write and the retry", calls.Load())
	}
}

func TestAReadKintoneKeepsRefusingForLoadIsKgatesBusyNotKintones429(t *testing.T) {
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"code":"GAIA_TO04","id":"x","message":"busy"}`)
	}, nil)
	_, err := c.Do(context.Background(), Request{Method: "GET", API: "records.json", App: "1", Params: url.Values{"app": {"1"}}})
	var ke *Error
	if !errors.Is(err, ErrBusy) || errors.As(err, &ke) {
		t.Fatalf("err = %v, want ErrBusy and not kintone's GAIA_TO04", err)
	}
	if calls.Load() != attempts {
		t.Errorf("kintone saw %d tries, want %d", calls.Load(), attempts)
	}
	if got := c.Refused()[RefusedKintoneBusy]; got != 1 {
		t.Errorf("refusals counted as kintone_busy: %d, want 1", got)
	}
	if in, _ := c.Load(); in != 0 {
		t.Errorf("%d slots still held after the refusal", in)
	}
}

func TestMemberLookupsHaveTheirOwnShareOfTheCap(t *testing.T) {
	h := newHalfway()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("app") == "9" {
			io.WriteString(w, `{"records":[]}`)
			return
		}
		h.ServeHTTP(w, r)
	}, func(cfg *Config) { cfg.MaxConcurrent, cfg.MemberShare, cfg.MaxQueue = 3, 1, 1 })
	t.Cleanup(h.done)
	ctx := context.Background()
	read := func(p Priority, app string, i int) error { // reads of their own: identical ones would share one request
		_, err := c.Do(ctx, Request{Method: "GET", API: "records.json", App: app, Priority: p,
			Params: url.Values{"app": {app}, "query": {fmt.Sprint("limit ", i)}}})
		return err
	}
	var wg sync.WaitGroup
	for i := range 3 { // two in flight, one waiting
		wg.Add(1)
		go func() { defer wg.Done(); read(PriorityNormal, "1", i+1) }()
	}
	waitFor(t, func() bool { in, waiting := c.Load(); return in == 2 && waiting == 1 })
	if err := read(PriorityNormal, "1", 4); !errors.Is(err, ErrBusy) {
		t.Fatalf("a read with the general share taken and its queue full: %v, want ErrBusy", err)
	}
	if err := read(PriorityMember, "9", 5); err != nil {
		t.Fatalf("a member lookup while reads fill the cap: %v, want it served from its own share", err)
	}
	h.done()
	wg.Wait()
	if got := c.Refused()[RefusedQueueFull]; got != 1 {
		t.Errorf("queue_full refusals: %d, want 1", got)
	}
}

func TestDailyThresholdsWarnOnceAndLowPriorityReadsStopBeforeTheLimit(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	var calls atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, `{}`)
	}, func(cfg *Config) {
		cfg.DailyLimit, cfg.DailyWarn, cfg.LowPriorityCutoff, cfg.Logger = 20, []int{50, 80}, 90, zap.New(core)
	})
	t.Cleanup(func() { c.Close() })
	low := WithPriority(context.Background(), PriorityLow)
	read := func(ctx context.Context, app string) error {
		_, err := c.Do(ctx, Request{Method: "GET", API: "records.json", App: app, Params: url.Values{"app": {app}}})
		return err
	}
	warnings := func() []string {
		var out []string
		for _, e := range logs.FilterMessageSnippet("warning threshold").All() {
			out = append(out, fmt.Sprint(e.ContextMap()["app"], "@", e.ContextMap()["threshold_percent"]))
		}
		return out
	}
	for i := 1; i <= 17; i++ {
		if err := read(low, "1"); err != nil {
			t.Fatalf("low-priority read %d of 20: %v", i, err)
		}
	}
	if got := strings.Join(warnings(), " "); got != "1@50 1@80" {
		t.Fatalf("warnings after 17 of 20: %q, want one at 50%% and one at 80%%", got)
	}
	if err := read(low, "1"); err != nil { // the 18th: 90 %
		t.Fatal(err)
	}
	before := calls.Load()
	if err := read(low, "1"); !errors.Is(err, ErrDailyBudget) || !errors.Is(err, ErrBusy) {
		t.Fatalf("a low-priority read past 90%%: %v, want ErrDailyBudget, a kind of ErrBusy", err)
	}
	if calls.Load() != before {
		t.Fatal("the refused low-priority read reached kintone")
	}
	if err := read(context.Background(), "1"); err != nil {
		t.Fatalf("a normal read past 90%%: %v, want it served", err)
	}
	if err := read(low, "2"); err != nil {
		t.Fatalf("a low-priority read of another app: %v", err)
	}
	if got := len(warnings()); got != 2 {
		t.Errorf("%d warnings, want each threshold once", got)
	}
	if got := c.Budget().Crossed()["1"]; got != 2 {
		t.Errorf("Crossed = %d, want both thresholds", got)
	}
	if got := c.Refused()[RefusedLowPriority]; got != 1 {
		t.Errorf("low_priority refusals: %d, want 1", got)
	}
}

func TestRefusalsAreLoggedAsOneLinePerInterval(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	r := &refusals{log: zap.New(core)}
	for range 1000 {
		r.add(RefusedQueueFull)
	}
	r.add(RefusedLowPriority)
	r.report(refusalEvery)
	r.report(refusalEvery) // nothing new: no line
	all := logs.All()
	if len(all) != 1 {
		t.Fatalf("%d log lines for 1,001 refusals, want 1", len(all))
	}
	m := all[0].ContextMap()
	if m["refused"] != int64(1001) || m[RefusedQueueFull] != int64(1000) || m[RefusedLowPriority] != int64(1) {
		t.Errorf("the line says %v", m)
	}
	if got := r.counts()[RefusedQueueFull]; got != 1000 {
		t.Errorf("the metric's count is %d, want 1000", got)
	}
}

func TestTheSharesOfTheCapAreCheckedAndTheFallbackNeverExceedsIt(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"alone", Config{MaxConcurrent: 20, MemberShare: 2}, ""},
		{"no slot left for reads", Config{MaxConcurrent: 2, MemberShare: 2}, "leaves no slot"},
		{"negative share", Config{MaxConcurrent: 20, FileShare: -1}, "must not be negative"},
		{"shared without instances", Config{MaxConcurrent: 20, Shared: "redis://127.0.0.1:1"}, "number of instances"},
		{"more instances than slots", Config{MaxConcurrent: 20, Shared: "redis://127.0.0.1:1", Instances: 21}, "number of instances"},
		{"too many instances for a member share each", Config{MaxConcurrent: 20, MemberShare: 2, Shared: "redis://127.0.0.1:1", Instances: 11}, "too few slots"},
		{"six instances", Config{MaxConcurrent: 20, MemberShare: 2, Shared: "redis://127.0.0.1:1", Instances: 6}, ""},
		{"ten instances", Config{MaxConcurrent: 20, MemberShare: 2, Shared: "redis://127.0.0.1:1", Instances: 10}, ""},
		{"twenty instances, no member share", Config{MaxConcurrent: 20, Shared: "redis://127.0.0.1:1", Instances: 20}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			whole, fallback, err := cfg.shares()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if whole.general+whole.members != cfg.MaxConcurrent || whole.files > whole.general {
				t.Errorf("shares %+v of a cap of %d", whole, cfg.MaxConcurrent)
			}
			instances := max(1, cfg.Instances)
			if total := instances * (fallback.general + fallback.members); total > cfg.MaxConcurrent {
				t.Errorf("%d instances on their fallback shares %+v hold %d, above the cap of %d", instances, fallback, total, cfg.MaxConcurrent)
			}
			if fallback.general < 1 || fallback.files < 1 || fallback.files > fallback.general || (whole.members > 0) != (fallback.members > 0) {
				t.Errorf("fallback shares %+v: every lane in use needs a slot", fallback)
			}
		})
	}
}
