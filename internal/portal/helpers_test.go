package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/portalconfig"
)

// The tests run the portal over the demo world (team/DEMO.md): the
// simulator seeded with examples/partner-portal/seed.json, the default
// policies in policies/, and the demo's members. A few hostile records
// are added to it; the clock is fixed so that the seed's relative dates
// fall on known days.

// demoNow is the fixed moment of the tests: 2026-11-18 10:00 in Tokyo (a
// Wednesday).
var demoNow = time.Date(2026, 11, 18, 1, 0, 0, 0, time.UTC)

const demoIssuer = "https://idp.test"

// members of the demo world, as auth would hand them over.
var members = map[string]*identity.Identity{
	"alice": {Subject: "u-alice", Issuer: demoIssuer, Email: "alice@acme.example", Name: "Alice Sato", Org: "acme", Level: "gold"},
	"bob":   {Subject: "u-bob", Issuer: demoIssuer, Email: "bob@acme.example", Name: "Bob Suzuki", Org: "acme", Level: "silver"},
	"carol": {Subject: "u-carol", Issuer: demoIssuer, Email: "carol@bluebird.example", Name: "Carol Tanaka", Org: "bluebird", Level: "gold"},
	"dave":  {Subject: "u-dave", Issuer: demoIssuer, Email: "dave@bluebird.example", Name: "Dave Ito", Org: "bluebird", Level: "silver"},
	"sam":   {Subject: "u-sam", Issuer: demoIssuer, Email: "sam@operator.example", Name: "Sam Yamada", Level: "staff"},
}

// demoMember returns a copy of a demo member, so a test may change it.
func demoMember(name string) *identity.Identity {
	cp := *members[name]
	return &cp
}

var demoApps = []gateway.App{
	{ID: "1", Alias: "members", Tokens: []string{"demo-token-members"}},
	{ID: "2", Alias: "budget", Tokens: []string{"demo-token-budget"}},
	{ID: "3", Alias: "documents", GuestSpace: "7", Tokens: []string{"demo-token-documents"}},
	{ID: "4", Alias: "survey", Tokens: []string{"demo-token-survey"}},
	{ID: "5", Alias: "schedule", Tokens: []string{"demo-token-schedule"}},
}

// Hostile values the escaping tests look for.
const (
	evilTitle    = `<script>alert("title")</script>`
	evilLocation = `"><img src=x onerror=alert(1)>`
	evilNotes    = `</textarea><script>alert(2)</script>`
	evilURL      = `javascript:alert(3)`
	evilPhone    = `javascript:alert(4)`
	evilMail     = `x@example.com?subject=<b>`
	evilRichDoc  = `<p onclick="alert(5)">Hi <b>there</b></p><script>alert(6)</script><a href="javascript:alert(7)">bad</a> <a href="https://example.com/ok">good</a><img src="https://evil.example/x.png" onerror="alert(8)"><iframe src="https://evil.example/"></iframe><style>body{display:none}</style><form action="https://evil.example/"><input name="p"></form>`
	evilDocTitle = `Doc "quoted" & <b>bold</b>`
	evilComment  = `<script>alert("comment")</script>`
)

// world is a portal over a running demo simulator.
type world struct {
	h   *Handler
	gw  *gateway.Gateway
	rec *recorder
	sim *kintonesim.Server
	up  *countingTransport // every request the gateway sent the simulator
}

// newWorld starts the demo world; change may adjust the portal config.
func newWorld(t testing.TB, change ...func(*Config)) *world {
	t.Helper()
	return newWorldWith(t, worldOptions{}, change...)
}

// worldOptions vary the demo world for a test: more apps in the seed,
// the gateway and the policy data.
type worldOptions struct {
	seed   func(*kintonesim.Seed)
	policy func(data map[string]any) // changes policies/data.json; nil: the demo policy as is
	rules  func(rego string) string  // changes policies/kgate.rego; nil: as is
	rego   string                    // a policy of the test's own instead of the demo's
	apps   []gateway.App             // besides the demo apps
	client func(*kintone.Config)     // changes the kintone client's configuration
}

