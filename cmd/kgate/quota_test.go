package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/testenv"
)

// The quota shield end to end: kgate instances as processes of their own
// (this test binary standing in for kgate), sharing one redis-server, in
// front of the simulator at kintone's limit of 100 requests in flight
// with 200 ms per records.json, under bursts of 2,000 reads at once.

const (
	fleetCap     = 20
	fleetLatency = 200 * time.Millisecond
)

// fleet is kgate instances in front of one simulator.
type fleet struct {
	sim       *kintonesim.Server
	sites     []string
	procs     []*exec.Cmd
	logs      []*syncBuffer
	token     string
	shared    bool
	instances int
}

// startFleet starts n instances; redisURL "" leaves each on its own cap.
func startFleet(t *testing.T, n int, redisURL, queue string) *fleet {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	sim, err := kintonesim.New(seed, kintonesim.WithConcurrencyLimit(100))
	if err != nil {
		t.Fatal(err)
	}
	sim.InjectFault(kintonesim.Fault{Path: "/k/v1/records.json", Latency: fleetLatency, Times: -1})
	kintoneSrv := httptest.NewServer(sim)
	t.Cleanup(kintoneSrv.Close)

	opSrv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + opSrv.Listener.Addr().String() + "/"
	op, err := devidp.New(devidp.Config{Issuer: issuer, Users: devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: "machine", Secret: "machine-secret", ActAsUsers: true, Audience: []string{"kgate-api"}}}})
	if err != nil {
		t.Fatal(err)
	}
	opSrv.Config.Handler = op
	opSrv.Start()
	t.Cleanup(opSrv.Close)
	token, err := op.MintAccessToken("machine", "u-alice", []string{"kgate-api"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	policies, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{sim: sim, token: token, shared: redisURL != "", instances: n}
	dir := t.TempDir()
	for i := range n {
		site := "http://" + freeAddr(t)
		shared := ""
		if redisURL != "" {
			shared = fmt.Sprintf("shared %s {\n\t\t\t\tinstances %d\n\t\t\t}", redisURL, n)
		}
		config := fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level INFO
		exclude http.handlers.kgate.audit
	}
}

%[1]s {
	bind 127.0.0.1
	kgate {
		kintone %[2]s {
			max_concurrent %[6]d
			%[3]s
			%[7]s
		}
		app members 1 {
			token demo-token-members
		}
		app budget 2 {
			token demo-token-budget
		}
		policy %[4]s
		oidc %[5]s {
			client_id kgate-portal
			client_secret unused
			base_url %[1]s
			session_key %[8]s
			bearer_audience kgate-api
			bearer_require_at_jwt
			demo
		}
		members members {
			lookup_by email
		}
		limits {
			per_member 10000
		}
	}
}
`, site, kintoneSrv.URL, shared, policies, issuer, fleetCap, queue, strings.Repeat("k", 44))
		path := filepath.Join(dir, fmt.Sprintf("Caddyfile.%d", i))
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self, "run", "--config", path, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), runAsKgate+"=1")
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		f.sites, f.procs, f.logs = append(f.sites, site), append(f.procs, cmd), append(f.logs, logs)
	}
	for i, site := range f.sites {
		deadline := time.Now().Add(60 * time.Second)
		for f.read(site, 0).status != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d did not serve a read within 60 s:\n%s", i, f.logs[i])
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return f
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

var burstClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 500}, Timeout: 2 * time.Minute}

type answer struct {
	status     int
	code       string
	retryAfter string
	took       time.Duration
	err        error
}

// read asks site for one page of budget requests; each i asks something
// else, so that no two reads can share a request to kintone.
func (f *fleet) read(site string, i int) answer {
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/k/v1/records.json?app=2&query=limit%%201%%20offset%%20%d", site, i), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	start := time.Now()
	resp, err := burstClient.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	json.Unmarshal(body, &e)
	return answer{status: resp.StatusCode, code: e.Code, retryAfter: resp.Header.Get("Retry-After"), took: time.Since(start)}
}

type fleetBurst struct {
	ok, busy      int
	busyTook      []time.Duration
	others        []string
	peak, refused int
	// probes are single reads sent one after the other once the queues
	// are full: how long a refusal takes when kgate is not also busy
	// accepting 2,000 connections; baseline, requests for an app kgate
	// does not open, which it refuses without asking kintone, sent
	// between them.
	probes, baseline []time.Duration
}

func (b fleetBurst) slowestBusy() time.Duration {
	if len(b.busyTook) == 0 {
		return 0
	}
	return slices.Max(b.busyTook)
}

func medianOf(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Sorted(slices.Values(d))[len(d)/2].Round(100 * time.Microsecond)
}

func (b fleetBurst) String() string {
	median := medianOf(b.busyTook)
	probe := "no lone read refused"
	if len(b.probes) > 0 && len(b.baseline) > 0 {
		probe = fmt.Sprintf("a lone read refused in %v median, %v at most, a request kgate refuses without kintone in %v median",
			medianOf(b.probes), slices.Max(b.probes).Round(100*time.Microsecond), medianOf(b.baseline))
	}
	return fmt.Sprintf("%d served, %d busy (answered in %v median, %v at most; %s); kintone saw %d at once and answered %d with 429",
		b.ok, b.busy, median, b.slowestBusy().Round(time.Millisecond), probe, b.peak, b.refused)
}

// burst sends n reads at once, spread over the instances.
func (f *fleet) burst(n int) fleetBurst {
	f.sim.ResetLoad()
	var (
		mu  sync.Mutex
		out fleetBurst
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := f.read(f.sites[i%len(f.sites)], i)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case a.status == http.StatusOK:
				out.ok++
			case a.status == http.StatusServiceUnavailable && a.code == "KGATE_UP03" && a.retryAfter != "":
				out.busy++
				out.busyTook = append(out.busyTook, a.took)
			default:
				out.others = append(out.others, fmt.Sprintf("%d %s %v", a.status, a.code, a.err))
			}
		}()
	}
	close(start)
	probed := make(chan struct{})
	go func() { out.probes, out.baseline = f.probe(n); close(probed) }()
	wg.Wait()
	<-probed
	_, out.peak, out.refused = f.sim.Load()
	return out
}

// probe waits until kintone is busy with the burst and the burst's
// connections are in, then times ten reads one after the other, keeping
// those refused.
func (f *fleet) probe(n int) (refused, baseline []time.Duration) {
	deadline := time.Now().Add(30 * time.Second)
	for running, _, _ := f.sim.Load(); running < fleetCap/2; running, _, _ = f.sim.Load() {
		if time.Now().After(deadline) {
			return nil, nil
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(fleetLatency) // the refusals of the burst itself are out
	for i := range 10 {
		if a := f.read(f.sites[0], n+i); a.status == http.StatusServiceUnavailable {
			refused = append(refused, a.took)
		}
		req, _ := http.NewRequest("GET", f.sites[0]+"/k/v1/records.json?app=99", nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		start := time.Now()
		if resp, err := burstClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			baseline = append(baseline, time.Since(start))
		}
	}
	return refused, baseline
}

// count returns how many instances logged msg.
func (f *fleet) count(msg string) int {
	n := 0
	for _, l := range f.logs {
		if strings.Contains(l.String(), msg) {
			n++
		}
	}
	return n
}

func (f *fleet) alive(t *testing.T) {
	t.Helper()
	for i, p := range f.procs {
		if p.ProcessState != nil || p.Process.Signal(syscall.Signal(0)) != nil {
			t.Errorf("instance %d is gone:\n%s", i, f.logs[i])
		}
	}
}

func TestSixKgateProcessesSharingRedisKeepKintoneUnderTheCap(t *testing.T) {
	rs := testenv.StartRedis(t)
	f := startFleet(t, 6, rs.URL(), "max_queue 50")

	check := func(phase string, b fleetBurst) {
		t.Helper()
		t.Logf("%s: %s", phase, b)
		if b.refused != 0 {
			t.Errorf("%s: kintone answered %d reads with 429, want none", phase, b.refused)
		}
		if b.peak > fleetCap {
			t.Errorf("%s: kintone saw %d requests at once, above the shared cap of %d", phase, b.peak, fleetCap)
		}
		if len(b.others) > 0 {
			t.Errorf("%s: %d answers neither served nor busy with Retry-After, e.g. %s", phase, len(b.others), b.others[0])
		}
		if b.ok == 0 || b.busy == 0 {
			t.Errorf("%s: %d served, %d busy: a burst of 2,000 on queues of 50 must have both", phase, b.ok, b.busy)
		}
	}
	check("Redis up", f.burst(2000))

	done := make(chan fleetBurst)
	go func() { done <- f.burst(2000) }()
	deadline := time.Now().Add(30 * time.Second)
	for running, _, _ := f.sim.Load(); running < fleetCap/2; running, _, _ = f.sim.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the burst did not reach kintone")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rs.Kill()
	check("Redis killed during the burst", <-done)
	f.alive(t)
	waitLogged(t, f, "Redis does not answer")
	check("Redis away", f.burst(2000))

	rs.Start()
	waitLogged(t, f, "Redis answers again")
	check("Redis back", f.burst(2000))
	f.alive(t)
	for _, msg := range []string{"Redis does not answer", "Redis answers again"} {
		for i, l := range f.logs {
			if n := strings.Count(l.String(), msg); n != 1 {
				t.Errorf("instance %d logged %q %d times, want once", i, msg, n)
			}
		}
	}
}

func waitLogged(t *testing.T, f *fleet, msg string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for f.count(msg) < len(f.logs) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances logged %q", f.count(msg), len(f.logs), msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQuotaShieldReport measures 1, 3 and 6 instances with kgate's
// default queue, each on its own cap and sharing one through Redis, and
// prints the table. It runs only with KGATE_QUOTA_REPORT=1: it starts 20
// processes and takes minutes.
func TestQuotaShieldReport(t *testing.T) {
	if os.Getenv("KGATE_QUOTA_REPORT") != "1" {
		t.Skip("set KGATE_QUOTA_REPORT=1 to measure the quota shield")
	}
	rs := testenv.StartRedis(t)
	var table []string
	for _, n := range []int{1, 3, 6} {
		for _, shared := range []bool{false, true} {
			url, mode := "", "each its own cap"
			if shared {
				url, mode = rs.URL(), "one cap through Redis"
			}
			t.Run(fmt.Sprintf("%d/%s", n, mode), func(t *testing.T) {
				f := startFleet(t, n, url, "")
				b := f.burst(2000)
				table = append(table, fmt.Sprintf("%d instances, %s: %s; other answers %d", n, mode, b, len(b.others)))
			})
		}
	}
	t.Log("\n" + strings.Join(table, "\n"))
}
