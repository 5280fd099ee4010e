package portal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/portalconfig"
)

// The home page's numbers are checked against a ground truth computed
// apart from kgate: every record as the simulator holds it, filtered in Go
// by the policy data's rule (scope, organization, audience, owner) and
// its status actions.

// truthPolicy is the part of policies/data.json the ground truth reads.
type truthPolicy struct {
	Apps map[string]struct {
		OrgField      string `json:"org_field"`
		SharedOrg     string `json:"shared_org"`
		AudienceField string `json:"audience_field"`
		OwnerField    string `json:"owner_field"`
		Levels        map[string]struct {
			Actions       []string `json:"actions"`
			Scope         string   `json:"scope"`
			Audiences     []string `json:"audiences"`
			StatusActions []string `json:"status_actions"`
		} `json:"levels"`
	} `json:"apps"`
}

// demoData is the demo policy's data.json, changed by change.
func demoData(t *testing.T, change func(map[string]any)) (map[string]any, truthPolicy) {
	t.Helper()
	raw, err := os.ReadFile("../../policies/data.json")
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(data)
	}
	b, _ := json.Marshal(data)
	var tp truthPolicy
	if err := json.Unmarshal(b, &tp); err != nil {
		t.Fatal(err)
	}
	return data, tp
}

// simRecords are every record of an app as the simulator holds them,
// read with the app's token, not through kgate.
func (w *world) simRecords(t *testing.T, alias string) []map[string]json.RawMessage {
	t.Helper()
	var out []map[string]json.RawMessage
	for _, a := range demoApps {
		if a.Alias != alias {
			continue
		}
		path := "/k/v1/records.json"
		if a.GuestSpace != "" {
			path = "/k/guest/" + a.GuestSpace + "/v1/records.json"
		}
		for offset := 0; ; offset += 500 {
			q := url.Values{"app": {a.ID}, "query": {"order by $id asc limit 500 offset " + strconv.Itoa(offset)}}
			r := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
			r.Header.Set("X-Cybozu-API-Token", a.Tokens[0])
			rec := httptest.NewRecorder()
			w.sim.ServeHTTP(rec, r)
			var body struct {
				Records []map[string]struct {
					Value json.RawMessage `json:"value"`
				} `json:"records"`
			}
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
				t.Fatalf("simulator records of %s: %d %s", alias, rec.Code, rec.Body)
			}
			for _, r := range body.Records {
				m := map[string]json.RawMessage{}
				for k, v := range r {
					m[k] = v.Value
				}
				out = append(out, m)
			}
			if len(body.Records) < 500 {
				return out
			}
		}
	}
	t.Fatalf("no app %s", alias)
	return nil
}

