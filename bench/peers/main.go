// Command peers measures kgate side by side with its peers: every target
// serves the same page of 100 budget requests (about 130 KB) to the same
// gold member, in front of the same simulated kintone, driven by wrk in
// alternating rounds.
//
//	go run ./bench/peers                     # all four targets, 3 rounds of 5 s, wrk -t2 -c16
//	go run ./bench/peers --pages 200         # requests go round 200 pages: no two in flight alike
//	go run ./bench/peers --only kgate-uncached,reverse_proxy --rounds 5
//
// bench/README.md describes it and its figures.
//
// The targets:
//
//   - reverse_proxy: plain Caddy (the kgate binary, without the kgate
//     directive) whose reverse_proxy adds the kintone API token header: the
//     floor, a proxy that checks nothing.
//   - oauth2-proxy: oauth2-proxy v7.15.6 verifying the member's JWT access
//     token (--skip-jwt-bearer-tokens) and adding the API token header: an
//     authenticating proxy that decides nothing per record.
//   - kgate-cached: kgate with the demo's configuration, whose 1 s read
//     cache answers repeated pages from memory (still deciding, re-checking
//     and projecting every record of every answer).
//   - kgate-uncached: the same without the cache: every answer needs a
//     kintone call, which only identical reads in flight share.
//
// It builds kgate, installs oauth2-proxy when it is not on PATH or in
// $(go env GOPATH)/bin, starts the simulator with the demo world plus
// --records generated budget requests, the demo OpenID Provider (in this
// process), and each target on 127.0.0.1, checks that every target answers
// the same 100 records, then runs wrk against each in turn, round after
// round, and prints requests a second, latency, the CPU each process used
// and the proxies' peak memory. Every process it started is stopped on exit
// and on Ctrl-C.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kgate/kgate/internal/testenv"
)

const o2pModule = "github.com/oauth2-proxy/oauth2-proxy/v7"
const o2pVersion = "v7.15.6"

var (
	rounds   = flag.Int("rounds", 3, "rounds; each runs every target once, in turn")
	duration = flag.Duration("duration", 5*time.Second, "how long wrk drives a target in a round (whole seconds)")
	warmup   = flag.Duration("warmup", 2*time.Second, "an unmeasured run of each target before the rounds; 0 skips it")
	conns    = flag.Int("connections", 16, "wrk's connections (-c)")
	threads  = flag.Int("threads", 2, "wrk's threads (-t)")
	pages    = flag.Int("pages", 1, "1: every request reads the same page; N > 1: requests go round N different pages (offset 0 … N-1), the same ones for every target, so that no two requests in flight are alike")
	records  = flag.Int("records", 3000, "budget requests generated on top of the demo's (at least 300: the member's organization needs 100)")
	only     = flag.String("only", "", "comma-separated targets to run (reverse_proxy, oauth2-proxy, kgate-cached, kgate-uncached); default all")
	kgateBin = flag.String("kgate", "", "kgate binary to use instead of building ./cmd/kgate")
	o2pBin   = flag.String("oauth2-proxy", "", "oauth2-proxy binary to use instead of finding or installing one")
	quiet    = flag.Duration("quiet-wait", 0, "on a shared machine: wait up to this long per run for the rest of the machine to be idle, and run again a run it disturbed")
	keep     = flag.Bool("keep", false, "keep the temporary directory (configurations, seed, every process's log)")
)

// target is one server under test.
type target struct {
	name, desc string
	site       string                  // its base URL
	path       func(offset int) string // the page the member reads through it: memberPath or directPath
	header     map[string]string       // what is sent with it
	proc       *proc
	results    []wrkResult
	rss        int64 // peak resident memory after the rounds
}

