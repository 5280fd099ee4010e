package identityheader

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/kgate/kgate/caddymodule"
	"github.com/kgate/kgate/internal/testworld"
)

// TestImportsOnlyPublicPackages: the module is written as an outside
// module would be, so none of its own files may import an internal/
// package (its test may, for the simulated kintone it runs against).
func TestImportsOnlyPublicPackages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.Contains(p+"/", "/internal/") {
				t.Errorf("%s imports %s", file, p)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source file checked")
	}
}

func provisioned(t *testing.T, h Header) *Header {
	t.Helper()
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return &h
}

func TestIdentify(t *testing.T) {
	h := provisioned(t, Header{TrustedProxies: []string{"10.0.0.0/8"}, Issuer: "https://sso.test"})
	for _, tc := range []struct {
		name, remote, subject string
		want                  string // subject identified, "" for none
	}{
		{"the trusted proxy names a member", "10.1.2.3:4000", "u-alice", "u-alice"},
		{"the trusted proxy over IPv4-mapped IPv6", "[::ffff:10.1.2.3]:4000", "u-alice", "u-alice"},
		{"the trusted proxy names nobody", "10.1.2.3:4000", "", ""},
		{"anyone else's header counts for nothing", "192.0.2.7:4000", "u-alice", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			if tc.subject != "" {
				r.Header.Set("X-Member-Id", tc.subject)
				r.Header.Set("X-Member-Level", "gold")
			}
			id, err := h.Identify(httptest.NewRecorder(), r)
			if tc.want == "" {
				if err != caddymodule.ErrNoIdentity {
					t.Fatalf("got %+v, %v; want ErrNoIdentity", id, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != tc.want || id.Issuer != "https://sso.test" || id.Level != "gold" || id.Via != "session" {
				t.Errorf("identity %+v", id)
			}
		})
	}
}

func TestProvisionRefusesBadConfigurations(t *testing.T) {
	for name, h := range map[string]Header{
		"no trusted proxy":      {},
		"a trusted proxy typo":  {TrustedProxies: []string{"10.0.0.0/33"}},
		"a host, not a network": {TrustedProxies: []string{"proxy.internal"}},
	} {
		if err := h.Provision(caddy.Context{}); err == nil || !strings.Contains(err.Error(), "trusted") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestKgateServesTheMembersTheHeadersName runs Caddy with kgate and this
// module from a Caddyfile, in front of a simulated kintone: the member the
// trusted proxy (here, the test itself on loopback) names reads records;
// a request naming nobody gets kintone's 401.
func TestKgateServesTheMembersTheHeadersName(t *testing.T) {
	w := testworld.Start(t, 5)
	port, admin := freePort(t), freePort(t)
	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: admin,
		LoadRequestTimeout: time.Minute, TestRequestTimeout: time.Minute})
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	default_bind 127.0.0.1
	skip_install_trust
	auto_https off
	log {
		level ERROR
	}
}
http://localhost:%d {
	kgate {
		kintone %s
		app orders %s {
			token %s
		}
		policy %s
		identity header {
			trusted_proxies 127.0.0.0/8 ::1/128
			issuer https://idp.test
		}
	}
}
`, admin, port, port, w.URL, testworld.OrdersApp, testworld.OrdersToken, w.PolicyDir), "caddyfile")

	alice := testworld.Identities["alice"]
	get := func(header ...string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://localhost:%d/k/v1/records.json?app=%s", port, testworld.OrdersApp), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Requested-With", "XMLHttpRequest")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := tester.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	status, body := get("X-Member-Id", alice.Subject, "X-Member-Email", alice.Email,
		"X-Member-Level", alice.Level, "X-Member-Org", alice.Org)
	records, _ := body["records"].([]any)
	if status != http.StatusOK || len(records) == 0 {
		t.Errorf("alice: %d %v", status, body)
	}
	if status, body := get(); status != http.StatusUnauthorized || body["code"] != "CB_AU01" {
		t.Errorf("nobody: %d %v", status, body)
	}
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
