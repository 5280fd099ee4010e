package caddymodule

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
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
	var def struct {
		Exclude []string `json:"exclude"`
	}
	json.Unmarshal(cfg.Logging.Logs["default"], &def)
	if !reflect.DeepEqual(def.Exclude, []string{"http.handlers.kgate.audit"}) {
		t.Errorf("default log excludes %v, want the audit events kept out of it", def.Exclude)
	}
}
