package kintone_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/testenv"
	"github.com/kgate/kgate/internal/testworld"
)

// These tests run several kintone.Clients — kgate instances, as far as
// the quota is concerned — sharing one real redis-server, against the
// simulator at kintone's limit of 100 requests in flight with 200 ms per
// records.json request.

const (
	sharedCap = 20
	latency   = 200 * time.Millisecond
)

func startSim(t *testing.T) (*kintonesim.Server, string) {
	t.Helper()
	sim, err := kintonesim.New(testworld.Seed(50, 1), kintonesim.WithConcurrencyLimit(100))
	if err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(kintonesim.Fault{Path: "/k/v1/records.json", Latency: latency, Times: -1})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func newInstances(t *testing.T, n int, base, redisURL string, mod func(*kintone.Config)) []*kintone.Client {
	t.Helper()
	out := make([]*kintone.Client, n)
	for i := range out {
		cfg := kintone.Config{BaseURL: base, MaxConcurrent: sharedCap, MaxQueue: 50, Shared: redisURL, Instances: n}
		if mod != nil {
			mod(&cfg)
		}
		c, err := kintone.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out
}

// read is one read of the orders app; each i asks something else, so that
// no two reads can be served by one request to kintone.
func read(ctx context.Context, c *kintone.Client, i int, p kintone.Priority) error {
	_, err := c.Do(ctx, kintone.Request{Method: "GET", API: "records.json", App: testworld.OrdersApp,
		Tokens: []string{testworld.OrdersToken}, Priority: p,
		Params: url.Values{"app": {testworld.OrdersApp}, "query": {"limit 1 offset " + strconv.Itoa(i)}}})
	return err
}

type burstResult struct {
	served, busy int
	busyTimes    []time.Duration
	others       []error
}

// slowestBusy is the longest a refused read took to be refused.
func (r burstResult) slowestBusy() time.Duration {
	if len(r.busyTimes) == 0 {
		return 0
	}
	return slices.Max(r.busyTimes)
}

// burst sends n reads at once, spread over the instances.
func burst(instances []*kintone.Client, n int) burstResult {
	var (
		mu  sync.Mutex
		res burstResult
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		c := instances[i%len(instances)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			err := read(context.Background(), c, i, kintone.PriorityNormal)
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				res.served++
			case errors.Is(err, kintone.ErrBusy):
				res.busy++
				res.busyTimes = append(res.busyTimes, took)
			default:
				res.others = append(res.others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return res
}

func TestInstancesSharingRedisKeepKintoneUnderTheCap(t *testing.T) {
	rs := testenv.StartRedis(t)
	sim, base := startSim(t)
	for _, n := range []int{1, 3, 6} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			instances := newInstances(t, n, base, rs.URL(), nil)
			sim.ResetLoad()
			res := burst(instances, 2000)
			_, peak, refused := sim.Load()
			t.Logf("%d instances, 2,000 reads at once: %d served, %d busy (refused within %v at most), kintone saw %d at once and refused %d",
				n, res.served, res.busy, res.slowestBusy(), peak, refused)
			if refused != 0 {
				t.Errorf("kintone refused %d requests with 429, want none", refused)
			}
			if peak > sharedCap {
				t.Errorf("kintone saw %d requests at once, above the shared cap of %d", peak, sharedCap)
			}
			if len(res.others) > 0 {
				t.Errorf("%d reads failed otherwise than busy, e.g. %v", len(res.others), res.others[0])
			}
			if res.busy == 0 || res.served == 0 {
				t.Errorf("served %d, busy %d: a burst of 2,000 on queues of 50 must have both", res.served, res.busy)
			}
		})
	}
}

func TestRedisGoingAwayLeavesEachInstanceItsShareAndItsReturnSharesTheCapAgain(t *testing.T) {
	rs := testenv.StartRedis(t)
	sim, base := startSim(t)
	core, logs := observer.New(zap.InfoLevel)
	instances := newInstances(t, 6, base, rs.URL(), func(cfg *kintone.Config) { cfg.Logger = zap.New(core) })
	share := sharedCap / 6

	done := make(chan burstResult)
	go func() { done <- burst(instances, 2000) }()
	waitFor(t, func() bool { running, _, _ := sim.Load(); return running >= sharedCap/2 })
	rs.Kill()
	waitFor(t, func() bool { return allDegraded(instances, true) })
	// The requests sent under the shared cap finish; from then on each
	// instance keeps to its share.
	waitFor(t, func() bool {
		for _, c := range instances {
			if in, _ := c.Load(); in > share {
				return false
			}
		}
		return true
	})
	_, transient, _ := sim.Load()
	sim.ResetLoad()
	res := <-done
	_, peak, refused := sim.Load()
	t.Logf("Redis away: %d served, %d busy (refused within %v at most); kintone saw %d at once while the instances switched, %d after, refused %d",
		res.served, res.busy, res.slowestBusy(), transient, peak, refused)
	if transient > sharedCap {
		t.Errorf("while the instances switched to their shares kintone saw %d at once, above the cap of %d", transient, sharedCap)
	}
	if peak > share*6 || refused != 0 {
		t.Errorf("without Redis kintone saw %d at once and refused %d; want at most %d (each instance's share) and none",
			peak, refused, share*6)
	}
	if len(res.others) > 0 {
		t.Errorf("%d reads failed otherwise than busy, e.g. %v", len(res.others), res.others[0])
	}
	if n := len(logs.FilterMessageSnippet("Redis does not answer").All()); n != 6 {
		t.Errorf("%d instances logged that Redis went away, want each once", n)
	}

	rs.Start()
	waitFor(t, func() bool { return allDegraded(instances, false) })
	if n := len(logs.FilterMessageSnippet("Redis answers again").All()); n != 6 {
		t.Errorf("%d instances logged that Redis is back, want each once", n)
	}
	sim.ResetLoad()
	res = burst(instances, 2000)
	_, peak, refused = sim.Load()
	t.Logf("Redis back: %d served, %d busy; kintone saw %d at once, refused %d", res.served, res.busy, peak, refused)
	if peak > sharedCap || refused != 0 {
		t.Errorf("with Redis back kintone saw %d at once and refused %d; want at most %d and none", peak, refused, sharedCap)
	}
	if peak <= share*6 {
		t.Errorf("with Redis back kintone saw only %d at once: the instances still keep to their fallback shares", peak)
	}
}

func allDegraded(instances []*kintone.Client, want bool) bool {
	for _, c := range instances {
		if c.Degraded() != want {
			return false
		}
	}
	return true
}

func TestTheHoldsOfAnInstanceThatVanishedExpire(t *testing.T) {
	rs := testenv.StartRedis(t)
	_, base := startSim(t)
	c := newInstances(t, 1, base, rs.URL(), nil)[0]
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	key := "kgate:kintone:" + u.Host + ":slots:general"
	for i := range sharedCap {
		// An instance that died holding every slot, its holds renewed
		// for the last time a moment ago.
		rdb.ZAdd(ctx, key, redis.Z{Score: float64(now.Add(time.Second).UnixMilli()), Member: "dead:" + strconv.Itoa(i)})
	}
	got := make(chan error, 1)
	go func() { got <- read(ctx, c, 1, kintone.PriorityNormal) }()
	waitFor(t, func() bool { _, waiting := c.Load(); return waiting == 1 })
	if err := <-got; err != nil {
		t.Fatalf("a read after the dead instance's holds expired: %v", err)
	}
	if left, _ := rdb.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: "+inf"}).Result(); slices.ContainsFunc(left, func(m string) bool { return m[:5] == "dead:" }) {
		t.Errorf("expired holds remain: %v", left)
	}
}

