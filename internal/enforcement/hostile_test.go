package enforcement

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/api"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/portal"
)

// The hostile requests: what a member who wants more than the policy gives
// would try, against the API and the portal, each with what it must get.

const hostilePolicy = `package kgate

allow if {
	input.user.level in {"gold", "silver"}
	input.action == "read"
}

allow if {
	input.user.level == "gold"
	input.action in {"comment.read", "file.read"}
}

include if {
	input.action == "read"
	input.record.org == input.user.org
}

include if {
	input.action == "comment.read"
	input.record.org == input.user.org
	input.record.stage == "open"
}

include if {
	input.action == "file.read"
	input.record.org == input.user.org
	input.record.tier == "gold"
}

readable contains f if {
	input.user.level == "gold"
	some f in {"title", "org", "stage", "tier", "amount", "due", "note", "doc", "items", "code", "owner"}
}

readable contains f if {
	input.user.level == "silver"
	some f in {"title", "org", "stage", "amount", "items", "note", "doc"}
}

masks.amount := "" if input.user.level == "silver"

masks.qty := "0" if input.user.level == "silver"

rate := 600000 if input.user.level == "silver"
`

type hostile struct {
	w      *world
	api    *api.Handler
	portal *portal.Handler
	alice  member // gold, acme
	bob    member // silver, acme
	carol  member // gold, bluebird
}

func newHostile(t *testing.T) *hostile {
	t.Helper()
	w := startWorld(t, rand.New(rand.NewPCG(99, 1)), recordsPerWorld)
	apiH, portalH, stop := kgateOver(t, w, hostilePolicy)
	t.Cleanup(stop)
	ms := members()
	return &hostile{w: w, api: apiH, portal: portalH,
		alice: ms[0], bob: ms[1], carol: ms[2]}
}

// call is one request and what came back.
type call struct {
	status int
	code   string
	body   string
	header http.Header
}

func (c call) json(v any) { json.Unmarshal([]byte(c.body), v) }

// ids lists the records of a records.json or cursor answer.
func (c call) ids() []string {
	var out struct{ Records []kintone.Record }
	c.json(&out)
	ids := make([]string, len(out.Records))
	for i, r := range out.Records {
		ids[i] = idOf(r)
	}
	return ids
}

func (h *hostile) do(m member, method, target string, body string, header ...string) call {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	req.Header.Set("Accept-Language", "en")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	if strings.HasPrefix(target, "/k/") {
		h.api.Serve(rec, req, m.id)
	} else {
		h.portal.Serve(rec, req, m.id)
	}
	var e struct{ Code string }
	json.Unmarshal(rec.Body.Bytes(), &e)
	return call{status: rec.Code, code: e.Code, body: rec.Body.String(), header: rec.Header()}
}

func records(query string, extra ...string) string {
	v := url.Values{"app": {appID}, "query": {query}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Add(extra[i], extra[i+1])
	}
	return "/k/v1/records.json?" + v.Encode()
}

// field returns a record's field value as text, from the dump.
func (h *hostile) field(id, code string) string {
	var s string
	json.Unmarshal(h.w.dump[id][code].Value, &s)
	return s
}

// ofOrg returns some ids of records of org, and one of another org.
func (h *hostile) ofOrg(org string) []string {
	var out []string
	for _, id := range h.w.order {
		if h.field(id, "org") == org {
			out = append(out, id)
		}
	}
	return out
}

func (h *hostile) all(org string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		ids := c.ids()
		if len(ids) == 0 {
			t.Fatalf("no records: the test needs some to mean anything: %s", c.body)
		}
		for _, id := range ids {
			if got := h.field(id, "org"); got != org {
				t.Fatalf("record %s of %q in an answer for %s", id, got, org)
			}
		}
	}
}

func none(t *testing.T, c call) {
	t.Helper()
	if ids := c.ids(); len(ids) > 0 {
		t.Fatalf("records %v", ids)
	}
}