func textOfRaw(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// truthCounts counts what the home page should show for app alias.
func truthCounts(tp truthPolicy, alias string, who *identity.Identity, recs []map[string]json.RawMessage, since time.Time, process map[string]string) (total, fresh, awaiting int) {
	app := tp.Apps[alias]
	lv, ok := app.Levels[who.Level]
	if !ok || !slices.Contains(lv.Actions, "read") {
		return 0, 0, 0
	}
	states := map[string]bool{}
	if slices.Contains(lv.Actions, "status") {
		for _, a := range lv.StatusActions {
			if from, ok := process[a]; ok {
				states[from] = true
			}
		}
	}
	for _, r := range recs {
		switch lv.Scope {
		case "all":
		case "org":
			org := textOfRaw(r[app.OrgField])
			if who.Org == "" || org != who.Org && (app.SharedOrg == "" || org != app.SharedOrg) {
				continue
			}
			if app.AudienceField != "" && !slices.Contains(lv.Audiences, textOfRaw(r[app.AudienceField])) {
				continue
			}
		case "own":
			if textOfRaw(r[app.OwnerField]) != who.Email {
				continue
			}
		default:
			continue
		}
		total++
		if u, err := time.Parse(time.RFC3339, textOfRaw(r["Updated_datetime"])); err == nil && !since.IsZero() && u.After(since) {
			fresh++
		}
		if states[textOfRaw(r["Status"])] {
			awaiting++
		}
	}
	return total, fresh, awaiting
}

// budgetProcess is the budget app's actions (name → from state), as the
// demo seed defines them.
var budgetProcess = map[string]string{"Submit": "Draft", "Withdraw": "Submitted", "Approve": "Submitted", "Reject": "Submitted"}

// cardCounts reads the numbers of app alias's card on an English home page.
func cardCounts(t *testing.T, body, alias string) (total, fresh, awaiting string) {
	t.Helper()
	for _, card := range strings.Split(body, `<li class="card app-card">`)[1:] {
		if !strings.Contains(card, `href="/apps/`+alias+`"`) {
			continue
		}
		get := func(label string) string {
			m := regexp.MustCompile(`<dt>` + label + `</dt><dd>([^<]*)</dd>`).FindStringSubmatch(card)
			if m == nil {
				return "-"
			}
			return m[1]
		}
		return get("Records"), get("New or changed since your last visit"), get("Awaiting your action")
	}
	return "-", "-", "-"
}

func TestHomeCountsAreThePolicysRecordsNewAndAwaiting(t *testing.T) {
	since := demoNow.Add(-36 * 24 * time.Hour) // between acme's budget requests of now-37d and now-35d
	variants := []struct {
		name   string
		change func(map[string]any)
	}{
		{"demo policy", nil},
		{"gold sees only its own budget requests", func(d map[string]any) {
			budget := d["apps"].(map[string]any)["budget"].(map[string]any)
			budget["owner_field"] = "requested_by"
			budget["levels"].(map[string]any)["gold"].(map[string]any)["scope"] = "own"
		}},
		{"gold may only submit", func(d map[string]any) {
			gold := d["apps"].(map[string]any)["budget"].(map[string]any)["levels"].(map[string]any)["gold"].(map[string]any)
			gold["status_actions"] = []any{"Submit"}
		}},
		{"documents open to silver's audience only", func(d map[string]any) {
			gold := d["apps"].(map[string]any)["documents"].(map[string]any)["levels"].(map[string]any)["gold"].(map[string]any)
			gold["audiences"] = []any{"silver"}
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			_, tp := demoData(t, v.change)
			w := newWorldWith(t, worldOptions{seed: spreadUpdates, policy: func(d map[string]any) {
				if v.change != nil {
					v.change(d)
				}
			}})
			for _, name := range []string{"alice", "bob", "carol", "sam"} {
				who := demoMember(name)
				w.setVisits(t, who, visits{Last: since})
				r := w.get(t, who, "/", "Accept-Language", "en")
				if r.Code != http.StatusOK {
					t.Fatalf("%s: status %d", name, r.Code)
				}
				for _, alias := range []string{"budget", "documents", "survey", "schedule"} {
					total, fresh, awaiting := truthCounts(tp, alias, who, w.simRecords(t, alias), since, nil)
					if alias == "budget" {
						total, fresh, awaiting = truthCounts(tp, alias, who, w.simRecords(t, alias), since, budgetProcess)
					}
					gt, gf, ga := cardCounts(t, r.body, alias)
					if total == 0 {
						if gt != "-" && gt != "0" {
							t.Errorf("%s %s: shows %s records, want none", name, alias, gt)
						}
						continue
					}
					wantAwaiting := "-" // apps without process management show none
					if alias == "budget" {
						wantAwaiting = strconv.Itoa(awaiting)
					}
					if gt != strconv.Itoa(total) || gf != strconv.Itoa(fresh) || ga != wantAwaiting {
						t.Errorf("%s %s: shows records %s, new %s, awaiting %s; want %d, %d, %s", name, alias, gt, gf, ga, total, fresh, wantAwaiting)
					}
				}
			}
		})
	}
}

// spreadUpdates gives the seed's records update times spread over the
// last 80 days (every fourth day), so that a visit 36 days ago finds some
// records new and others not.
func spreadUpdates(seed *kintonesim.Seed) {
	for i := range seed.Apps {
		for j, r := range seed.Apps[i].Records {
			if _, ok := r["Created_datetime"]; !ok {
				r["Created_datetime"] = json.RawMessage(`{"value":"now-90d"}`)
			}
			r["Updated_datetime"] = json.RawMessage(`{"value":"now-` + strconv.Itoa(j*4%80) + `d"}`)
		}
	}
}

// setVisits stores a member's visits as an earlier home page would have.
func (w *world) setVisits(t *testing.T, who *identity.Identity, v visits) {
	t.Helper()
	w.h.saveVisits(context.Background(), visitKey(who.Issuer, who.Subject), v, demoNow)
}

func TestHomeKeepsTheLastVisitInTheStoreAndCountsFromThePreviousVisit(t *testing.T) {
	w := newWorld(t)
	who := demoMember("alice")
	key := visitKey(who.Issuer, who.Subject)
	steps := []struct {
		at        time.Duration // after demoNow
		wantPrev  time.Duration // -1: none (a first visit)
		firstNote bool
	}{
		{0, -1, true},                            // first visit: nothing is new yet
		{10 * time.Minute, -1, true},             // the same visit
		{2 * time.Hour, 10 * time.Minute, false}, // a new visit counts from the last view of the one before
		{2*time.Hour + 5*time.Minute, 10 * time.Minute, false},
		{5 * time.Hour, 2*time.Hour + 5*time.Minute, false},
	}
	for _, st := range steps {
		now := demoNow.Add(st.at)
		w.h.now = func() time.Time { return now }
		r := w.get(t, who, "/", "Accept-Language", "en")
		if got := strings.Contains(r.body, "from your next visit"); got != st.firstNote {
			t.Errorf("at +%v: first-visit note shown %v, want %v", st.at, got, st.firstNote)
		}
		_, fresh, _ := cardCounts(t, r.body, "budget")
		if st.firstNote != (fresh == "-") {
			t.Errorf("at +%v: new count %q on a first visit=%v", st.at, fresh, st.firstNote)
		}
		raw, err := w.h.visits.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("at +%v: no visits stored: %v", st.at, err)
		}
		var v visits
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		wantPrev := time.Time{}
		if st.wantPrev >= 0 {
			wantPrev = demoNow.Add(st.wantPrev)
		}
		if !v.Last.Equal(now) || !v.Prev.Equal(wantPrev) {
			t.Errorf("at +%v: stored %+v, want last %v, prev %v", st.at, v, now, wantPrev)
		}
	}
}

