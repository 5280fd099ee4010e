// Command robustness replays a hostile member's attacks on a running kgate
// and checks that kgate holds: its memory stays within the configured
// budget plus a fixed overhead, slow request bodies are cut at their
// deadline, and another member's reads keep working without slowing down
// more than fivefold.
//
//	go run ./bench/robustness            # builds kgate, runs it all, exits 1 on a failed check
//
// It builds kgate, starts the kintone simulator with the partner-portal
// example's world as a process of its own (files uploaded to it do not
// count against kgate), an OpenID Provider that signs access tokens, and
// kgate with the limits below, then runs, one after the other and each
// beside a bystander's steady reads:
//
//   - 16 connections sending 15 MB JSON bodies on reads, over and over;
//   - 4 uploads of 90 MB at a time;
//   - bulk writes of 100 records of 1,000 table rows each, and reads of them;
//   - 120 connections sending their bodies one byte a second.
//
// kgate's resident memory is sampled throughout from /proc.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kgate/kgate/internal/testenv"
)

// The limits kgate runs with, and what the checks allow.
const (
	memoryBudget = 160 << 20
	overhead     = 128 << 20 // kgate besides requests: Caddy, OPA, caches, the runtime
	bodyTimeout  = 10 * time.Second
	slowdownMax  = 5.0
)

var (
	phase     = flag.Duration("phase", 12*time.Second, "how long each attack runs")
	keep      = flag.Bool("keep", false, "keep the temporary directory")
	kgateFlag = flag.String("kgate", "", "kgate binary to use instead of building one")
	only      = flag.String("only", "", "run only the attacks whose name contains this")
	extra     = flag.String("limits", "", "more settings for kgate's limits block, e.g. \"per_member 1\"")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "robustness:", err)
		os.Exit(1)
	}
}

type env struct {
	sim      string // the simulator's base URL
	dir      string
	kgate    string // binary
	site     string // kgate's base URL
	pid      int
	op       *provider
	failures []string
}

func run() error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kgate-robustness-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	e := &env{dir: dir, kgate: *kgateFlag}
	if e.kgate == "" {
		e.kgate = filepath.Join(dir, "kgate")
		fmt.Println("building kgate…")
		build := exec.Command("go", "build", "-o", e.kgate, "./cmd/kgate")
		build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simAddr, err := freeAddr()
	if err != nil {
		return err
	}
	e.sim = "http://" + simAddr
	sim := exec.CommandContext(ctx, e.kgate, "sim", "--data", filepath.Join(root, "examples/partner-portal/seed.json"), "--listen", simAddr)
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Process.Kill()
	if e.op, err = newProvider(); err != nil {
		return err
	}
	defer e.op.srv.Close()
	siteAddr, err := freeAddr()
	if err != nil {
		return err
	}
	e.site = "http://" + siteAddr
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte(config(e.site, "http://"+simAddr, e.op.srv.URL, filepath.Join(root, "policies"))), 0o600); err != nil {
		return err
	}
	kg := exec.CommandContext(ctx, e.kgate, "run", "--config", caddyfile)
	kg.Env = append(os.Environ(), "GOMEMLIMIT=") // kgate sets its own from the budget
	var logs bytes.Buffer
	kg.Stdout, kg.Stderr = &logs, &logs
	if err := kg.Start(); err != nil {
		return err
	}
	defer kg.Process.Kill()
	e.pid = kg.Process.Pid
	if err := e.waitReady(); err != nil {
		return fmt.Errorf("%w\n%s", err, logs.String())
	}
	fmt.Printf("kgate pid %d at %s; memory budget %d MiB + overhead %d MiB = %d MiB\n",
		e.pid, e.site, memoryBudget>>20, overhead>>20, (memoryBudget+overhead)>>20)

	if err := e.seedBigRecords(); err != nil {
		return err
	}
	idle := e.bystander(func() { time.Sleep(*phase / 2) })
	fmt.Printf("bystander idle: median %v over %d reads\n", idle.median, idle.n)
	attacks := []struct {
		name string
		run  func(stop <-chan struct{}) string
	}{
		{"16 × 15 MB bodies on reads", e.hugeReadBodies},
		{"4 × 90 MB uploads", e.bigUploads},
		{"100 records × 1,000 rows, written and read", e.bigTables},
		{"120 bodies at one byte a second", e.slowBodies},
	}
	for _, a := range attacks {
		if !strings.Contains(a.name, *only) {
			continue
		}
		var peak atomic.Int64
		var note string
		stop := make(chan struct{})
		got := e.bystander(func() {
			done := make(chan string)
			go func() { done <- a.run(stop) }()
			sample := time.NewTicker(50 * time.Millisecond)
			defer sample.Stop()
			deadline := time.After(*phase)
			for {
				select {
				case <-sample.C:
					if rss := rssOf(e.pid); rss > peak.Load() {
						peak.Store(rss)
					}
				case <-deadline:
					close(stop)
					deadline = nil
				case note = <-done:
					return
				}
			}
		})
		slowdown := float64(got.median) / float64(idle.median)
		fmt.Printf("%-45s peak RSS %4d MiB; bystander median %v (%.1f× idle), %d reads, %d failed; %s\n",
			a.name, peak.Load()>>20, got.median, slowdown, got.n, got.failed, note)
		if peak.Load() > memoryBudget+overhead {
			e.fail("%s: peak RSS %d MiB above the budget + overhead of %d MiB", a.name, peak.Load()>>20, (memoryBudget+overhead)>>20)
		}
		if got.failed > 0 || slowdown > slowdownMax {
			e.fail("%s: the bystander's reads: %d failed, median %.1f× idle (allowed %.0f×)", a.name, got.failed, slowdown, slowdownMax)
		}
		if strings.HasPrefix(note, "FAIL") {
			e.fail("%s: %s", a.name, note)
		}
	}
	if len(e.failures) > 0 {
		return fmt.Errorf("%d checks failed:\n  %s", len(e.failures), strings.Join(e.failures, "\n  "))
	}
	fmt.Println("robustness: every check held")
	return nil
}

