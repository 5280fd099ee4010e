package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kgate/kgate/examples"
	"github.com/kgate/kgate/internal/devidp"
)

// The member who drives the load: carol, a gold partner of Bluebird
// Logistics. The default policy gives gold members pages of up to 100
// budget requests of their own organization, with the fields below.
const (
	member       = "u-carol"
	memberOrg    = "bluebird"
	budgetApp    = "2"
	budgetToken  = "demo-token-budget" // the demo seed's API token of the budget app
	kgateClient  = "kgate-demo-cli"    // the demo Caddyfile's bearer_clients
	kgateAud     = "kgate-api"         // and its bearer_audience
	o2pClient    = "oauth2-proxy"
	portalClient = "kgate-portal"
)

// memberPath is a page as the member asks kgate for it: the newest 100
// budget requests the policy lets carol see, or with offset ≥ 0 the 100
// after the newest offset.
func memberPath(offset int) string {
	return "/k/v1/records.json?" + url.Values{"app": {budgetApp}, "query": {"order by $id desc limit 100" + offsetClause(offset)}}.Encode()
}

func offsetClause(offset int) string {
	if offset < 0 {
		return ""
	}
	return fmt.Sprintf(" offset %d", offset)
}

// upstreamFields are the fields kgate asks kintone for on carol's behalf:
// the gold level's readable fields (policies/data.json) and the system
// fields every level sees, $id first and the rest in byte order, as kgate
// sends them (gateway's upstreamFields).
var upstreamFields = []string{
	"$id", "$revision", "Assignee", "Categories", "Created_by", "Created_datetime", "Record_number", "Status",
	"Updated_by", "Updated_datetime", "amount", "approved_amount", "attachment", "category", "items", "org",
	"purpose", "requested_by", "title",
}

// directPath is what kgate sends kintone for memberPath: carol's row rule
// joined with her query, and only the fields she may read. The peers that
// do no filtering of their own ask the simulator for exactly this, so every
// target serves the same records and the simulator does the same work.
func directPath(offset int) string {
	v := url.Values{"app": {budgetApp}, "query": {`org in ("` + memberOrg + `") order by $id desc limit 100` + offsetClause(offset)}}
	for i, f := range upstreamFields {
		v.Set(fmt.Sprintf("fields[%d]", i), f)
	}
	return "/k/v1/records.json?" + v.Encode()
}

// writeSeed writes the demo world's seed with n more budget requests, made
// by cycling through the demo's own (with their items, attachments and
// states) and spreading them over the three organizations.
func writeSeed(path string, n int) (total, perOrg int, err error) {
	raw, err := fs.ReadFile(examples.FS, "partner-portal/seed.json")
	if err != nil {
		return 0, 0, err
	}
	var seed map[string]any
	if err := json.Unmarshal(raw, &seed); err != nil {
		return 0, 0, fmt.Errorf("the demo seed: %w", err)
	}
	apps, _ := seed["apps"].([]any)
	var budget map[string]any
	for _, a := range apps {
		if m, ok := a.(map[string]any); ok && fmt.Sprint(m["id"]) == budgetApp {
			budget = m
		}
	}
	if budget == nil {
		return 0, 0, fmt.Errorf("the demo seed has no app %s (the budget requests)", budgetApp)
	}
	demo, _ := budget["records"].([]any)
	if len(demo) == 0 {
		return 0, 0, fmt.Errorf("the demo seed's budget app has no records to copy")
	}
	records := append([]any{}, demo...)
	for _, r := range demo {
		if fmt.Sprint(r.(map[string]any)["org"].(map[string]any)["value"]) == memberOrg {
			perOrg++
		}
	}
	orgs := []string{"acme", "bluebird", "cosmo"}
	people := map[string]string{"acme": "alice@acme.example", "bluebird": "carol@bluebird.example", "cosmo": "hana@cosmo.example"}
	for i := 0; i < n; i++ {
		src := demo[i%len(demo)].(map[string]any)
		rec := make(map[string]any, len(src))
		for k, v := range src {
			rec[k] = v
		}
		org := orgs[i%len(orgs)]
		if org == memberOrg {
			perOrg++
		}
		title := fmt.Sprint(src["title"].(map[string]any)["value"])
		rec["title"] = map[string]any{"value": fmt.Sprintf("%s (%d)", title, i+1)}
		rec["org"] = map[string]any{"value": org}
		rec["requested_by"] = map[string]any{"value": people[org]}
		rec["amount"] = map[string]any{"value": fmt.Sprint(10000 + (i*7919)%490000)}
		rec["Created_datetime"] = map[string]any{"value": fmt.Sprintf("now-%dh", n-i)}
		records = append(records, rec)
	}
	budget["records"] = records
	out, err := json.Marshal(seed)
	if err != nil {
		return 0, 0, err
	}
	return len(records), perOrg, os.WriteFile(path, out, 0o600)
}