func TestHomeViewedAsAMemberDoesNotMoveTheirLastVisit(t *testing.T) {
	w := newWorld(t)
	who := demoMember("alice")
	w.setVisits(t, who, visits{Last: demoNow.Add(-time.Hour)})
	c := w.h.newCall(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), who)
	c.id, c.viewer = who, demoMember("sam")
	if since := c.seen(demoNow); !since.Equal(demoNow.Add(-time.Hour)) {
		t.Errorf("viewed as: counts from %v, want the member's last visit", since)
	}
	raw, _ := w.h.visits.Get(context.Background(), visitKey(who.Issuer, who.Subject))
	var v visits
	_ = json.Unmarshal(raw, &v)
	if !v.Last.Equal(demoNow.Add(-time.Hour)) {
		t.Errorf("a view as the member moved their last visit to %v", v.Last)
	}
}

func TestHomeCountsAreCachedPerMemberAndBounded(t *testing.T) {
	w := newWorld(t)
	alice, bob := demoMember("alice"), demoMember("bob")
	w.get(t, alice, "/", "Accept-Language", "en")
	first := w.rec.queries()
	for _, q := range first {
		if !strings.HasSuffix(q, "limit 1") {
			t.Errorf("a home page read asks for more than one record: %q", q)
		}
	}
	if len(first) == 0 {
		t.Fatal("the home page counted nothing")
	}
	w.get(t, alice, "/", "Accept-Language", "en")
	if again := w.rec.queries(); len(again) != 0 {
		t.Errorf("a second home page within the cache's life read again: %q", again)
	}
	w.get(t, bob, "/", "Accept-Language", "en")
	if other := w.rec.queries(); len(other) == 0 {
		t.Error("another member was answered from alice's counts")
	}
	w.h.counts.now = func() time.Time { return time.Now().Add(countTTL) }
	w.get(t, alice, "/", "Accept-Language", "en")
	if later := w.rec.queries(); len(later) != len(first) {
		t.Errorf("after the cache's life, %d reads, want %d again", len(later), len(first))
	}

	c := newTTLCache(time.Minute, 3)
	for i := range 10 {
		if _, err := c.get(strconv.Itoa(i), func() (any, error) { return i, nil }); err != nil {
			t.Fatal(err)
		}
		if n := len(c.byID); n > 3 {
			t.Fatalf("cache holds %d entries, bound 3", n)
		}
	}
}

func TestHomeCardsShowTheConfiguredImageOrTheDefaultIcon(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "budget.svg", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 4"><rect width="4" height="4"/></svg>`)
	w := newWorld(t, func(c *Config) {
		c.Apps["budget"] = AppSettings{Image: dir + "/budget.svg", ImageAlt: Text{Ja: "予算の絵", En: "Budget picture"}}
		c.Apps["documents"] = AppSettings{Image: "/media/documents.png"}
	})
	r := w.get(t, demoMember("alice"), "/", "Accept-Language", "en")
	card := func(alias string) string {
		for _, c := range strings.Split(r.body, `<li class="card app-card">`)[1:] {
			if strings.Contains(c, `href="/apps/`+alias+`"`) {
				return c
			}
		}
		t.Fatalf("no card for %s", alias)
		return ""
	}
	budgetImg := regexp.MustCompile(`<img class="app-image" src="(/assets/app-image-budget\.[0-9a-f]+\.svg)" alt="Budget picture"`).FindStringSubmatch(card("budget"))
	if budgetImg == nil {
		t.Errorf("budget card lacks its image file with its alt text: %s", card("budget"))
	} else if a := w.get(t, nil, budgetImg[1]); a.Code != http.StatusOK || !strings.Contains(a.body, "<rect") {
		t.Errorf("the budget image is not served: %d", a.Code)
	}
	mustContain(t, card("documents"), `<img class="app-image" src="/media/documents.png" alt=""`)
	mustContain(t, card("schedule"), `<img class="app-image" src="/assets/app.`, `alt=""`)

	for _, bad := range []string{"https://cdn.example/x.png", "relative/missing.png", dir + "/budget.txt"} {
		if bad == dir+"/budget.txt" {
			writeFile(t, dir, "budget.txt", "x")
		}
		cfg := Config{Gateway: w.gw, Config: portalconfig.Config{Apps: map[string]AppSettings{"budget": {Image: bad}}}}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "image") {
			t.Errorf("image %q: New gave %v, want a refusal naming the image", bad, err)
		}
	}
}