func newWorldWith(t testing.TB, wo worldOptions, change ...func(*Config)) *world {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	addHostileRecords(t, seed)
	if wo.seed != nil {
		wo.seed(seed)
	}
	sim, err := kintonesim.New(seed, kintonesim.WithClock(func() time.Time { return demoNow }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	eng, err := demoPolicy()
	switch {
	case wo.rego != "":
		eng, err = regoPolicy(t, wo.rego)
	case wo.policy != nil || wo.rules != nil:
		eng, err = variantPolicy(t, wo.policy, wo.rules)
	}
	if err != nil {
		t.Fatal(err)
	}
	up := newCountingTransport()
	kc := kintone.Config{BaseURL: srv.URL, Transport: up}
	if wo.client != nil {
		wo.client(&kc)
	}
	client, err := kintone.NewClient(kc)
	if err != nil {
		t.Fatal(err)
	}
	apps := append(append([]gateway.App(nil), demoApps...), wo.apps...)
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: apps})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Gateway: gw, Config: portalconfig.Config{
		Apps: map[string]AppSettings{
			"schedule": {CalendarField: "start", CalendarEndField: "end"},
		},
		Brand: Brand{Title: Text{Ja: "パートナーポータル", En: "Partner Portal"}},
		Organizations: map[string]Text{
			"acme": {Ja: "アクメ商事", En: "Acme Trading"}, "bluebird": {Ja: "ブルーバード物流", En: "Bluebird Logistics"},
		},
		Levels: map[string]Text{"gold": {Ja: "ゴールド", En: "Gold"}, "silver": {Ja: "シルバー", En: "Silver"}},
	}}
	for _, c := range change {
		c(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.now = func() time.Time { return demoNow }
	rec := &recorder{backend: h.gw}
	h.gw = rec
	return &world{h: h, gw: gw, rec: rec, sim: sim, up: up}
}

// The demo policy is loaded (and its Rego tests run) once per test
// binary; it is only read.
var demoPolicy = sync.OnceValues(func() (*policy.Engine, error) {
	return policy.Open(context.Background(), policy.Options{Dir: "../../policies"})
})

// variantPolicy is the demo policy with its data or rules changed:
// copies of kgate.rego and data.json (without the demo's Rego tests, which
// pin the demo's data).
func variantPolicy(t testing.TB, change func(map[string]any), rules func(string) string) (*policy.Engine, error) {
	t.Helper()
	dir := t.TempDir()
	rego, err := os.ReadFile("../../policies/kgate.rego")
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile("../../policies/data.json")
	if err != nil {
		return nil, err
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, err
	}
	if change != nil {
		change(data)
	}
	if rules != nil {
		rego = []byte(rules(string(rego)))
	}
	if raw, err = json.Marshal(data); err != nil {
		return nil, err
	}
	writeFile(t, dir, "kgate.rego", string(rego))
	writeFile(t, dir, "data.json", string(raw))
	eng, err := policy.Open(context.Background(), policy.Options{Dir: dir})
	if err == nil {
		t.Cleanup(func() { eng.Close() })
	}
	return eng, err
}

// regoPolicy is a policy of the test's own: one Rego file, no data.
func regoPolicy(t testing.TB, rego string) (*policy.Engine, error) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "policy.rego", rego)
	eng, err := policy.Open(context.Background(), policy.Options{Dir: dir})
	if err == nil {
		t.Cleanup(func() { eng.Close() })
	}
	return eng, err
}

