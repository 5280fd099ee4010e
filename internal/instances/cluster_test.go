package instances

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/devidp"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/testbrowser"
	"github.com/kgate/kgate/internal/testenv"
)

// cluster is the site under test: three kgate instances a, b and c sharing
// one Redis, Caddy's reverse_proxy in front of them, the kintone simulator
// and the demo OpenID Provider. Every server listens on loopback, on ports
// chosen at run time.
type cluster struct {
	t         *testing.T
	dir, bin  string
	front     string // the site's URL, as members reach it
	frontHost string
	sim       *kintonesim.Server
	simURL    string
	op        *devidp.Provider
	issuer    string
	redis     *testenv.Redis
	kgate     map[string]*process // the instances, by name
	balancer  *process
}

// process is one kgate process and how to start it again.
type process struct {
	name, config, log string
	url               string // http://localhost:port, straight to the process
	cmd               *exec.Cmd
	exited            chan struct{} // closed when the process has ended
}

const clientSecret = "instances-client-secret"

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), kgate: map[string]*process{}}
	c.redis = testenv.StartRedis(t) // first: skips (or fails) before any work without redis-server
	c.bin = buildKgate(t, c.dir)
	c.startKintone()
	ports := map[string]int{"a": freePort(t), "b": freePort(t), "c": freePort(t)}
	frontPort := freePort(t)
	c.front = fmt.Sprintf("http://localhost:%d", frontPort)
	c.frontHost = fmt.Sprintf("localhost:%d", frontPort)
	c.startProvider(fmt.Sprintf("http://localhost:%d/kgate/backchannel-logout", ports["a"]))

	policies, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	var upstreams []string
	for _, name := range []string{"a", "b", "c"} {
		p := &process{name: name, url: fmt.Sprintf("http://localhost:%d", ports[name]),
			config: filepath.Join(c.dir, name+".Caddyfile"), log: filepath.Join(c.dir, name+".log")}
		c.write(p.config, c.instanceConfig(name, ports[name], policies))
		c.kgate[name] = p
		upstreams = append(upstreams, fmt.Sprintf("127.0.0.1:%d", ports[name]))
	}
	c.balancer = &process{name: "balancer", url: c.front, config: filepath.Join(c.dir, "balancer.Caddyfile"),
		log: filepath.Join(c.dir, "balancer.log")}
	c.write(c.balancer.config, balancerConfig(frontPort, upstreams))
	for _, p := range c.kgate {
		c.start(p)
	}
	c.start(c.balancer)
	for _, p := range c.kgate {
		c.waitReady(p.url)
	}
	c.waitReady(c.front)
	t.Cleanup(c.dumpLogsOnFailure)
	return c
}

// buildKgate builds the kgate binary once for the test.
func buildKgate(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kgate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kgate")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building kgate: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *cluster) write(path, content string) {
	c.t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) startKintone() {
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		c.t.Fatal(err)
	}
	if c.sim, err = kintonesim.New(seed); err != nil {
		c.t.Fatal(err)
	}
	srv := httptest.NewServer(c.sim)
	c.t.Cleanup(func() { srv.Close(); c.sim.Close() })
	c.simURL = srv.URL
}

// startProvider runs the demo provider with kgate registered as a client
// whose back-channel logout URI is one instance's own address.
func (c *cluster) startProvider(backchannel string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	c.issuer = "http://" + l.Addr().String() + "/"
	c.op, err = devidp.New(devidp.Config{
		Issuer: c.issuer,
		Users:  devidp.DemoUsers(),
		Clients: []devidp.Client{{ID: "kgate-portal", Secret: clientSecret, RedirectURIs: []string{c.front + "/kgate/callback"},
			PostLogoutRedirectURIs: []string{c.front + "/"}, BackchannelLogoutURI: backchannel}},
	})
	if err != nil {
		c.t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: c.op}}
	srv.Start()
	c.t.Cleanup(srv.Close)
}

// instanceConfig is one instance's Caddyfile: the configuration every
// instance shares (the keys and Redis come from the environment), and a
// header naming the instance so that the test sees who answered.
func (c *cluster) instanceConfig(name string, port int, policies string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level WARN
	}
}