var allTargets = []struct{ name, desc string }{
	{"reverse_proxy", "Caddy reverse_proxy adding the API token (the kgate binary, plain Caddy config)"},
	{"oauth2-proxy", "oauth2-proxy, JWT bearer verified (--skip-jwt-bearer-tokens), API token injected"},
	{"kgate-cached", "kgate, the demo's config (1 s read cache), bearer token"},
	{"kgate-uncached", "kgate, the demo's config with cache_ttl 0s, bearer token"},
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/peers [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(); err != nil {
		if interrupted.Load() {
			select {} // the signal handler cleans up and exits
		}
		fmt.Fprintln(os.Stderr, "peers:", err)
		stopAll()
		os.Exit(1)
	}
}

func run() error {
	selected, err := pick(*only)
	if err != nil {
		return err
	}
	if *rounds < 1 || *duration < time.Second || *conns < 1 || *threads < 1 || *threads > *conns {
		return errors.New("want --rounds ≥ 1, --duration ≥ 1s, and 1 ≤ --threads ≤ --connections")
	}
	if *records < 300 {
		return fmt.Errorf("--records %d: at least 300, so that the member's organization has a full page of 100", *records)
	}
	if *pages < 1 || *pages > *records/3-100 {
		return fmt.Errorf("--pages %d: between 1 and %d (the member's organization has about %d records)", *pages, *records/3-100, *records/3)
	}
	wrkPath, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk is not on PATH: install it (Debian and Ubuntu: apt-get install wrk)")
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kgate-peers-")
	if err != nil {
		return err
	}
	cleanup := func() {
		if *keep {
			fmt.Fprintln(os.Stderr, "peers: kept", dir)
		} else {
			os.RemoveAll(dir)
		}
	}
	defer cleanup()
	onInterrupt(cleanup)
	defer stopAll()

	for _, bin := range []*string{kgateBin, o2pBin} {
		if *bin != "" {
			if *bin, err = filepath.Abs(*bin); err != nil {
				return err
			}
			if _, err := os.Stat(*bin); err != nil {
				return err
			}
		}
	}
	kgate := *kgateBin
	if kgate == "" {
		if _, err := exec.LookPath("go"); err != nil {
			return errors.New("go is not on PATH: it builds kgate (or pass --kgate BINARY)")
		}
		kgate = filepath.Join(dir, "kgate")
		fmt.Println("building kgate: go build -o", kgate, "./cmd/kgate")
		if err := runStep(root, "go", "build", "-o", kgate, "./cmd/kgate"); err != nil {
			return fmt.Errorf("building kgate: %w", err)
		}
	}
	var o2p string
	if selected["oauth2-proxy"] {
		if o2p, err = findOAuth2Proxy(root); err != nil {
			return err
		}
	}

	// the simulator
	seedPath := filepath.Join(dir, "seed.json")
	total, perOrg, err := writeSeed(seedPath, *records)
	if err != nil {
		return err
	}
	header := machine(root, kgate, o2p, wrkPath, total, perOrg)
	simAddr, err := freeAddr()
	if err != nil {
		return err
	}
	sim, err := start(dir, "sim", nil, kgate, "sim", "--data", seedPath, "--listen", simAddr, "--concurrency", "1000", "--control")
	if err != nil {
		return err
	}
	simURL := "http://" + simAddr
	if err := waitHTTP(sim, simURL+directPath(-1), http.Header{"X-Cybozu-Api-Token": {budgetToken}}, 60*time.Second,
		func(status int, _ []byte) bool { return status == 200 }); err != nil {
		return err
	}
	fmt.Printf("simulator (pid %d) on %s: the demo world + %d generated budget requests; %d in all, %d of them %s's\n", sim.pid(), simURL, *records, total, perOrg, memberOrg)

	// the OpenID Provider and the member's tokens
	op, err := startProvider()
	if err != nil {
		return err
	}
	defer op.srv.Close()
	kgateToken, err := op.token(kgateClient, kgateAud)
	if err != nil {
		return err
	}
	o2pToken, err := op.token(o2pClient, o2pClient)
	if err != nil {
		return err
	}

	// the targets
	var targets []*target
	for _, t := range allTargets {
		if !selected[t.name] {
			continue
		}
		tg := &target{name: t.name, desc: t.desc}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		site := "http://" + addr
		var ready func(int, []byte) bool = func(status int, _ []byte) bool { return status == 200 }
		switch t.name {
		case "reverse_proxy":
			cfg, err := writeFile(dir, "reverse_proxy.Caddyfile", proxyConfig(addr, simURL))
			if err != nil {
				return err
			}
			tg.proc, err = start(dir, t.name, caddyEnv(dir, t.name), kgate, "run", "--config", cfg, "--adapter", "caddyfile")
			if err != nil {
				return err
			}
			tg.path = directPath
		case "oauth2-proxy":
			cfg, err := writeFile(dir, "oauth2-proxy.yaml", o2pConfig(addr, simURL+"/", op.issuer))
			if err != nil {
				return err
			}
			tg.proc, err = start(dir, t.name, nil, append([]string{o2p}, o2pArgs(cfg)...)...)
			if err != nil {
				return err
			}
			tg.path = directPath
			tg.header = map[string]string{"Authorization": "Bearer " + o2pToken}
		case "kgate-cached", "kgate-uncached":
			text, err := kgateConfig(t.name == "kgate-cached")
			if err != nil {
				return err
			}
			cfg, err := writeFile(dir, t.name+".Caddyfile", text)
			if err != nil {
				return err
			}
			env := append(caddyEnv(dir, t.name), kgateEnv(site, simURL, op.issuer, filepath.Join(root, "policies"))...)
			tg.proc, err = start(dir, t.name, env, kgate, "run", "--config", cfg, "--adapter", "caddyfile")
			if err != nil {
				return err
			}
			tg.path = memberPath
			tg.header = map[string]string{"Authorization": "Bearer " + kgateToken}
		}
		tg.site = site
		h := http.Header{}
		for k, v := range tg.header {
			h.Set(k, v)
		}
		if err := waitHTTP(tg.proc, site+tg.path(-1), h, 60*time.Second, ready); err != nil {
			return err
		}
		fmt.Printf("%-15s (pid %d) on %s\n", t.name, tg.proc.pid(), site)
		targets = append(targets, tg)
	}

	// the same page from every target
	if err := checkSamePage(targets); err != nil {
		return err
	}

	l := load{wrk: wrkPath, dir: dir, sim: simURL, pages: *pages, threads: *threads, conns: *conns}
	if *warmup >= time.Second {
		fmt.Printf("warming up: %v per target\n", *warmup)
		for _, t := range targets {
			if _, err := l.run(t, sim, *warmup); err != nil {
				return fmt.Errorf("%s, warming up: %w", t.name, err)
			}
		}
	}
	for r := 1; r <= *rounds; r++ {
		for _, t := range targets {
			began := time.Now()
			var res wrkResult
			for {
				waitQuiet(*quiet)
				if res, err = l.run(t, sim, *duration); err != nil {
					return fmt.Errorf("%s, round %d: %w", t.name, r, err)
				}
				if *quiet <= 0 || res.cpuOther < disturbed || time.Since(began) > *quiet {
					break
				}
				fmt.Printf("  %s: other processes used %.2f cores during the run (%.0f req/s): once more\n", t.name, res.cpuOther, res.rps())
			}
			t.results = append(t.results, res)
			note := ""
			if n := res.errors(); n > 0 {
				note = fmt.Sprintf("  %d ERRORS (non-2xx or socket)", n)
			}
			fmt.Printf("round %d/%d  %-15s %7s req/s  p50 %-8s p99 %-8s CPU (cores): target %.2f  sim %.2f  wrk %.2f  other %.2f  kintone calls/answer %.2f%s\n",
				r, *rounds, t.name, thousands(res.rps()), ms(res.P50US), ms(res.P99US), res.cpuTarget, res.cpuSim, res.cpuWrk, res.cpuOther, res.callsPerAnswer(), note)
		}
	}
	for _, t := range targets {
		t.rss = peakRSS(t.proc.pid())
	}
	fmt.Println()
	report(os.Stdout, header, targets)
	return nil
}

// disturbed is how much CPU the rest of the machine may use during a run
// before --quiet-wait runs it again.
const disturbed = 0.15

// waitQuiet waits up to limit for a second in which the machine is idle
// (below 0.1 cores busy: the targets are idle between runs).
func waitQuiet(limit time.Duration) {
	if limit <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	said := false
	for {
		before := machineBusy()
		time.Sleep(time.Second)
		busy := float64(machineBusy()-before) / clockTick
		if busy < 0.1 {
			return
		}
		if time.Now().After(deadline) {
			fmt.Printf("  the machine is still busy (%.2f cores) after %v: measuring anyway\n", busy, limit)
			return
		}
		if !said {
			fmt.Printf("  waiting for the machine to quiet down (other processes use %.2f cores)…\n", busy)
			said = true
		}
	}
}

// pick reads --only.
func pick(only string) (map[string]bool, error) {
	sel := map[string]bool{}
	known := []string{}
	for _, t := range allTargets {
		known = append(known, t.name)
	}
	if strings.TrimSpace(only) == "" {
		for _, n := range known {
			sel[n] = true
		}
		return sel, nil
	}
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("--only: unknown target %q (known: %s)", n, strings.Join(known, ", "))
		}
		sel[n] = true
	}
	return sel, nil
}

