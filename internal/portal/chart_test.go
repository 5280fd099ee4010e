package portal

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintonesim"
)

// budgetCharts are charts of the budget app the tests configure.
func budgetCharts(c *Config) {
	c.Apps["budget"] = AppSettings{StatusOptions: []string{"Draft", "Submitted", "Approved", "Rejected"}, Charts: []Chart{
		{Title: Text{Ja: "区分別の金額", En: "Amount by category"}, GroupBy: "category", Sum: "amount"},
		{Title: Text{Ja: "状態別の件数", En: "Requests by status"}, GroupBy: "Status"},
		{Title: Text{Ja: "区分別の承認額", En: "Approved by category"}, GroupBy: "category", Sum: "approved_amount"},
	}}
}

// seedTruth adds up the seed's budget records that pass keep, by group
// field, as "key=count/sum" (sum of sumField when given).
func seedTruth(t *testing.T, groupField, sumField string, keep func(map[string]string) bool) map[string]string {
	t.Helper()
	seed, err := kintonesim.LoadSeed("../../examples/partner-portal/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	tl := newTally("DROP_DOWN", time.UTC)
	for _, a := range seed.Apps {
		if a.Code != "budget" {
			continue
		}
		for _, r := range a.Records {
			vals := map[string]string{}
			for code, raw := range r {
				var v struct{ Value any }
				if json.Unmarshal(raw, &v) == nil {
					if s, ok := v.Value.(string); ok {
						vals[code] = s
					}
				}
			}
			if keep(vals) {
				tl.add(vals[groupField], vals[sumField])
			}
		}
	}
	out := map[string]string{}
	for k, g := range tl.groups {
		out[k] = itoa(g.Count) + "/" + g.sumText()
	}
	return out
}

// chartTable reads a chart's table off the page: label → value.
func chartTable(t *testing.T, body, title string) map[string]string {
	t.Helper()
	i := strings.Index(body, "<caption>"+title)
	if i < 0 {
		return nil
	}
	end := strings.Index(body[i:], "</table>")
	rows := regexp.MustCompile(`<th scope="row">([^<]*)</th><td class="num">([^<]*)</td>`).FindAllStringSubmatch(body[i:i+end], -1)
	out := map[string]string{}
	for _, r := range rows {
		out[r[1]] = r[2]
	}
	return out
}

func TestChartsCountOnlyTheRecordsTheRowRuleLetsTheMemberSee(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy func(map[string]any)
		who    string
		keep   func(map[string]string) bool
	}{
		{"the demo policy: silver sees their organization's", nil, "bob",
			func(v map[string]string) bool { return v["org"] == "acme" }},
		{"gold of another organization", nil, "carol",
			func(v map[string]string) bool { return v["org"] == "bluebird" }},
		{"a policy widening silver to every organization", func(d map[string]any) {
			level(d, "budget", "silver")["scope"] = "all"
		}, "bob", func(map[string]string) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy}, budgetCharts)
			r := w.get(t, demoMember(tc.who), "/apps/budget/charts", "Accept-Language", "en")
			if r.Code != 200 {
				t.Fatalf("status %d", r.Code)
			}
			truth := seedTruth(t, "Status", "", tc.keep)
			got := chartTable(t, r.body, "Requests by status")
			if len(got) != len(truth) {
				t.Fatalf("status chart %v, want the groups of %v", got, truth)
			}
			for k, v := range truth {
				if count, _, _ := strings.Cut(v, "/"); got[k] != count {
					t.Errorf("%s: %q, want %s", k, got[k], count)
				}
			}
			sums := seedTruth(t, "category", "amount", tc.keep)
			got = chartTable(t, r.body, "Amount by category")
			for k, v := range sums {
				_, sum, _ := strings.Cut(v, "/")
				if want := group(sum, ","); got[k] != want {
					t.Errorf("amount of %s: %q, want %s", k, got[k], want)
				}
			}
		})
	}
}

// level is a level's settings of an app in the policy data.
func level(data map[string]any, app, lvl string) map[string]any {
	return data["apps"].(map[string]any)[app].(map[string]any)["levels"].(map[string]any)[lvl].(map[string]any)
}

func TestAChartOnAFieldTheMemberMayNotReadOrSeesMaskedIsNotShown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   func(map[string]any)
		who      string
		shown    []string
		notShown []string
	}{
		{"gold reads every field", nil, "alice",
			[]string{"Amount by category", "Requests by status", "Approved by category"}, nil},
		{"silver sees approved_amount masked: no sum of it", nil, "bob",
			[]string{"Amount by category", "Requests by status"}, []string{"Approved by category"}},
		{"a policy hiding amount from silver", func(d map[string]any) {
			level(d, "budget", "silver")["readable"] = []any{"title", "org", "category", "approved_amount"}
			delete(level(d, "budget", "silver"), "masks")
		}, "bob", []string{"Requests by status", "Approved by category"}, []string{"Amount by category"}},
		{"a policy hiding the group field from silver", func(d map[string]any) {
			level(d, "budget", "silver")["readable"] = []any{"title", "org", "amount"}
		}, "bob", []string{"Requests by status"}, []string{"Amount by category", "Approved by category"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: tc.policy}, budgetCharts)
			r := w.get(t, demoMember(tc.who), "/apps/budget/charts", "Accept-Language", "en")
			if r.Code != 200 {
				t.Fatalf("status %d", r.Code)
			}
			for _, title := range tc.shown {
				mustContain(t, r.body, "<h2 id=\"chart", ">"+title+"</h2>")
			}
			mustNotContain(t, r.body, tc.notShown...)
		})
	}
}