// provider is kgate's demo OpenID Provider (internal/devidp), served from
// this program: kgate and oauth2-proxy fetch its discovery document and
// keys, and the access tokens below are its own.
type provider struct {
	issuer string
	op     *devidp.Provider
	srv    *http.Server
}

func startProvider() (*provider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	issuer := fmt.Sprintf("http://127.0.0.1:%d/", l.Addr().(*net.TCPAddr).Port)
	op, err := devidp.New(devidp.Config{
		Issuer: issuer,
		Users:  devidp.DemoUsers(),
		Clients: []devidp.Client{
			{ID: portalClient, Secret: randomB64(24), RedirectURIs: []string{"http://127.0.0.1/kgate/callback"}},
			{ID: kgateClient, Secret: randomB64(24), Audience: []string{kgateAud}, ActAsUsers: true},
			{ID: o2pClient, Secret: randomB64(24), Audience: []string{o2pClient}, ActAsUsers: true},
		},
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	srv := &http.Server{Handler: op, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return &provider{issuer: issuer, op: op, srv: srv}, nil
}

// token is an RFC 9068 access token (typ at+jwt) for the member, as the
// client_credentials grant of client would issue it, valid long enough for
// any run.
func (p *provider) token(client string, audience ...string) (string, error) {
	return p.op.MintAccessToken(client, member, audience, 6*time.Hour)
}

func randomB64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// kgateConfig is the demo's own Caddyfile (examples/partner-portal), with
// the per-member admission limits opened up — one member drives the whole
// load here, while the defaults keep one member from crowding out the
// others (8 requests in flight, 16 MiB/s) — and the read cache off unless
// cached. Its {env.*} placeholders are set by kgateEnv.
func kgateConfig(cached bool) (string, error) {
	raw, err := fs.ReadFile(examples.FS, "partner-portal/Caddyfile")
	if err != nil {
		return "", err
	}
	cfg := string(raw)
	edits := []struct{ old, new string }{
		{"\t\tmembers members {", "\t\t# bench/peers: one member drives the whole load\n\t\tlimits {\n\t\t\tper_member 256\n\t\t\tper_member_rate 4GiB\n\t\t}\n\t\tmembers members {"},
	}
	if !cached {
		edits = append(edits, struct{ old, new string }{"cache_ttl 1s", "cache_ttl 0s"})
	}
	for _, e := range edits {
		if strings.Count(cfg, e.old) != 1 {
			return "", fmt.Errorf("examples/partner-portal/Caddyfile no longer has %q once: update bench/peers", e.old)
		}
		cfg = strings.Replace(cfg, e.old, e.new, 1)
	}
	return cfg, nil
}

func kgateEnv(site, kintone, issuer, policies string) []string {
	return []string{
		"KGATE_DEMO_SITE=" + site, "KGATE_DEMO_KINTONE=" + kintone, "KGATE_DEMO_ISSUER=" + issuer,
		"KGATE_DEMO_POLICIES=" + policies, "KGATE_DEMO_CLIENT_SECRET=" + randomB64(24), "KGATE_DEMO_SESSION_KEY=" + randomB64(32),
	}
}

// proxyConfig is plain Caddy: reverse_proxy to the simulator, adding the
// budget app's API token, as an operator would put kintone behind Caddy
// without kgate.
func proxyConfig(addr, kintone string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
	log {
		level WARN
	}
}

http://%[1]s {
	bind 127.0.0.1
	reverse_proxy %[2]s {
		header_up X-Cybozu-API-Token %[3]s
	}
}
`, addr, kintone, budgetToken)
}

// o2pConfig is oauth2-proxy's alpha configuration: the simulator as its
// upstream, the API token as a static header on every proxied request
// (secretSource.value is the raw value), and the demo provider as its OIDC
// issuer, whose access tokens it verifies with --skip-jwt-bearer-tokens.
func o2pConfig(addr, kintone, issuer string) string {
	return fmt.Sprintf(`server:
  bindAddress: "%[1]s"
upstreamConfig:
  upstreams:
    - id: kintone
      path: /
      uri: "%[2]s"
injectRequestHeaders:
  - name: X-Cybozu-API-Token
    values:
      - secretSource:
          value: "%[3]s"
providers:
  - id: demo
    provider: oidc
    clientID: %[4]s
    clientSecret: bench-peers
    oidcConfig:
      issuerURL: "%[5]s"
      emailClaim: email
      audienceClaims: [aud]
`, addr, kintone, budgetToken, o2pClient, issuer)
}

// o2pArgs are the flags beside the alpha configuration.
func o2pArgs(config string) []string {
	return []string{
		"--alpha-config", config,
		"--skip-jwt-bearer-tokens",
		"--email-domain", "*",
		"--cookie-secret", strings.Repeat("s", 32),
		"--cookie-secure=false",
		"--request-logging=false",
		"--auth-logging=false",
	}
}

func writeFile(dir, name, content string) (string, error) {
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, []byte(content), 0o600)
}
