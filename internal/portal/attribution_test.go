package portal

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

// kintone records kgate's writes as the API token's user ("Administrator"),
// an account of the operator's: members see a neutral label instead.
func TestPartnersNeverSeeTheAPITokenUserAsAuthor(t *testing.T) {
	w := newWorldWith(t, worldOptions{seed: func(s *kintonesim.Seed) {
		for i := range s.Apps {
			if s.Apps[i].Code == "budget" {
				s.Apps[i].Records[1]["Created_by"] = json.RawMessage(`{"value":{"code":"admin"}}`)
			}
		}
	}}, func(c *Config) {
		c.Apps["budget"] = AppSettings{Columns: []string{"title", "Created_by", "Updated_by"}}
	})
	tests := []struct {
		name, lang, target string
		want, not          []string
	}{
		{"a record kgate wrote, in English", "en", "/apps/budget/records/1", []string{"via the portal"}, []string{"Administrator"}},
		{"a record kgate wrote, in Japanese", "ja", "/apps/budget/records/1", []string{"ポータル経由"}, []string{"Administrator"}},
		{"the list", "en", "/apps/budget", []string{`<td data-label="Created by">via the portal</td>`, `<td data-label="Updated by">via the portal</td>`}, []string{"Administrator"}},
		{"a record a kintone user made keeps their name", "en", "/apps/budget/records/2", []string{"Demo Admin / デモ管理者", "via the portal"}, []string{"Administrator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.get(t, demoMember("alice"), tt.target, "Accept-Language", tt.lang)
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, tt.not...)
		})
	}
}