http://:%[1]d {
	bind 127.0.0.1
	header X-Kgate-Instance %[2]s
	kgate {
		kintone %[3]s
		app members 1 {
			token demo-token-members
		}
		app budget 2 {
			token demo-token-budget
		}
		policy %[4]s
		oidc %[5]s {
			client_id kgate-portal
			client_secret {env.KGATE_OIDC_CLIENT_SECRET}
			base_url %[6]s
			session_key {env.KGATE_SESSION_KEY}
			session_store {env.KGATE_REDIS}
			backchannel_logout
			demo
		}
		members members {
			lookup_by email
		}
		portal {
			title "パートナーポータル" "Partner Portal"
			form_key {env.KGATE_FORM_KEY}
		}
		file_key {env.KGATE_FILE_KEY}
	}
}
`, port, name, c.simURL, policies, c.issuer, c.front)
}

// balancerConfig is the front: Caddy's reverse_proxy, round robin over the
// instances. A GET whose instance fails is tried on the next one within
// lb_try_duration; an instance that failed is left out for fail_duration.
func balancerConfig(port int, upstreams []string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level WARN
	}
}

http://localhost:%d {
	bind 127.0.0.1
	reverse_proxy %s {
		lb_policy round_robin
		lb_try_duration 5s
		lb_try_interval 50ms
		fail_duration 30s
	}
}
`, port, strings.Join(upstreams, " "))
}

// secrets are what every instance is given, as an operator would.
var secrets = func() []string {
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	return []string{"KGATE_OIDC_CLIENT_SECRET=" + clientSecret, "KGATE_SESSION_KEY=" + key(),
		"KGATE_FILE_KEY=" + key(), "KGATE_FORM_KEY=" + key()}
}()

// start starts p's process (again), its output appended to its log.
func (c *cluster) start(p *process) {
	c.t.Helper()
	log, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	home := filepath.Join(c.dir, "home-"+p.name) // Caddy's own files stay here
	p.cmd = exec.Command(c.bin, "run", "--config", p.config, "--adapter", "caddyfile")
	p.cmd.Env = append(os.Environ(), append(secrets, "KGATE_REDIS="+c.redis.URL(), "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_CONFIG_HOME="+filepath.Join(home, "config"))...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	log.Close()
	exited, cmd := make(chan struct{}), p.cmd
	p.exited = exited
	go func() { cmd.Wait(); close(exited) }()
	c.t.Cleanup(func() { c.kill(p) })
}

// kill ends p at once, as a crash would.
func (c *cluster) kill(p *process) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// running reports whether p's process is still alive.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return p.cmd != nil
	}
}

// waitReady waits until base answers a page request: kgate sends a
// visitor without a session to login.
func (c *cluster) waitReady(base string) {
	c.t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusFound {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s did not come up (last: %v)", base, err)
		}
	}
}

func (c *cluster) dumpLogsOnFailure() {
	if !c.t.Failed() {
		return
	}
	for _, p := range append([]*process{c.balancer}, c.kgate["a"], c.kgate["b"], c.kgate["c"]) {
		if p == nil {
			continue
		}
		b, _ := os.ReadFile(p.log)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		c.t.Logf("--- %s's log (end) ---\n%s", p.name, b)
	}
}

// member is a person's browser on the site.
type member struct {
	c *cluster
	*testbrowser.Browser
}

var authRequestID = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// login signs sub in through the front and the demo provider.
func (c *cluster) login(sub string) *member {
	c.t.Helper()
	b := testbrowser.New(c.t, nil)
	p := b.Chase(b.Get(c.front+"/"), nil)
	m := authRequestID.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		c.t.Fatalf("expected the demo provider's login page, got %d at %s: %.300s", p.Status, p.URL, p.Body)
	}
	p = b.Chase(b.PostForm(c.issuer+"login", url.Values{"authRequestID": {m[1]}, "user": {sub}}), nil)
	if p.Status != 200 || p.URL.Host != c.frontHost {
		c.t.Fatalf("login as %s ended at %d %s: %.300s", sub, p.Status, p.URL, p.Body)
	}
	return &member{c: c, Browser: b}
}

// via sends a request to one instance straight ("" for the front), with
// the Host the balancer would pass, as the member's browser: a page, or an
// API call from kgate's own pages (X-Requested-With, and kgate's origin on
// anything but GET).
func (m *member) via(instance, method, path, contentType string, body []byte, api bool) testbrowser.Page {
	m.c.t.Helper()
	base := m.c.front
	if instance != "" {
		base = m.c.kgate[instance].url
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		m.c.t.Fatal(err)
	}
	req.Host = m.c.frontHost
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", m.c.front)
	}
	if api {
		req.Header.Set("X-Requested-With", "XMLHttpRequest")
	}
	return m.Do(req)
}

func (m *member) api(instance, method, path, body string) testbrowser.Page {
	m.c.t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return m.via(instance, method, path, ctype, []byte(body), true)
}

func (m *member) page(instance, path string) testbrowser.Page {
	m.c.t.Helper()
	return m.via(instance, http.MethodGet, path, "", nil, false)
}

// quietly is a request of the load: no test failure on a transport error.
func (m *member) quietly(path string) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, m.c.front+path, nil)
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	resp, err := m.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
