package portal

import (
	"net/http"
	"testing"

	"github.com/kgate/kgate/internal/kintone"
)

// TestOptionalReadsGoFirstWhenTheDailyBudgetRunsShort: past the
// low-priority cutoff of an app's daily budget, the portal still shows
// lists and records and what may be done to them, without what it can do
// without — the calendar, a record's comments — and says so.
func TestOptionalReadsGoFirstWhenTheDailyBudgetRunsShort(t *testing.T) {
	tests := []struct {
		name  string
		short bool
	}{
		{"budget to spare", false},
		{"budget past the cutoff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wo := worldOptions{}
			if tt.short {
				// 1 % of 100: an app is past the cutoff from its first
				// request of the day on.
				wo.client = func(cfg *kintone.Config) { cfg.DailyLimit, cfg.LowPriorityCutoff = 100, 1 }
			}
			w := newWorldWith(t, wo)
			alice := demoMember("alice")
			list := w.get(t, alice, "/apps/budget", "Accept-Language", "en")
			record := w.get(t, alice, "/apps/budget/records/1", "Accept-Language", "en")
			w.get(t, alice, "/apps/schedule", "Accept-Language", "en")
			calendar := w.get(t, alice, "/apps/schedule/calendar", "Accept-Language", "en")
			if list.Code != http.StatusOK || record.Code != http.StatusOK {
				t.Fatalf("list %d, record %d: both must be served", list.Code, record.Code)
			}
			mustContain(t, list.body, `href="/apps/budget/records/1"`)
			mustContain(t, record.body, `href="/apps/budget/records/1/edit"`)
			extras := []string{"Comment number 11"}
			if !tt.short {
				mustContain(t, record.body, extras...)
				mustNotContain(t, record.body, "could not be loaded")
				if calendar.Code != http.StatusOK {
					t.Errorf("calendar: %d, want 200", calendar.Code)
				}
				return
			}
			mustNotContain(t, record.body, extras...)
			mustContain(t, record.body, "The comments could not be loaded just now")
			if calendar.Code != http.StatusServiceUnavailable || calendar.Header().Get("Retry-After") == "" {
				t.Errorf("calendar: %d (Retry-After %q), want 503 with Retry-After", calendar.Code, calendar.Header().Get("Retry-After"))
			}
		})
	}
}
