package caddymodule

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/testenv"
	"github.com/kgate/kgate/internal/testworld"
)

// testIdentity identifies a request by its X-Test-Member header, naming a
// member of the test world. It is registered only in this package's test
// binary: in kgate itself nothing a client sends can set an identity.
type testIdentity struct{}

func init() { caddy.RegisterModule(testIdentity{}) }

func (testIdentity) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "kgate.identity.testing", New: func() caddy.Module { return new(testIdentity) }}
}

func (testIdentity) Identify(_ http.ResponseWriter, r *http.Request) (*identity.Identity, error) {
	id := testworld.Identities[r.Header.Get("X-Test-Member")]
	if id == nil {
		return nil, ErrNoIdentity
	}
	return id, nil
}

func (*testIdentity) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	return nil
}

// adminPort is the test Caddy's admin port, chosen when the first test
// starts it; every module test of this binary shares that one Caddy.
var adminPort = freePort()

// ran counts module tests that really started Caddy: caddytest skips
// itself when it cannot, and CI must notice.
var ran atomic.Int32

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && testenv.RequireAll() && ran.Load() == 0 && !testing.Short() {
		fmt.Fprintln(os.Stderr, "KGATE_REQUIRE_ALL=1 but no module test could start Caddy")
		code = 1
	}
	os.Exit(code)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// site is Caddy with kgate in front of a test world.
type site struct {
	t      *testing.T
	tester *caddytest.Tester
	world  *testworld.World
	base   string
}

// startSite loads a Caddyfile whose kgate directive points at a fresh test
// world; extra is added inside the kgate block.
func startSite(t *testing.T, orders int, extra string) *site {
	t.Helper()
	w := testworld.Start(t, orders)
	port := freePort()
	cfg := fmt.Sprintf(`http://localhost:%d {
	route {
		kgate {
			kintone %s
			app orders %s {
				token %s
			}
			app notices %s {
				guest_space %s
				token %s
			}
			policy %s {
				%s
			}
			identity testing
			%s
		}
		respond "not kgate" 418
	}
}
`, port, w.URL, testworld.OrdersApp, testworld.OrdersToken, testworld.NoticesApp,
		testworld.NoticesSpace, testworld.NoticesToken, w.PolicyDir, policyOpts(extra), otherOpts(extra))
	tester := initCaddy(t, port, cfg)
	return &site{t: t, tester: tester, world: w, base: fmt.Sprintf("http://localhost:%d", port)}
}

// initCaddy loads sites, a Caddyfile without global options, into the test
// binary's Caddy, whose HTTP port is port.
func initCaddy(t *testing.T, port int, sites string) *caddytest.Tester {
	t.Helper()
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	default_bind 127.0.0.1
	skip_install_trust
	auto_https off
	log {
		level ERROR
	}
}
`, adminPort, port) + sites
	// Provisioning compiles the policies: generous timeouts, for a busy
	// machine or a -race build.
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort,
		LoadRequestTimeout: time.Minute, TestRequestTimeout: time.Minute})
	tester.InitServer(cfg, "caddyfile")
	ran.Add(1)
	return tester
}

// extra options starting with "policy:" go into the policy block.
func policyOpts(extra string) string {
	var out []string
	for _, l := range strings.Split(extra, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "policy:"); ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func otherOpts(extra string) string {
	var out []string
	for _, l := range strings.Split(extra, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "policy:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// do sends a request as member (none when "") and returns the response
// with its body read.
func (s *site) do(member, method, path string, body string, header ...string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if member != "" {
		req.Header.Set("X-Test-Member", member)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := s.tester.Client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, string(b)
}