func TestTheChartPageHonoursTheListsFiltersAndIsLinkedFromTheList(t *testing.T) {
	w := newWorld(t, budgetCharts)
	alice := demoMember("alice")
	list := w.get(t, alice, "/apps/budget?f.category=event&sort=amount&dir=desc", "Accept-Language", "en")
	mustContain(t, list.body, `<a href="/apps/budget/charts?f.category=event">Charts</a>`)
	r := w.get(t, alice, "/apps/budget/charts?f.category=event", "Accept-Language", "en")
	got := chartTable(t, r.body, "Amount by category")
	truth := seedTruth(t, "category", "amount", func(v map[string]string) bool {
		return v["org"] == "acme" && v["category"] == "event"
	})
	if len(got) != 1 || len(truth) != 1 {
		t.Fatalf("chart %v, truth %v: want one group", got, truth)
	}
	_, sum, _ := strings.Cut(truth["event"], "/")
	if got["event"] != group(sum, ",") {
		t.Errorf("event: %q, want %s", got["event"], sum)
	}
	mustContain(t, r.body, "These charts count only the records that match", `href="/apps/budget?f.category=event"`)
	if bad := w.get(t, alice, "/apps/budget/charts?f.category=nope", "Accept-Language", "en"); bad.Code != 400 {
		t.Errorf("an unknown option: status %d, want 400", bad.Code)
	}
}

func TestAnAppWithoutChartsTheMemberMaySeeHasNoChartPage(t *testing.T) {
	w := newWorld(t)
	if r := w.get(t, demoMember("alice"), "/apps/budget/charts"); r.Code != 404 {
		t.Errorf("no charts configured: status %d, want 404", r.Code)
	}
	mustNotContain(t, w.get(t, demoMember("alice"), "/apps/budget").body, "/charts")
	w = newWorld(t, func(c *Config) {
		c.Apps["budget"] = AppSettings{Charts: []Chart{{GroupBy: "category", Sum: "approved_amount"}}}
	})
	if r := w.get(t, demoMember("bob"), "/apps/budget/charts"); r.Code != 404 {
		t.Errorf("only a chart of a masked field: status %d, want 404", r.Code)
	}
}

func TestChartsAreKeptPerCompiledQueryForAWhile(t *testing.T) {
	w := newWorld(t, budgetCharts)
	now := demoNow
	w.h.charts.now = func() time.Time { return now }
	reads := func(who *identity.Identity, target string) int {
		w.up.reset()
		if r := w.get(t, who, target); r.Code != 200 {
			t.Fatalf("%s: status %d", target, r.Code)
		}
		n := 0
		for _, call := range w.up.taken() {
			if strings.Contains(call, "records/cursor.json") {
				n++
			}
		}
		return n
	}
	if n := reads(demoMember("alice"), "/apps/budget/charts"); n == 0 {
		t.Fatal("the first chart page read no cursor")
	}
	if n := reads(demoMember("alice"), "/apps/budget/charts"); n != 0 {
		t.Errorf("the same charts again read %d cursor requests, want them kept", n)
	}
	// Mika is another gold member of acme: her read compiles alike.
	mika := &identity.Identity{Subject: "u-mika", Issuer: demoIssuer, Email: "mika@acme.example", Org: "acme", Level: "gold"}
	if n := reads(mika, "/apps/budget/charts"); n != 0 {
		t.Errorf("a member whose read compiles alike read %d cursor requests", n)
	}
	if n := reads(demoMember("carol"), "/apps/budget/charts"); n == 0 {
		t.Error("another organization's row rule was answered from the first one's charts")
	}
	if n := reads(demoMember("alice"), "/apps/budget/charts?f.category=event"); n == 0 {
		t.Error("other filters were answered from the unfiltered charts")
	}
	now = now.Add(chartTTL + time.Second)
	if n := reads(demoMember("alice"), "/apps/budget/charts"); n == 0 {
		t.Error("charts were kept past their time")
	}
}

func TestChartPageInBothLanguages(t *testing.T) {
	w := newWorld(t, budgetCharts)
	ja := w.get(t, demoMember("alice"), "/apps/budget/charts", "Accept-Language", "ja")
	mustContain(t, ja.body, "区分別の金額", "状態別の件数", "件数", "金額の合計", "グラフ")
	en := w.get(t, demoMember("alice"), "/apps/budget/charts", "Accept-Language", "en")
	mustContain(t, en.body, "Amount by category", "Records", "Total of", "Charts")
}

func TestChartsAreChargedToTheMembersReadRate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   int
		second int // the status of a second chart page with other filters
	}{
		{"a rate the charts fit in", 3000, 200},
		{"a rate of one record a minute", 1, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, worldOptions{policy: func(d map[string]any) {
				level(d, "budget", "silver")["rate"] = tc.rate
			}}, budgetCharts)
			bob := demoMember("bob")
			// A read larger than the rate is let through on a full bucket,
			// leaving a debt: the first page counts, the next must wait.
			if r := w.get(t, bob, "/apps/budget/charts", "Accept-Language", "en"); r.Code != 200 {
				t.Fatalf("first chart page: status %d", r.Code)
			}
			r := w.get(t, bob, "/apps/budget/charts?f.category=event", "Accept-Language", "en")
			if r.Code != tc.second {
				t.Fatalf("second chart page: status %d, want %d", r.Code, tc.second)
			}
			if tc.second == 429 && r.Header().Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		})
	}
}
