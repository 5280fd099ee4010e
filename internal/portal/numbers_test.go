package portal

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

// Numbers follow their field's settings in the app's form: the digit
// separator, the number of decimals shown and the unit before or after.
func TestNumbersFollowTheFieldsSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		lang     string
		want     string
	}{
		{"unit before, no separator", map[string]any{"unit": "¥", "unitPosition": "BEFORE"}, "en", "¥200000"},
		{"separator", map[string]any{"digit": true, "unit": "¥", "unitPosition": "BEFORE"}, "en", "¥200,000"},
		{"separator in Japanese", map[string]any{"digit": true, "unit": "¥", "unitPosition": "BEFORE"}, "ja", "¥200,000"},
		{"unit after, two decimals", map[string]any{"digit": true, "displayScale": "2", "unit": " 円", "unitPosition": "AFTER"}, "en", "200,000.00 円"},
		{"no unit, no decimals", map[string]any{"displayScale": "0"}, "en", "200000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{seed: func(s *kintonesim.Seed) {
				for i := range s.Apps {
					if s.Apps[i].Code != "budget" {
						continue
					}
					for j, raw := range s.Apps[i].Fields {
						var f map[string]any
						if json.Unmarshal(raw, &f) != nil || f["code"] != "amount" {
							continue
						}
						delete(f, "unit")
						delete(f, "unitPosition")
						delete(f, "digit")
						for k, v := range tt.settings {
							f[k] = v
						}
						s.Apps[i].Fields[j], _ = json.Marshal(f)
					}
				}
			}}, func(c *Config) { c.Apps["budget"] = AppSettings{Columns: []string{"title", "amount"}} })
			for _, target := range []string{"/apps/budget", "/apps/budget/records/1"} {
				r := w.get(t, demoMember("alice"), target, "Accept-Language", tt.lang)
				if r.Code != http.StatusOK {
					t.Fatalf("%s: status %d", target, r.Code)
				}
				mustContain(t, r.body, ">"+tt.want+"</")
			}
		})
	}
}