// caddyEnv keeps each Caddy's autosaved configuration and data in the run's
// directory, away from the user's.
func caddyEnv(dir, name string) []string {
	return []string{"XDG_CONFIG_HOME=" + filepath.Join(dir, name, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, name, "data")}
}

// checkSamePage asks every target for its page once (with --pages, the
// first and the last) and checks that each answers 200 with the same 100
// records, newest first, with the same fields.
func checkSamePage(targets []*target) error {
	offsets := []int{-1}
	if *pages > 1 {
		offsets = []int{0, *pages - 1}
	}
	for _, offset := range offsets {
		var want, wantFields, sizes []string
		var from string
		for _, t := range targets {
			ids, fields, size, err := fetchPage(t, offset)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			if want == nil {
				want, wantFields, from = ids, fields, t.name
			} else if !slices.Equal(ids, want) {
				return fmt.Errorf("%s answers other records than %s: $id %s… against %s…", t.name, from, strings.Join(ids[:5], ","), strings.Join(want[:5], ","))
			} else if !slices.Equal(fields, wantFields) {
				return fmt.Errorf("%s answers other fields than %s: %s against %s (bench/peers' upstreamFields must be what kgate asks kintone for)",
					t.name, from, strings.Join(fields, ","), strings.Join(wantFields, ","))
			}
			sizes = append(sizes, fmt.Sprintf("%s %d KB", t.name, size/1000))
		}
		if len(targets) > 0 {
			fmt.Printf("every target answers the same 100 records ($id %s … %s) with the same %d fields: %s\n",
				want[0], want[len(want)-1], len(wantFields), strings.Join(sizes, ", "))
		}
	}
	return nil
}

