package gateway_test

import (
	"errors"
	"testing"

	"github.com/kgate/kgate/internal/kintone"
)

// The portal's CSV exports are audited as one event of kind "export" with
// the records the file held, or why it was stopped or refused.
func TestExportsAreAuditedWithTheirCount(t *testing.T) {
	for _, tc := range []struct {
		name      string
		records   int
		err       error
		outcome   string
		decision  string
		wantError string
	}{
		{"a whole export", 1234, nil, "ok", "allow", ""},
		{"an export past the cap", 0, errors.New("past the export cap of 10"), "error", "allow", "past the export cap of 10"},
		{"an export the policy refused", 0, kintone.NewError("CB_NO02", "en"), "denied", "deny", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newWriteEnv(t)
			before := len(e.audit.All())
			e.gw.LogExport(e.ctx, alice, budget, tc.records, tc.err)
			logs := e.audit.All()[before:]
			if len(logs) != 1 || logs[0].Message != "export" {
				t.Fatalf("%d events (%v), want 1 of kind export", len(logs), logs)
			}
			ev := logs[0].ContextMap()
			if ev["app"] != "budget" || ev["action"] != "read" || ev["email"] != alice.Email ||
				ev["outcome"] != tc.outcome || ev["decision"] != tc.decision {
				t.Errorf("event %v", ev)
			}
			if n, _ := ev["records"].(int64); tc.records > 0 && n != int64(tc.records) {
				t.Errorf("records %v (%T), want %d", ev["records"], ev["records"], tc.records)
			}
			if tc.wantError != "" && ev["error"] != tc.wantError {
				t.Errorf("error %v, want %q", ev["error"], tc.wantError)
			}
		})
	}
}
