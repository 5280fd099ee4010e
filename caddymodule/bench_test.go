package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/kgate/kgate/internal/testworld"
)

// benchSites is one Caddy serving two sites in front of the same
// simulator: kgate, and Caddy's plain reverse_proxy (with the API token
// added) as the reference. Both benchmarks of a run share it.
var benchSites struct {
	once            sync.Once
	kgate, reversed string
	client          *http.Client
}

func startBenchSites(b *testing.B) {
	benchSites.once.Do(func() {
		w, err := testworld.Open(2000) // outlives the benchmark's rounds; the process ends with it
		if err != nil {
			b.Fatal(err)
		}
		kport, rport := freePort(), freePort()
		cfg := fmt.Sprintf(`{
	admin localhost:%d
	skip_install_trust
	auto_https off
	log {
		level ERROR
	}
}
http://:%d {
	route {
		kgate {
			kintone %s
			app orders %s {
				token %s
			}
			policy %s
			identity testing
			# one member drives the whole load here: the limits that keep
			# members from crowding each other out are opened up
			limits {
				per_member 64
				per_member_rate 1GiB
			}
		}
	}
}
http://:%d {
	reverse_proxy %s {
		header_up X-Cybozu-API-Token %s
		header_up -X-Test-Member
	}
}
`, adminPort, kport, w.URL, testworld.OrdersApp, testworld.OrdersToken, w.PolicyDir, rport, w.URL, testworld.OrdersToken)
		tester := caddytest.NewTester(b).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort})
		tester.InitServer(cfg, "caddyfile")
		benchSites.kgate = fmt.Sprintf("http://127.0.0.1:%d", kport)
		benchSites.reversed = fmt.Sprintf("http://127.0.0.1:%d", rport)
		benchSites.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	})
}

// benchPage is a page of 100 records, as alice asks kgate for it.
var benchPage = page100("")

// filteredPage asks the simulator directly for the records alice may see:
// the row rule kgate composes for her, written out, so the reference pays
// for the same work in the simulator that kgate's request causes.
var filteredPage = page100(`((org in ("acme")) and (visibility not in ("internal"))) or ((shared in ("yes")) and (visibility not in ("internal")))`)

func page100(cond string) string {
	return "/k/v1/records.json?" + url.Values{"app": {testworld.OrdersApp}, "query": {cond + " order by $id desc limit 100"}}.Encode()
}

func benchGet(b *testing.B, base func() string, page string) {
	startBenchSites(b)
	b.SetParallelism(8) // enough requests in flight to keep both cores busy
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", base()+page, nil)
			req.Header.Set("X-Test-Member", "alice")
			resp, err := benchSites.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n < 1000 {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
	})
}

// BenchmarkList100ThroughKgate: a member's page of 100 records through the
// whole module — identity, policy decision, row rule, query composition,
// kintone call, streamed re-check and projection.
func BenchmarkList100ThroughKgate(b *testing.B) {
	benchGet(b, func() string { return benchSites.kgate }, benchPage)
}

// BenchmarkList100ThroughReverseProxy is the reference: Caddy's own
// reverse_proxy to the same simulator, doing no filtering at all.
func BenchmarkList100ThroughReverseProxy(b *testing.B) {
	benchGet(b, func() string { return benchSites.reversed }, benchPage)
}

// BenchmarkList100ThroughReverseProxyFiltered is the reference that asks
// the simulator for the same records kgate does, so the difference is
// kgate's own work.
func BenchmarkList100ThroughReverseProxyFiltered(b *testing.B) {
	benchGet(b, func() string { return benchSites.reversed }, filteredPage)
}