func (e *env) fail(format string, args ...any) {
	e.failures = append(e.failures, fmt.Sprintf(format, args...))
}

// config is kgate's Caddyfile for the run: the demo's apps and the default
// policies, bearer tokens from the provider, and the limits under test.
func config(site, kintone, issuer, policies string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level ERROR
	}
	servers {
		timeouts {
			read_header 10s
			read_body 5m
			write 10m
			idle 2m
		}
	}
}

%[1]s {
	bind 127.0.0.1
	kgate {
		kintone %[2]s
		app members 1 {
			token demo-token-members
		}
		app budget 2 {
			token demo-token-budget
		}
		policy %[4]s
		oidc %[3]s {
			client_id kgate-portal
			client_secret robustness
			base_url %[1]s
			session_key %[5]s
			bearer_audience kgate-api
			bearer_require_at_jwt
			demo
		}
		members members {
			lookup_by email
		}
		limits {
			memory %[6]dMiB
			body_timeout %[7]s
			%[8]s
		}
	}
}
`, site, kintone, issuer, policies, strings.Repeat("k", 44), memoryBudget>>20, bodyTimeout, *extra)
}

func (e *env) waitReady() error {
	for i := 0; i < 300; i++ {
		resp, err := e.call("carol", "GET", "/k/v1/records.json?app=2&query=limit%201", nil, nil)
		if err == nil && resp == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("kgate did not answer a member's read within 30 s")
}

// call sends one API request as member and returns the status.
func (e *env) call(member, method, path string, body io.Reader, header http.Header) (int, error) {
	req, err := http.NewRequest(method, e.site+path, body)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+e.op.token(member))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// latencies is what the bystander saw.
type latencies struct {
	median    time.Duration
	n, failed int
}

// bystander reads a page as carol, another organization's member, every
// 50 ms while during runs.
func (e *env) bystander(during func()) latencies {
	var mu sync.Mutex
	var took []time.Duration
	failed := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			start := time.Now()
			status, err := e.call("carol", "GET", "/k/v1/records.json?app=2&query=limit%2020", nil, nil)
			mu.Lock()
			if err != nil || status != 200 {
				failed++
			} else {
				took = append(took, time.Since(start))
			}
			mu.Unlock()
		}
	}()
	during()
	close(stop)
	<-done
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	l := latencies{n: len(took), failed: failed}
	if len(took) > 0 {
		l.median = took[len(took)/2]
	}
	return l
}

// until repeats f on n goroutines until stop closes.
func until(stop <-chan struct{}, n int, f func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					f()
				}
			}
		}()
	}
	wg.Wait()
}

func (e *env) hugeReadBodies(stop <-chan struct{}) string {
	body := []byte(`{"app":"2","query":"` + strings.Repeat("a", 15<<20) + `"}`)
	var counts sync.Map
	until(stop, 16, func() {
		status, _ := e.call("bob", "GET", "/k/v1/records.json", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		n, _ := counts.LoadOrStore(status, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	})
	return statusCounts(&counts)
}

func (e *env) bigUploads(stop <-chan struct{}) string {
	var counts sync.Map
	until(stop, 4, func() {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			part, _ := mw.CreateFormFile("file", "big.bin")
			chunk := make([]byte, 1<<20)
			for i := 0; i < 90; i++ {
				if _, err := part.Write(chunk); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			pw.CloseWithError(mw.Close())
		}()
		status, _ := e.call("alice", "POST", "/k/v1/file.json", pr, http.Header{"Content-Type": {mw.FormDataContentType()}})
		n, _ := counts.LoadOrStore(status, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	})
	return statusCounts(&counts)
}

// bigRecords is 100 budget requests of 1,000 table rows each, as one bulk
// write.
func bigRecords() []byte {
	rows := make([]any, 1000)
	for i := range rows {
		rows[i] = map[string]any{"value": map[string]any{"item": map[string]any{"value": "item " + strconv.Itoa(i)}, "cost": map[string]any{"value": "1"}}}
	}
	records := make([]any, 100)
	for i := range records {
		records[i] = map[string]any{"title": map[string]any{"value": "big " + strconv.Itoa(i)}, "category": map[string]any{"value": "event"},
			"org": map[string]any{"value": "acme"}, "amount": map[string]any{"value": "1"}, "items": map[string]any{"value": rows}}
	}
	body, _ := json.Marshal(map[string]any{"app": "2", "records": records})
	return body
}

// seedBigRecords writes the big records into the simulator directly, so
// that kgate has them to read whatever it lets a member write.
func (e *env) seedBigRecords() error {
	req, _ := http.NewRequest("POST", e.sim+"/k/v1/records.json", bytes.NewReader(bigRecords()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cybozu-API-Token", "demo-token-budget")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("seeding the big records: %d %.300s", resp.StatusCode, b)
	}
	return nil
}

func (e *env) bigTables(stop <-chan struct{}) string {
	body := bigRecords()
	var counts sync.Map
	until(stop, 4, func() {
		status, _ := e.call("alice", "POST", "/k/v1/records.json", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		n, _ := counts.LoadOrStore("write "+strconv.Itoa(status), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		status, _ = e.call("alice", "GET", "/k/v1/records.json?app=2&query="+urlQuery(`title like "big" limit 100`), nil, nil)
		n, _ = counts.LoadOrStore("read "+strconv.Itoa(status), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	})
	return fmt.Sprintf("%d KB a write; %s", len(body)>>10, statusCounts(&counts))
}

// slowBodies opens 120 connections (24 for each of five members) that
// send a body one byte a second, and measures how long kgate keeps each.
func (e *env) slowBodies(stop <-chan struct{}) string {
	members := []string{"alice", "bob", "dave", "sam", "erin"}
	var mu sync.Mutex
	var held []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < 120; i++ {
		wg.Add(1)
		go func(member string) {
			defer wg.Done()
			d := e.slowBody(member, stop)
			mu.Lock()
			held = append(held, d)
			mu.Unlock()
		}(members[i%len(members)])
	}
	wg.Wait()
	sort.Slice(held, func(i, j int) bool { return held[i] < held[j] })
	longest := held[len(held)-1]
	note := fmt.Sprintf("connections held: median %v, longest %v (deadline %v)", held[len(held)/2].Round(time.Millisecond), longest.Round(time.Millisecond), bodyTimeout)
	if longest > bodyTimeout+3*time.Second {
		return "FAIL " + note
	}
	return note
}

// slowBody sends one request whose body trickles and returns how long the
// connection lasted.
func (e *env) slowBody(member string, stop <-chan struct{}) time.Duration {
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.site, "http://"))
	if err != nil {
		return 0
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /k/v1/records.json HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
		strings.TrimPrefix(e.site, "http://"), e.op.token(member))
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn) // returns when kgate closes the connection
		close(closed)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	limit := time.After(bodyTimeout + 20*time.Second)
	for {
		select {
		case <-closed:
			return time.Since(start)
		case <-tick.C:
			conn.Write([]byte("{"))
		case <-limit:
			return time.Since(start)
		}
	}
}

func statusCounts(m *sync.Map) string {
	var parts []string
	m.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%v×%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(parts)
	return "answers " + strings.Join(parts, " ")
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22").Replace(s)
}

// rssOf reads a process's resident memory from /proc.
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// provider is an OpenID Provider that only publishes its key: kgate checks
// the access tokens it signs.
type provider struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newProvider() (*provider, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &provider{key: key}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks", "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	return p, nil
}

var tokens sync.Map

// token is an RFC 9068 access token for a member of the demo world, made
// once per member.
func (p *provider) token(member string) string {
	if t, ok := tokens.Load(member); ok {
		return t.(string)
	}
	email := map[string]string{"alice": "alice@acme.example", "bob": "bob@acme.example", "carol": "carol@bluebird.example",
		"dave": "dave@bluebird.example", "sam": "sam@operator.example", "erin": "erin@cosmo.example"}[member]
	now := time.Now()
	header, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": "k1", "typ": "at+jwt"})
	claims, _ := json.Marshal(map[string]any{"iss": p.srv.URL, "sub": "u-" + member, "aud": "kgate-api", "client_id": "robustness",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": member,
		"email": email, "email_verified": true})
	signing := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	t := signing + "." + b64(sig)
	tokens.Store(member, t)
	return t
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
