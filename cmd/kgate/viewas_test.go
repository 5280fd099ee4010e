package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var formToken = regexp.MustCompile(`name="_token" value="([^"]+)"`)
var formIdem = regexp.MustCompile(`name="_idem" value="([^"]+)"`)

// viewAs asks the view-as page for its form and posts email to it; it
// returns the page the post ends on.
func (b *demoBrowser) viewAs(d *demo, email string) demoPage {
	b.t.Helper()
	p := b.Get(d.URL + "/view-as")
	m := formToken.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("the view-as page (%d) has no form token: %.300s", p.Status, p.Body)
	}
	return b.post(d.URL+"/view-as", "application/x-www-form-urlencoded",
		url.Values{"_token": {m[1]}, "do": {"start"}, "email": {email}}.Encode(), "Origin", d.URL)
}

const viewAsBanner = `class="view-as-banner"`

// Staff view the demo's portal as a member: the member's apps, records and
// masks, a banner on every page, no write, the policy's explanation of a
// refusal; the choice is a cookie only the staff member's own session can
// use, and the API never honours it.
func TestViewAsMemberInTheDemo(t *testing.T) {
	d, err := startDemo(demoOptions{Listen: freeLoopbackAddr(t), Policies: "../../policies"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)

	t.Run("staff view as a silver partner and see what the partner sees", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		p := b.viewAs(d, "bob@acme.example")
		if p.Status != 200 || !strings.Contains(p.Body, viewAsBanner) || !strings.Contains(p.Body, "bob@acme.example") {
			t.Fatalf("after starting: %d %.500s", p.Status, p.Body)
		}
		if strings.Contains(p.Body, `href="/apps/members"`) {
			t.Error("viewing as bob, the home page lists the members app")
		}
		list := b.Get(d.URL + "/apps/budget")
		// records 1 (acme) and 8 (bluebird)
		if !strings.Contains(list.Body, viewAsBanner) || strings.Contains(list.Body, `href="/apps/budget/records/8"`) ||
			!strings.Contains(list.Body, `href="/apps/budget/records/1"`) {
			t.Errorf("bob's budget list as sam sees it: %d %.800s", list.Status, list.Body)
		}
	})

	t.Run("a refused app and an excluded record show the policy's explanation to staff only", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		b.viewAs(d, "bob@acme.example")
		p := b.Get(d.URL + "/apps/members")
		for _, want := range []string{`REFUSED: read in app &#34;members&#34;`, "kgate.rego:", "row rule: no record"} {
			if p.Status != 403 || !strings.Contains(p.Body, want) {
				t.Errorf("the members app viewed as bob: %d, lacks %q: %.800s", p.Status, want, p.Body)
			}
		}
		p = b.Get(d.URL + "/apps/budget/records/8")
		for _, want := range []string{"record 8: EXCLUDED by the row rule", "input.record[app.org_field] in member_orgs", `row rule: org in (&#34;acme&#34;)`} {
			if p.Status != 404 || !strings.Contains(p.Body, want) {
				t.Errorf("bluebird's record viewed as bob: %d, lacks %q", p.Status, want)
			}
		}
		bob := newDemoBrowser(t)
		bob.login(d, "u-bob")
		for _, path := range []string{"/apps/members", "/apps/budget/records/8"} {
			if p := bob.Get(d.URL + path); strings.Contains(p.Body, "kgate.rego") || strings.Contains(p.Body, "row rule") {
				t.Errorf("bob himself is shown the explanation at %s", path)
			}
		}
	})

	t.Run("every write is refused while viewing, and nothing is written", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		b.viewAs(d, "bob@acme.example")
		rec := b.Get(d.URL + "/apps/budget/records/1")
		tok, idem := formToken.FindStringSubmatch(rec.Body), formIdem.FindStringSubmatch(rec.Body)
		if tok == nil || idem == nil {
			t.Fatalf("bob's record page offers no comment form: %.500s", rec.Body)
		}
		before := countComments(t, d, "1")
		p := b.post(d.URL+"/apps/budget/records/1/comments", "application/x-www-form-urlencoded",
			url.Values{"_token": {tok[1]}, "_idem": {idem[1]}, "text": {"written by staff"}}.Encode(), "Origin", d.URL)
		if p.Status != 403 || !strings.Contains(p.Body, "メンバーとして表示中は閲覧のみです") {
			t.Errorf("a comment while viewing: %d %.500s", p.Status, p.Body)
		}
		if after := countComments(t, d, "1"); after != before {
			t.Errorf("the record has %d comments, had %d", after, before)
		}
	})

	t.Run("stop returns staff to their own portal", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		p := b.viewAs(d, "bob@acme.example")
		m := formToken.FindStringSubmatch(p.Body[strings.Index(p.Body, viewAsBanner):])
		p = b.post(d.URL+"/view-as", "application/x-www-form-urlencoded", url.Values{"_token": {m[1]}, "do": {"stop"}}.Encode(), "Origin", d.URL)
		if p.Status != 200 || strings.Contains(p.Body, viewAsBanner) || !strings.Contains(p.Body, `href="/apps/members"`) {
			t.Errorf("after stopping: %d, banner %v", p.Status, strings.Contains(p.Body, viewAsBanner))
		}
	})

	t.Run("a forged, tampered or other session's cookie is ignored and cleared", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		b.viewAs(d, "bob@acme.example")
		good := b.Cookie(d.URL, "__Host-kgate-view-as")
		if good == "" {
			t.Fatal("no view-as cookie")
		}
		other := newDemoBrowser(t)
		other.login(d, "u-sam")
		tampered := []byte(good)
		tampered[len(tampered)/2] ^= 1
		for name, value := range map[string]string{"forged": "AQAAAAB" + strings.Repeat("x", 60), "tampered": string(tampered), "another session's": good} {
			other.SetCookie(d.URL, "__Host-kgate-view-as", value)
			p := other.Get(d.URL + "/")
			if strings.Contains(p.Body, viewAsBanner) || !strings.Contains(p.Body, `href="/apps/members"`) {
				t.Errorf("%s cookie: the page is viewed as someone", name)
			}
			if other.Cookie(d.URL, "__Host-kgate-view-as") != "" {
				t.Errorf("%s cookie: not cleared", name)
			}
		}
	})

	t.Run("a partner may not view as anyone", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-alice")
		if p := b.Get(d.URL + "/view-as"); p.Status != 403 {
			t.Errorf("alice's view-as page: %d", p.Status)
		}
		rec := b.Get(d.URL + "/apps/budget/records/1")
		m := formToken.FindStringSubmatch(rec.Body)
		if m == nil {
			t.Fatal("no form token on alice's record page")
		}
		p := b.post(d.URL+"/view-as", "application/x-www-form-urlencoded",
			url.Values{"_token": {m[1]}, "do": {"start"}, "email": {"bob@acme.example"}}.Encode(), "Origin", d.URL)
		if p.Status != 403 || b.Cookie(d.URL, "__Host-kgate-view-as") != "" {
			t.Errorf("alice starting to view as bob: %d, cookie %q", p.Status, b.Cookie(d.URL, "__Host-kgate-view-as"))
		}
	})

	t.Run("the API ignores the cookie", func(t *testing.T) {
		b := newDemoBrowser(t)
		b.login(d, "u-sam")
		b.viewAs(d, "bob@acme.example")
		// bob may not read the members app; sam may, and the API answers
		// as sam.
		if recs := b.records(d.URL + "/k/v1/records.json?app=1"); len(recs) == 0 {
			t.Error("the API answered sam's read of the members app with no record")
		}
	})
}

// countComments counts a budget record's comments in the simulator.
func countComments(t *testing.T, d *demo, record string) int {
	t.Helper()
	b := newDemoBrowser(t)
	p := b.Get(d.Kintone+"/k/v1/record/comments.json?app=2&record="+record, "X-Cybozu-API-Token", "demo-token-budget")
	var body struct{ Comments []json.RawMessage }
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil || p.Status != 200 {
		t.Fatalf("comments of record %s: %d %.200s", record, p.Status, p.Body)
	}
	return len(body.Comments)
}