func addHostileRecords(t testing.TB, seed *kintonesim.Seed) {
	t.Helper()
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	val := func(v any) json.RawMessage { return raw(map[string]any{"value": v}) }
	for i := range seed.Apps {
		a := &seed.Apps[i]
		switch a.Code {
		case "schedule":
			a.Fields = append(a.Fields,
				raw(map[string]any{"type": "LINK", "code": "url", "label": "Web page", "protocol": "WEB"}),
				raw(map[string]any{"type": "LINK", "code": "phone", "label": "Phone", "protocol": "CALL"}),
				raw(map[string]any{"type": "LINK", "code": "mail", "label": "Mail", "protocol": "MAIL"}))
			a.Records = append(a.Records,
				map[string]json.RawMessage{ // record 20
					"title": val(evilTitle), "org": val("acme"), "location": val(evilLocation), "notes": val(evilNotes),
					"start": val("today+1 09:00"), "end": val("today+1 10:00"),
					"url": val(evilURL), "phone": val(evilPhone), "mail": val(evilMail),
				},
				map[string]json.RawMessage{ // record 21
					"title": val("Good links"), "org": val("acme"), "location": val("Osaka"), "notes": val("line one\nline two"),
					"start": val("today+3 18:30"), "end": val("today+5 12:00"),
					"url": val("https://example.com/ok?a=1&b=2"), "phone": val("+81-3-1234-5678"), "mail": val("info@example.com"),
				})
		case "budget":
			// Twelve more comments on record 1, the last one hostile.
			for i := 1; i <= 12; i++ {
				text := fmt.Sprintf("Comment number %d", i)
				if i == 12 {
					text = evilComment
				}
				a.Comments = append(a.Comments, kintonesim.SeedComment{Record: 1, Text: text, CreatedAt: fmt.Sprintf("now-%dh", 13-i)})
			}
		case "documents":
			a.Records = append(a.Records, map[string]json.RawMessage{ // record 17
				"title": val(evilDocTitle), "org": val("all"), "audience": val("silver"),
				"description": val(evilRichDoc), "published": val("today-1"),
			})
		}
	}
}

// recorder passes every call to the gateway and keeps what the portal
// asked for.
type recorder struct {
	backend
	mu     sync.Mutex
	lists  []gateway.ListRequest
	langs  []string
	tokens []string
	// exports are the exports the portal audited: records held, or -1
	// with the error's text.
	exports []exportLog
}

type exportLog struct {
	records int
	err     string
}

func (r *recorder) LogExport(ctx context.Context, id *identity.Identity, ref gateway.AppRef, records int, err error) {
	r.mu.Lock()
	e := exportLog{records: records}
	if err != nil {
		e.err = err.Error()
	}
	r.exports = append(r.exports, e)
	r.mu.Unlock()
	r.backend.LogExport(ctx, id, ref, records, err)
}

func (r *recorder) ListRecords(ctx context.Context, id *identity.Identity, req gateway.ListRequest) (*gateway.Page, error) {
	r.mu.Lock()
	r.lists = append(r.lists, req)
	r.mu.Unlock()
	return r.backend.ListRecords(ctx, id, req)
}

func (r *recorder) FormFields(ctx context.Context, id *identity.Identity, ref gateway.AppRef, lang string) (*gateway.Form, error) {
	r.mu.Lock()
	r.langs = append(r.langs, lang)
	r.mu.Unlock()
	return r.backend.FormFields(ctx, id, ref, lang)
}

// queries returns the queries of the ListRecords calls so far and forgets
// them.
func (r *recorder) queries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lists {
		out = append(out, l.Query)
	}
	r.lists = nil
	return out
}

// response is a page the portal answered.
type response struct {
	*httptest.ResponseRecorder
	body string
}

// get requests target as who (nil: no identity, through ServeError's
// caller, so only public paths make sense).
func (w *world) get(t testing.TB, who *identity.Identity, target string, header ...string) *response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return w.do(t, who, r)
}

func (w *world) do(t testing.TB, who *identity.Identity, r *http.Request) *response {
	t.Helper()
	rec := httptest.NewRecorder()
	if w.h.IsPublic(r.URL.Path) {
		w.h.ServePublic(rec, r)
	} else {
		w.h.Serve(rec, r, who)
	}
	b, _ := io.ReadAll(rec.Result().Body)
	return &response{ResponseRecorder: rec, body: string(b)}
}

// post sends a form to a public path.
func (w *world) post(t testing.TB, target string, form url.Values, header ...string) *response {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return w.do(t, nil, r)
}

// mustContain fails unless body has every one of want.
func mustContain(t testing.TB, body string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

// mustNotContain fails if body has any of bad.
func mustNotContain(t testing.TB, body string, bad ...string) {
	t.Helper()
	for _, s := range bad {
		if strings.Contains(body, s) {
			t.Errorf("page has %q", s)
		}
	}
}

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}
