package caddymodule

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auditsink"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The example's audit log block is what README "Audit" describes: the
// audit logger alone, in JSON with readable times, in a rotated file that
// is kept for a bounded time.
func TestTheExampleAuditLogAdaptsToARotatedJSONFile(t *testing.T) {
	src, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": "Caddyfile.example"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Logging struct {
			Logs map[string]json.RawMessage `json:"logs"`
		} `json:"logging"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(cfg.Logging.Logs["audit"], &got); err != nil {
		t.Fatalf("no audit log in %s", out)
	}
	var want any
	json.Unmarshal([]byte(`{
		"writer": {
			"output": "file", "filename": "/var/log/kgate/audit.log", "mode": "0640",
			"roll_size_mb": 100, "roll_keep": 30, "roll_keep_days": 365, "roll_compression": "gzip"
		},
		"encoder": {"format": "json", "time_format": "rfc3339_nano", "duration_format": "seconds"},
		"include": ["http.handlers.kgate.audit"]
	}`), &want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("audit log adapted to\n%s", g)
	}
	if !strings.Contains(string(out), `"audit_app":{"flush_every":5000000000,"id":"31","queue":10000,"tokens":["{env.KGATE_AUDIT_TOKEN}"]}`) {
		t.Errorf("the example's audit_app block did not adapt to its JSON")
	}
	var def struct {
		Exclude []string `json:"exclude"`
	}
	json.Unmarshal(cfg.Logging.Logs["default"], &def)
	if !reflect.DeepEqual(def.Exclude, []string{"http.handlers.kgate.audit"}) {
		t.Errorf("default log excludes %v, want the audit events kept out of it", def.Exclude)
	}
}

func TestCaddyfileAuditAppAdapts(t *testing.T) {
	caddytest.AssertAdapt(t, `
:8080 {
	kgate {
		kintone https://example.cybozu.com
		audit_app 31 {
			guest_space 4
			token {env.KGATE_AUDIT_TOKEN}
			queue 5000
			flush_every 2s
		}
		policy ./policies
		identity testing
	}
}
`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"handle": [
								{
									"audit_app": {
										"flush_every": 2000000000,
										"guest_space": "4",
										"id": "31",
										"queue": 5000,
										"tokens": [
											"{env.KGATE_AUDIT_TOKEN}"
										]
									},
									"handler": "kgate",
									"identity": {
										"source": "testing"
									},
									"kintone": {
										"url": "https://example.cybozu.com"
									},
									"policy": {
										"dir": "./policies"
									}
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}

func TestCaddyfileAuditAppErrorsSayWhatIsMissing(t *testing.T) {
	tests := []struct{ block, want string }{
		{"audit_app", "audit_app needs kintone's app id"},
		{"audit_app 31", "a `token` with the add right is required"},
		{"audit_app 31 {\n token t\n queue many\n}", `queue "many"`},
		{"audit_app 31 {\n token t\n batch 5\n}", `unknown audit_app setting "batch"`},
	}
	for _, tt := range tests {
		t.Run(tt.block, func(t *testing.T) {
			cfg := ":8080 {\n\tkgate {\n\t\t" + tt.block + "\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// With an audit app, the handler's one audit logger writes each event to
// the log and into the app; Cleanup sends what is still queued, and the
// sink's counters are metrics.
func TestAuditAppGetsTheEventsFlushedAtCleanup(t *testing.T) {
	var fields []json.RawMessage
	for _, f := range auditsink.Fields {
		fields = append(fields, json.RawMessage(`{"type":"`+f.Type+`","code":"`+f.Code+`","label":"`+f.Code+`"}`))
	}
	sim, err := kintonesim.New(&kintonesim.Seed{Apps: []kintonesim.SeedApp{{ID: 31, Name: "audit", Fields: fields,
		Tokens: []kintonesim.SeedToken{{Token: "tok-audit", Add: true}}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KGATE_TEST_AUDIT_TOKEN", "tok-audit")
	core, logs := observer.New(zap.InfoLevel)
	h := &Handler{logger: zap.New(core), client: client,
		AuditApp: &AuditApp{ID: "31", Tokens: []string{"{env.KGATE_TEST_AUDIT_TOKEN}"}, FlushEvery: caddy.Duration(time.Hour)}}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	l, err := h.auditLogger(ctx, caddy.NewReplacer(), client)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"alice@acme.example", "bob@bluebird.example", "carol@acme.example"} {
		l.Log(audit.Event{Kind: "read", Email: m, App: "orders", Action: "read", Allowed: true, Outcome: "ok"})
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	recs, err := sim.Select(31, "", `app = "orders" and decision = "allow"`)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records (%v), want the 3 events", len(recs), err)
	}
	if n := logs.FilterLoggerName("audit").Len(); n != 3 {
		t.Errorf("%d log entries, want the 3 events in the log too", n)
	}
	mfs, err := ctx.GetMetricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sent := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "kgate_audit_sink_sent_total" {
			sent = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if sent != 3 {
		t.Errorf("kgate_audit_sink_sent_total = %v, want 3", sent)
	}
}

func TestAuditAppRefusesAnEmptyTokenOrABadID(t *testing.T) {
	tests := []struct {
		name string
		app  AuditApp
		want string
	}{
		{"a token whose variable is unset", AuditApp{ID: "31", Tokens: []string{"{env.KGATE_TEST_UNSET_TOKEN}"}}, "empty after replacing"},
		{"no token", AuditApp{ID: "31"}, "token"},
		{"an id that is no number", AuditApp{ID: "audit", Tokens: []string{"t"}}, "not a kintone app id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{logger: zap.NewNop(), AuditApp: &tt.app}
			_, err := h.auditLogger(caddy.Context{}, caddy.NewReplacer(), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// Events carry Caddy's request uuid — the same for every event of one
// request, another for the next — and the client address Caddy settled on.
func TestAuditRequestIsCaddysUUIDAndClientIP(t *testing.T) {
	request := func() audit.Request {
		r := httptest.NewRequest("GET", "/k/v1/records.json", nil)
		ctx := context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "203.0.113.5"})
		r = r.WithContext(context.WithValue(ctx, caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields)))
		caddyhttp.NewTestReplacer(r)
		r = withAuditRequest(r)
		first := audit.RequestFrom(r.Context())
		if again := audit.RequestFrom(withAuditRequest(r).Context()); again != first {
			t.Errorf("one request, two ids: %v and %v", first, again)
		}
		return first
	}
	a, b := request(), request()
	if a.ID == "" || a.ID == b.ID || a.RemoteIP != "203.0.113.5" {
		t.Errorf("requests %+v and %+v, want distinct uuids and the client address", a, b)
	}
}