// fetchPage reads a target's page and returns its records' $ids, the
// fields of its first record and its size.
func fetchPage(t *target, offset int) (ids, fields []string, size int, err error) {
	req, _ := http.NewRequest("GET", t.site+t.path(offset), nil)
	for k, v := range t.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, nil, 0, err
	}
	if resp.StatusCode != 200 {
		return nil, nil, 0, fmt.Errorf("the page answers %d: %.300s", resp.StatusCode, body)
	}
	var page struct {
		Records []map[string]struct {
			Value any `json:"value"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, nil, 0, fmt.Errorf("the page is not kintone's JSON: %w", err)
	}
	for _, r := range page.Records {
		ids = append(ids, fmt.Sprint(r["$id"].Value))
	}
	if len(ids) != 100 {
		return nil, nil, 0, fmt.Errorf("the page has %d records, want 100", len(ids))
	}
	for code := range page.Records[0] {
		fields = append(fields, code)
	}
	sort.Strings(fields)
	return ids, fields, len(body), nil
}

// report prints the table.
func report(out io.Writer, header string, targets []*target) {
	fmt.Fprintln(out, header)
	var ref float64
	for _, t := range targets {
		if t.name == "reverse_proxy" {
			ref = median(t.results, func(r wrkResult) float64 { return r.rps() })
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\treq/s by round\tmin–max\tmedian\tp50\tp99\tvs reverse_proxy\tCPU target/sim/wrk/other (cores)\ttarget CPU/req\tkintone calls/answer\tpeak RSS\terrors\t")
	for _, t := range targets {
		var byRound []string
		lo, hi := 0.0, 0.0
		var errs int64
		for i, r := range t.results {
			byRound = append(byRound, thousands(r.rps()))
			if i == 0 || r.rps() < lo {
				lo = r.rps()
			}
			if r.rps() > hi {
				hi = r.rps()
			}
			errs += r.errors()
		}
		med := median(t.results, func(r wrkResult) float64 { return r.rps() })
		ratio := "–"
		if ref > 0 {
			ratio = fmt.Sprintf("%.2f", med/ref)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s–%s\t%s\t%s\t%s\t%s\t%.2f / %.2f / %.2f / %.2f\t%.0f µs\t%.2f\t%d MiB\t%d\t\n",
			t.name, strings.Join(byRound, " "), thousands(lo), thousands(hi), thousands(med),
			ms(median(t.results, func(r wrkResult) float64 { return r.P50US })),
			ms(median(t.results, func(r wrkResult) float64 { return r.P99US })),
			ratio,
			median(t.results, func(r wrkResult) float64 { return r.cpuTarget }),
			median(t.results, func(r wrkResult) float64 { return r.cpuSim }),
			median(t.results, func(r wrkResult) float64 { return r.cpuWrk }),
			median(t.results, func(r wrkResult) float64 { return r.cpuOther }),
			median(t.results, func(r wrkResult) float64 { return r.cpuTarget * 1e6 / r.rps() }),
			median(t.results, func(r wrkResult) float64 { return r.callsPerAnswer() }),
			t.rss>>20, errs)
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, t := range targets {
		fmt.Fprintf(out, "  %-15s %s\n", t.name, t.desc)
	}
	fmt.Fprintf(out, "  p50, p99 and CPU are medians over the rounds; CPU is in cores (%d here) over each run, \"other\" is the rest of the machine;\n  target CPU/req is the target's CPU time per answer, which a busy neighbour disturbs less than req/s; peak RSS is VmHWM after the rounds;\n  kintone calls/answer counts the simulator's requests for the app per answer (kgate shares identical reads in flight, and its cache answers)\n", runtime.NumCPU())
	var other []wrkResult
	for _, t := range targets {
		other = append(other, t.results...)
	}
	n := 0
	for _, r := range other {
		if r.cpuOther >= disturbed {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(out, "  WARNING: in %d of %d runs other processes used %.2f cores or more (median of all runs %.2f): the machine was not quiet, those figures are low (--quiet-wait helps)\n",
			n, len(other), disturbed, median(other, func(r wrkResult) float64 { return r.cpuOther }))
	}
	for _, t := range targets {
		var errs int64
		for _, r := range t.results {
			errs += r.errors()
		}
		if errs > 0 {
			fmt.Fprintf(out, "  WARNING: %s had %d errors (answers other than 2xx, or socket errors): its req/s counts them\n", t.name, errs)
		}
	}
}

// machine describes the run: the machine, the toolchain, the commit, the
// tools and the load.
func machine(root, kgate, o2p, wrk string, total, perOrg int) string {
	var b strings.Builder
	model := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	commit := strings.TrimSpace(output(root, "git", "rev-parse", "--short=12", "HEAD"))
	if commit == "" {
		commit = "unknown commit"
	} else if strings.TrimSpace(output(root, "git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!*.md")) != "" {
		commit += " + uncommitted changes" // to kgate: the benchmark and the documentation do not count
	}
	fmt.Fprintf(&b, "machine: %d cores (%s), %s/%s, %s; kgate %s (%s)\n", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH,
		runtime.Version(), commit, strings.TrimSpace(output(root, kgate, "version")))
	tools := "wrk " + firstField(output(root, wrk, "--version"), 1)
	if o2p != "" {
		tools += ", " + o2pVersionOf(root, o2p)
	}
	fmt.Fprintf(&b, "tools: %s\n", tools)
	page := "the newest 100"
	if *pages > 1 {
		page = fmt.Sprintf("%d different pages of 100 (offset 0 … %d), in turn,", *pages, *pages-1)
	}
	fmt.Fprintf(&b, "load: wrk -t%d -c%d -d%v × %d round(s), targets in turn; carol (gold, %s) reads %s of %s budget requests (%s of %s's)\n",
		*threads, *conns, *duration, *rounds, memberOrg, page, thousands(float64(total)), thousands(float64(perOrg)), memberOrg)
	fmt.Fprintf(&b, "command: go run ./bench/peers %s", strings.Join(os.Args[1:], " "))
	return b.String()
}

func output(dir string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func firstField(s string, i int) string {
	f := strings.Fields(s)
	if len(f) > i {
		return f[i]
	}
	return "?"
}

// findOAuth2Proxy finds oauth2-proxy on PATH or in Go's bin directory, or
// installs it with go install.
func findOAuth2Proxy(root string) (string, error) {
	if *o2pBin != "" {
		return *o2pBin, nil
	}
	if p, err := exec.LookPath("oauth2-proxy"); err == nil {
		return checkO2PVersion(root, p), nil
	}
	bin := strings.TrimSpace(output(root, "go", "env", "GOBIN"))
	if bin == "" {
		gopath := strings.TrimSpace(output(root, "go", "env", "GOPATH"))
		if gopath == "" {
			return "", errors.New("oauth2-proxy is not on PATH and `go env GOPATH` says nothing: install it with go install " + o2pModule + "@" + o2pVersion)
		}
		bin = filepath.Join(filepath.SplitList(gopath)[0], "bin")
	}
	p := filepath.Join(bin, "oauth2-proxy")
	if _, err := os.Stat(p); err == nil {
		return checkO2PVersion(root, p), nil
	}
	fmt.Printf("installing oauth2-proxy %s into %s: go install %s@%s (a few minutes the first time)\n", o2pVersion, bin, o2pModule, o2pVersion)
	began := time.Now()
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(15 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				fmt.Printf("  … still installing oauth2-proxy (%v)\n", time.Since(began).Round(time.Second))
			}
		}
	}()
	err := runStep(root, "go", "install", o2pModule+"@"+o2pVersion)
	close(stop)
	if err != nil {
		return "", fmt.Errorf("go install %s@%s: %w (or use --only without oauth2-proxy)", o2pModule, o2pVersion, err)
	}
	fmt.Printf("installed oauth2-proxy in %v\n", time.Since(began).Round(time.Second))
	return p, nil
}

func checkO2PVersion(root, p string) string {
	if v := o2pVersionOf(root, p); !strings.Contains(v, o2pVersion) {
		fmt.Printf("note: %s is %s, not %s; the figures are that version's\n", p, v, o2pVersion)
	}
	return p
}

// o2pVersionOf names oauth2-proxy's version. A binary from go install says
// "undefined" (its version is set by the release build), so the module
// version recorded in the binary answers then.
func o2pVersionOf(root, p string) string {
	v := strings.TrimSpace(output(root, p, "--version"))
	if !strings.Contains(v, "undefined") {
		return v
	}
	for _, line := range strings.Split(output(root, "go", "version", "-m", p), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" && f[1] == o2pModule {
			return "oauth2-proxy " + f[2] + " (go install, " + firstField(v, 4)
		}
	}
	return v
}

func median(rs []wrkResult, f func(wrkResult) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// thousands prints n rounded, with thousands separators.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ms prints microseconds as milliseconds.
func ms(us float64) string {
	if us >= 100000 {
		return fmt.Sprintf("%.0f ms", us/1000)
	}
	return fmt.Sprintf("%.1f ms", us/1000)
}