func TestTheDailyBudgetIsSharedAndWarnsOnceForAllInstances(t *testing.T) {
	rs := testenv.StartRedis(t)
	sim, base := startSim(t)
	sim.ClearFaults()
	core, logs := observer.New(zap.WarnLevel)
	instances := newInstances(t, 2, base, rs.URL(), func(cfg *kintone.Config) {
		cfg.DailyLimit, cfg.DailyWarn, cfg.LowPriorityCutoff, cfg.Logger = 100, []int{80}, 90, zap.New(core)
	})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	u, _ := url.Parse(base)
	key := "kgate:kintone:" + u.Host + ":day:" + time.Now().UTC().Format(time.DateOnly) + ":" + testworld.OrdersApp
	app, _ := strconv.ParseInt(testworld.OrdersApp, 10, 64)
	preset := func(n int) {
		// Earlier today kgate sent n requests: kintone and Redis both
		// counted them.
		sim.SetRequestCount(app, n)
		if err := rdb.Set(ctx, key, n, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	preset(78)
	for i, c := range instances {
		if err := read(ctx, c, i, kintone.PriorityLow); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		for _, c := range instances {
			if c.Budget().Today()[testworld.OrdersApp] != 80 {
				return false
			}
		}
		return true
	})
	if n := sim.RequestCount(app); n != 80 {
		t.Fatalf("kintone counted %d, kgate 80", n)
	}
	waitFor(t, func() bool { return len(logs.FilterMessageSnippet("warning threshold").All()) >= 1 })
	preset(89)
	read(ctx, instances[0], 3, kintone.PriorityNormal) // the 90th
	waitFor(t, func() bool { return instances[1].Budget().Today()[testworld.OrdersApp] >= 90 })
	if err := read(ctx, instances[1], 4, kintone.PriorityLow); !errors.Is(err, kintone.ErrDailyBudget) {
		t.Fatalf("a low-priority read at 90 of 100 on the other instance: %v, want ErrDailyBudget", err)
	}
	if err := read(ctx, instances[1], 5, kintone.PriorityNormal); err != nil {
		t.Fatalf("a normal read at 90 of 100: %v, want it served", err)
	}
	for _, c := range instances {
		c.Close() // the last counts and log lines are out
	}
	if n := len(logs.FilterMessageSnippet("warning threshold").All()); n != 1 {
		t.Errorf("the 80%% threshold was logged %d times by two instances, want once", n)
	}
	if n, _ := rdb.Get(ctx, key).Int(); n != 91 || sim.RequestCount(app) != 91 {
		t.Errorf("Redis counts %d and kintone %d, want both 91", n, sim.RequestCount(app))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRequestsStillWaitingWhenAClientClosesGoOnWithItsShare(t *testing.T) {
	rs := testenv.StartRedis(t)
	sim, base := startSim(t)
	sim.ClearFaults()
	hold := make(chan struct{})
	sim.InjectFault(kintonesim.Fault{Path: "/k/v1/records.json", Hold: hold, Times: 1})
	c := newInstances(t, 1, base, rs.URL(), func(cfg *kintone.Config) { cfg.MaxConcurrent, cfg.Timeout = 1, 5*time.Second })[0]
	ctx := context.Background()
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- read(ctx, c, 1, kintone.PriorityNormal) }()
	waitFor(t, func() bool { in, _ := c.Load(); return in == 1 })
	go func() { second <- read(ctx, c, 2, kintone.PriorityNormal) }()
	waitFor(t, func() bool { _, waiting := c.Load(); return waiting == 1 })
	c.Close() // a configuration reload: this client is the old one
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("a read waiting when its client closed: %v, want it served", err)
	}
}