func count(want int) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		var out struct{ TotalCount *string }
		c.json(&out)
		if out.TotalCount == nil || *out.TotalCount != strconv.Itoa(want) {
			t.Fatalf("totalCount %v, want %d", out.TotalCount, want)
		}
	}
}

func both(checks ...func(*testing.T, call)) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		for _, check := range checks {
			check(t, c)
		}
	}
}

func lacks(fields ...string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		for _, f := range fields {
			if strings.Contains(c.body, `"`+f+`":`) {
				t.Fatalf("field %s in %s", f, c.body)
			}
		}
	}
}

func contains(s string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		if !strings.Contains(c.body, s) {
			t.Fatalf("%q missing from the answer", s)
		}
	}
}

func TestHostileRequestsGetExactlyWhatThePolicyAllows(t *testing.T) {
	h := newHostile(t)
	acme, bluebird := h.ofOrg("acme"), h.ofOrg("bluebird")
	if len(acme) < 5 || len(bluebird) < 5 {
		t.Fatalf("the world has %d acme and %d bluebird records", len(acme), len(bluebird))
	}
	acmeIn := "$id in (" + strings.Join(acme[:5], ", ") + ")"
	blueIn := "$id in (" + strings.Join(bluebird[:5], ", ") + ")"
	var goldTier, otherTier, openStage, closedStage string
	for _, id := range acme {
		var files []any
		json.Unmarshal(h.w.dump[id]["doc"].Value, &files)
		switch tier := h.field(id, "tier"); {
		case len(files) > 0 && tier == "gold" && goldTier == "":
			goldTier = id
		case len(files) > 0 && tier != "gold" && otherTier == "":
			otherTier = id
		}
		var comments struct{ Comments []any }
		raw, _ := h.w.admin("GET", "record/comments.json", url.Values{"app": {appID}, "record": {id}})
		json.Unmarshal(raw, &comments)
		switch stage := h.field(id, "stage"); {
		case len(comments.Comments) > 0 && stage == "open" && openStage == "":
			openStage = id
		case len(comments.Comments) > 0 && stage != "open" && closedStage == "":
			closedStage = id
		}
	}
	if goldTier == "" || otherTier == "" || openStage == "" || closedStage == "" {
		t.Fatalf("the world lacks records the tests need: %q %q %q %q", goldTier, otherTier, openStage, closedStage)
	}
	visibleAcme := len(acme)
	aliceToken := h.fileToken(t, h.alice, goldTier)
	otherToken := h.fileToken(t, h.alice, otherTier)
	cursor := h.do(h.alice, "POST", "/k/v1/records/cursor.json", `{"app":"21","size":3}`)
	var cur struct{ ID string }
	cursor.json(&cur)
	if cursor.status != 200 || cur.ID == "" {
		t.Fatalf("cursor: %d %s", cursor.status, cursor.body)
	}
	hiddenRecord := h.do(h.alice, "GET", "/k/v1/record.json?app=21&id="+bluebird[0], "")
	missingRecord := h.do(h.alice, "GET", "/k/v1/record.json?app=21&id=99999", "")

	tests := []struct {
		name   string
		who    member
		method string
		target string
		body   string
		header []string
		status int
		code   string
		check  func(*testing.T, call)
	}{
		// Query injection: the member's condition stays inside its own term.
		{name: "an or after the member's own condition", who: h.alice, method: "GET", target: records(`org in ("bluebird") or $id > 0`), status: 200, check: h.all("acme")},
		{name: "closing the member's parenthesis", who: h.alice, method: "GET", target: records(`title = "x") or (org in ("bluebird")`), status: 400, code: "CB_VA01"},
		{name: "an always-true comparison", who: h.alice, method: "GET", target: records(`title = "x" or 1 = 1`), status: 400},
		{name: "a comment marker", who: h.alice, method: "GET", target: records(`title = "x" -- and org in ("acme")`), status: 400, code: "CB_VA01"},
		{name: "a quote inside a literal", who: h.alice, method: "GET", target: records(`title = "x\") or (org in (\"bluebird\")"`), status: 200, check: none},
		{name: "a second query after a semicolon", who: h.alice, method: "GET", target: records(`title = "x"; org in ("bluebird")`), status: 400, code: "CB_VA01"},
		{name: "ids of another organization", who: h.alice, method: "GET", target: records(blueIn + " or " + acmeIn), status: 200, check: h.all("acme")},
		{name: "a full-width option", who: h.alice, method: "GET", target: records(`org in ("ｂｌｕｅｂｉｒｄ")`), status: 400, code: "GAIA_IQ10"},
		{name: "deeply nested parentheses", who: h.alice, method: "GET", target: records(strings.Repeat("(", 100) + `title = "x"` + strings.Repeat(")", 100)), status: 400, code: "CB_VA01"},
		{name: "a query of 70 KB", who: h.alice, method: "GET", target: "/k/v1/records.json", body: fmt.Sprintf(`{"app":"21","query":%q}`, "title in ("+strings.Repeat(`"aaaaaaaaaa", `, 6000)+`"a")`), status: 400, code: "CB_VA01"},
		{name: "options after the member's limit", who: h.alice, method: "GET", target: records(`title = "x" limit 5) or (org in ("bluebird")`), status: 400, code: "CB_VA01"},
		{name: "a function where a text belongs", who: h.alice, method: "GET", target: records(`owner in (LOGINUSER())`), status: 400},
		{name: "a related-records field", who: h.alice, method: "GET", target: records(`rel.org in ("bluebird")`), status: 400, code: "GAIA_IQ11"},
		{name: "a table's field through its table", who: h.alice, method: "GET", target: records(`items.qty > 0`), status: 400},

		// Oracles on fields the member may not read or sees masked.
		{name: "a condition on a hidden field", who: h.alice, method: "GET", target: records(`secret like "s1"`), status: 400, code: "GAIA_IQ11"},
		{name: "sorting by a hidden field", who: h.alice, method: "GET", target: records(`order by secret asc`), status: 400, code: "GAIA_IQ11"},
		{name: "a hidden system field", who: h.alice, method: "GET", target: records(`Created_by in ("Administrator")`), status: 400, code: "GAIA_IQ11"},
		{name: "is empty on a hidden field", who: h.bob, method: "GET", target: records(`tags in ("")`), status: 400, code: "GAIA_IQ11"},
		{name: "a condition on a masked number", who: h.bob, method: "GET", target: records(`amount > 1000`), status: 400, code: "CB_VA01"},
		{name: "sorting by a masked number", who: h.bob, method: "GET", target: records(`order by amount desc`), status: 400, code: "CB_VA01"},
		{name: "a condition on a masked table column", who: h.bob, method: "GET", target: records(`qty > 5`), status: 400, code: "CB_VA01"},
		{name: "a masked number in the answer", who: h.bob, method: "GET", target: records(`limit 5`), status: 200, check: both(h.all("acme"), contains(`"amount":{"type":"NUMBER","value":""}`))},
		{name: "a masked table column in the answer", who: h.bob, method: "GET", target: records(`items in ("") or items not in ("")`), status: 400},
		{name: "unreadable fields asked for by name", who: h.bob, method: "GET", target: records("limit 5", "fields[0]", "secret", "fields[1]", "tier", "fields[2]", "$id"), status: 200, check: both(h.all("acme"), lacks("secret", "tier", "doc", "title"))},

		// Counts count only what the member may see.
		{name: "a count over another organization", who: h.alice, method: "GET", target: records(`org in ("bluebird")`, "totalCount", "true"), status: 200, check: both(none, count(0))},
		{name: "a count over everything", who: h.alice, method: "GET", target: records(``, "totalCount", "true"), status: 200, check: count(visibleAcme)},
		{name: "a count of hidden ids", who: h.carol, method: "GET", target: records(acmeIn, "totalCount", "true"), status: 200, check: both(none, count(0))},
		{name: "a count in a JSON body", who: h.alice, method: "GET", target: "/k/v1/records.json", body: `{"app":21,"query":"org in (\"bluebird\")","totalCount":true}`, status: 200, check: count(0)},
		{name: "a count through the method override", who: h.alice, method: "POST", target: "/k/v1/records.json", body: `{"app":"21","query":"org in (\"bluebird\")","totalCount":"true"}`, header: []string{"X-HTTP-Method-Override", "GET"}, status: 200, check: count(0)},
		{name: "a count that is not a boolean", who: h.alice, method: "GET", target: records(``, "totalCount", "yes"), status: 400, code: "CB_VA01"},

		// File contents are searched only where files may be read.
		{name: "searching files without file.read", who: h.bob, method: "GET", target: records(`doc like "plan"`), status: 400, code: "CB_VA01"},
		{name: "searching files: only records whose files may be read", who: h.alice, method: "GET", target: records(`doc like "acme" or doc like "charlie" or doc like "alpha"`), status: 200, check: h.tier("gold")},
		{name: "not like on files: only records whose files may be read", who: h.alice, method: "GET", target: records(`doc not like "zzzz"`), status: 200, check: h.tier("gold")},
		{name: "is empty on files says nothing of contents", who: h.alice, method: "GET", target: records(`doc is not empty`), status: 200, check: h.all("acme")},

		// Limits, offsets and parameters.
		{name: "a page above kintone's limit", who: h.alice, method: "GET", target: records(`limit 501`), status: 400, code: "GAIA_QU01"},
		{name: "a silver page of kintone's 500", who: h.bob, method: "GET", target: records(`limit 500`), status: 200, check: h.all("acme")},
		{name: "an offset above kintone's", who: h.alice, method: "GET", target: records(`offset 10001`), status: 400, code: "GAIA_QU02"},
		{name: "a repeated app", who: h.alice, method: "GET", target: "/k/v1/records.json?app=21&app=22&query=limit+5", status: 200, check: h.all("acme")},
		{name: "a repeated query", who: h.alice, method: "GET", target: "/k/v1/records.json?app=21&query=org+in+(%22acme%22)&query=org+in+(%22bluebird%22)", status: 200, check: h.all("acme")},
		{name: "a query as an array", who: h.alice, method: "GET", target: "/k/v1/records.json?app=21&query[0]=org+in+(%22bluebird%22)", status: 400, code: "CB_VA01"},
		{name: "an app id with a space", who: h.alice, method: "GET", target: "/k/v1/records.json", body: `{"app":"21 ","query":"limit 5"}`, status: 200, check: h.all("acme")},
		{name: "an app id as a list", who: h.alice, method: "GET", target: "/k/v1/records.json", body: `{"app":[21],"query":""}`, status: 400, code: "CB_VA01"},
		{name: "a body and a query string", who: h.alice, method: "GET", target: records(`org in ("bluebird")`), body: `{"app":"21","query":"limit 5"}`, status: 200, check: h.all("acme")},
		{name: "malformed JSON", who: h.alice, method: "GET", target: "/k/v1/records.json", body: `{"app":"21",`, status: 400, code: "CB_IJ01"},
		{name: "a body above the limit", who: h.alice, method: "GET", target: "/k/v1/records.json", body: `{"app":"21","query":"` + strings.Repeat("a", 1<<20) + `"}`, status: 413},
		{name: "a lower-case method override", who: h.alice, method: "POST", target: "/k/v1/records.json", body: `{"app":"21","query":""}`, header: []string{"X-HTTP-Method-Override", "get"}, status: 400, check: none},
		{name: "an override on GET", who: h.alice, method: "GET", target: records(`limit 3`), header: []string{"X-HTTP-Method-Override", "DELETE"}, status: 200, check: h.all("acme")},
		{name: "another guest space", who: h.alice, method: "GET", target: "/k/guest/7/v1/records.json?app=21", status: 403, code: "CB_NO02"},
		{name: "an app kgate does not open", who: h.alice, method: "GET", target: "/k/v1/records.json?app=22", status: 404, code: "GAIA_AP01"},

		// Records, comments, files and cursors of others.
		{name: "a record of another organization", who: h.alice, method: "GET", target: "/k/v1/record.json?app=21&id=" + bluebird[0], status: 404, code: "GAIA_RE01", check: sameAs(missingRecord, bluebird[0], "99999")},
		{name: "a record id that is not a whole number", who: h.alice, method: "GET", target: "/k/v1/record.json?app=21&id=1.0", status: 400, code: "CB_VA01"},
		{name: "a negative record id", who: h.alice, method: "GET", target: "/k/v1/record.json?app=21&id=-1", status: 400, code: "CB_VA01"},
		{name: "comments of another organization's record", who: h.alice, method: "GET", target: "/k/v1/record/comments.json?app=21&record=" + bluebird[0], status: 404, code: "GAIA_RE01"},
		{name: "comments comment.read refuses", who: h.alice, method: "GET", target: "/k/v1/record/comments.json?app=21&record=" + closedStage, status: 404, code: "GAIA_RE01"},
		{name: "comments comment.read allows", who: h.alice, method: "GET", target: "/k/v1/record/comments.json?app=21&record=" + openStage, status: 200, check: contains(`"text":`)},
		{name: "comments without comment.read", who: h.bob, method: "GET", target: "/k/v1/record/comments.json?app=21&record=" + openStage, status: 403, code: "CB_NO02"},
		{name: "a file token of another member", who: h.carol, method: "GET", target: "/k/v1/file.json?fileKey=" + aliceToken, status: 404, code: "GAIA_BL01"},
		{name: "a file token used by a member without file.read", who: h.bob, method: "GET", target: "/k/v1/file.json?fileKey=" + aliceToken, status: 404, code: "GAIA_BL01"},
		{name: "a file of a record file.read refuses", who: h.alice, method: "GET", target: "/k/v1/file.json?fileKey=" + otherToken, status: 404, code: "GAIA_BL01"},
		{name: "a file file.read allows", who: h.alice, method: "GET", target: "/k/v1/file.json?fileKey=" + aliceToken, status: 200},
		{name: "kintone's own file key", who: h.alice, method: "GET", target: "/k/v1/file.json?fileKey=f-plan", status: 404, code: "GAIA_BL01"},
		{name: "a tampered file token", who: h.alice, method: "GET", target: "/k/v1/file.json?fileKey=" + aliceToken[:len(aliceToken)-4] + "AAAA", status: 404, code: "GAIA_BL01"},
		{name: "another member's cursor", who: h.carol, method: "GET", target: "/k/v1/records/cursor.json?id=" + cur.ID, status: 400, code: "GAIA_CU01"},
		{name: "deleting another member's cursor", who: h.carol, method: "DELETE", target: "/k/v1/records/cursor.json?id=" + cur.ID, status: 400, code: "GAIA_CU01"},
		{name: "the owner's cursor after both", who: h.alice, method: "GET", target: "/k/v1/records/cursor.json?id=" + cur.ID, status: 200, check: h.all("acme")},
		{name: "a cursor over a masked field", who: h.bob, method: "POST", target: "/k/v1/records/cursor.json", body: `{"app":"21","query":"amount > 0"}`, status: 400, code: "CB_VA01"},
		{name: "a cursor with a limit", who: h.alice, method: "POST", target: "/k/v1/records/cursor.json", body: `{"app":"21","query":"limit 5"}`, status: 400, code: "CB_VA01"},
		{name: "a cursor of size 501", who: h.alice, method: "POST", target: "/k/v1/records/cursor.json", body: `{"app":"21","size":501}`, status: 400, code: "CB_VA01"},

		// The portal.
		{name: "portal: a record of another organization", who: h.alice, method: "GET", target: "/apps/things/records/" + bluebird[0], status: 404},
		{name: "portal: comments comment.read refuses", who: h.alice, method: "GET", target: "/apps/things/records/" + closedStage, status: 200, check: h.noComments(closedStage)},
		{name: "portal: a filter on another organization", who: h.alice, method: "GET", target: "/apps/things?f.org=bluebird", status: 200, check: contains("No records.")},
		{name: "portal: sorting by a masked field", who: h.bob, method: "GET", target: "/apps/things?sort=amount", status: 200, check: contains("cannot be sorted by")},
		{name: "portal: sorting by a hidden field", who: h.alice, method: "GET", target: "/apps/things?sort=secret", status: 400},
		{name: "portal: a keyword longer than allowed", who: h.alice, method: "GET", target: "/apps/things?q=" + strings.Repeat("a", 101), status: 400},
		{name: "portal: a page beyond kintone's offset", who: h.alice, method: "GET", target: "/apps/things?page=999999", status: 400},
		{name: "portal: a page size above kintone's", who: h.alice, method: "GET", target: "/apps/things?size=1000", status: 400},
		{name: "portal: a search counts only visible records", who: h.carol, method: "GET", target: "/apps/things?q=acme", status: 200, check: h.portalRows("bluebird")},
		{name: "portal: another member's file token", who: h.carol, method: "GET", target: "/files/" + aliceToken + "?name=plan.txt", status: 404},
		{name: "portal: a masked value shows as hidden", who: h.bob, method: "GET", target: "/apps/things/records/" + acme[0], status: 200, check: contains(`<span class="masked">(hidden)</span>`)},
	}
	_ = hiddenRecord
	if len(tests) < 60 {
		t.Fatalf("only %d hostile requests", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.do(tt.who, tt.method, tt.target, tt.body, tt.header...)
			if c.status != tt.status || (tt.code != "" && c.code != tt.code) {
				t.Fatalf("%d %s, want %d %s: %.400s", c.status, c.code, tt.status, tt.code, c.body)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// fileToken reads a record as m and returns its first file token.
func (h *hostile) fileToken(t *testing.T, m member, id string) string {
	t.Helper()
	c := h.do(m, "GET", "/k/v1/record.json?app=21&id="+id, "")
	var out struct{ Record kintone.Record }
	c.json(&out)
	var files []struct{ FileKey string }
	json.Unmarshal(out.Record["doc"].Value, &files)
	if len(files) == 0 {
		t.Fatalf("record %s has no file token for %s: %s", id, m.name, c.body)
	}
	return files[0].FileKey
}

// tier checks that every record of an answer has the given tier.
func (h *hostile) tier(want string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		h.all("acme")(t, c)
		for _, id := range c.ids() {
			if got := h.field(id, "tier"); got != want {
				t.Fatalf("record %s of tier %q: its files may not be read, yet a file search found it", id, got)
			}
		}
	}
}

// noComments checks that a record page shows none of its comments.
func (h *hostile) noComments(id string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		raw, _ := h.w.admin("GET", "record/comments.json", url.Values{"app": {appID}, "record": {id}})
		var list struct{ Comments []struct{ Text string } }
		json.Unmarshal(raw, &list)
		for _, cm := range list.Comments {
			if strings.Contains(c.body, cm.Text) {
				t.Fatalf("the page shows comment %q", cm.Text)
			}
		}
	}
}

var rowLink = regexp.MustCompile(`href="/apps/things/records/(\d+)"`)

// portalRows checks that a list page holds only records of org.
func (h *hostile) portalRows(org string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		for _, m := range rowLink.FindAllStringSubmatch(c.body, -1) {
			if got := h.field(m[1], "org"); got != org {
				t.Fatalf("row of record %s of %q", m[1], got)
			}
		}
	}
}

// sameAs checks that an answer is the other one but for the record id.
func sameAs(other call, id, otherID string) func(*testing.T, call) {
	return func(t *testing.T, c call) {
		t.Helper()
		var a, b map[string]any
		c.json(&a)
		other.json(&b)
		delete(a, "id")
		delete(b, "id")
		if fmt.Sprint(a) != strings.ReplaceAll(fmt.Sprint(b), otherID, id) {
			t.Fatalf("hidden: %v\nmissing: %v", a, b)
		}
	}
}
