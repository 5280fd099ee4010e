package portal

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"testing"
)

// orgOptions are the values the organization filter of a list offers.
func orgOptions(t *testing.T, body string) []string {
	t.Helper()
	sel := regexp.MustCompile(`(?s)<select id="f\d+" name="f\.org">(.*?)</select>`).FindStringSubmatch(body)
	if sel == nil {
		t.Fatal("no organization filter")
	}
	var out []string
	for _, m := range regexp.MustCompile(`<option value="([^"]+)"[^>]*>([^<]*)</option>`).FindAllStringSubmatch(sel[1], -1) {
		out = append(out, m[1]+"="+m[2])
	}
	return out
}

func TestOrganizationFilterOffersOnlyTheOrganizationsTheMemberSees(t *testing.T) {
	names := map[string]string{"acme": "Acme Trading", "bluebird": "Bluebird Logistics", "cosmo": "cosmo", "all": "all"}
	variants := []struct {
		name   string
		change func(map[string]any)
	}{
		{"demo policy", nil},
		{"gold sees every organization's budget requests", func(d map[string]any) {
			d["apps"].(map[string]any)["budget"].(map[string]any)["levels"].(map[string]any)["gold"].(map[string]any)["scope"] = "all"
		}},
		{"documents without a shared value", func(d map[string]any) {
			delete(d["apps"].(map[string]any)["documents"].(map[string]any), "shared_org")
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			_, tp := demoData(t, v.change)
			w := newWorldWith(t, worldOptions{policy: v.change}, func(c *Config) {
				c.Apps["budget"] = AppSettings{OrgField: "org"}
				c.Apps["documents"] = AppSettings{OrgField: "org"}
			})
			for _, name := range []string{"alice", "bob", "sam"} {
				who := demoMember(name)
				for _, alias := range []string{"budget", "documents"} {
					// The ground truth: the organizations of the records the
					// policy's rule lets the member see.
					var want []string
					app := tp.Apps[alias]
					for _, r := range w.simRecords(t, alias) {
						if total, _, _ := truthCounts(tp, alias, who, []map[string]json.RawMessage{r}, demoNow, nil); total == 1 {
							org := textOfRaw(r[app.OrgField])
							if o := org + "=" + names[org]; !slices.Contains(want, o) {
								want = append(want, o)
							}
						}
					}
					r := w.get(t, who, "/apps/"+alias, "Accept-Language", "en")
					if r.Code != http.StatusOK {
						t.Fatalf("%s %s: status %d", name, alias, r.Code)
					}
					got := orgOptions(t, r.body)
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s %s: filter offers %q, want %q", name, alias, got, want)
					}
				}
			}
		})
	}
}

func TestOrganizationCodesShowTheirConfiguredNames(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.Apps["budget"] = AppSettings{OrgField: "org", Columns: []string{"title", "org"}} })
	tests := []struct {
		name, lang, target string
		want, not          []string
	}{
		{"list in English", "en", "/apps/budget", []string{`<td data-label="Organization">Acme Trading</td>`, `<option value="acme">Acme Trading</option>`}, []string{`>acme<`}},
		{"list in Japanese", "ja", "/apps/budget", []string{`<td data-label="組織">アクメ商事</td>`, `<option value="acme">アクメ商事</option>`}, []string{`>acme<`}},
		{"record", "en", "/apps/budget/records/1", []string{"Acme Trading"}, []string{`>acme<`}},
		{"filtered list keeps the choice", "en", "/apps/budget?f.org=acme", []string{`<option value="acme" selected>Acme Trading</option>`}, nil},
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
	// Without org_field, codes are shown as kintone holds them.
	plain := newWorld(t, func(c *Config) { c.Apps["budget"] = AppSettings{Columns: []string{"title", "org"}} })
	r := plain.get(t, demoMember("alice"), "/apps/budget", "Accept-Language", "en")
	mustContain(t, r.body, `<td data-label="Organization">acme</td>`)
}
