package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/testworld"
)

type recordsBody struct {
	Records    []kintone.Record `json:"records"`
	TotalCount *string          `json:"totalCount"`
}

func (s *site) records(member, query string, extra url.Values) (int, recordsBody, string) {
	s.t.Helper()
	v := url.Values{"app": {testworld.OrdersApp}, "query": {query}, "totalCount": {"true"}}
	for k, vs := range extra {
		v[k] = vs
	}
	resp, body := s.do(member, "GET", "/k/v1/records.json?"+v.Encode(), "")
	var out recordsBody
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			s.t.Fatalf("records.json answered %s", body)
		}
	}
	return resp.StatusCode, out, body
}

func ids(recs []kintone.Record) map[string]bool {
	m := map[string]bool{}
	for _, r := range recs {
		m[testworld.ID(r)] = true
	}
	return m
}

func TestModuleServesEachMemberOnlyTheirRecordsAndFields(t *testing.T) {
	s := startSite(t, 300, "")
	oracle := s.world.Oracle(t)
	tests := []struct {
		member string
		hidden []string
	}{
		{"bob", []string{"cost", "secret", "visibility"}},
		{"dave", []string{"cost", "secret", "visibility"}},
		{"alice", []string{"secret", "visibility"}},
		{"carol", []string{"secret", "visibility"}},
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			id := testworld.Identities[tt.member]
			allowed := oracle.Visible(t, id, testworld.OrdersApp, "orders")
			matching := map[string]bool{}
			for rid := range allowed {
				var p string
				json.Unmarshal(oracle.Records[testworld.OrdersApp][rid]["priority"].Value, &p)
				if p == "high" {
					matching[rid] = true
				}
			}
			got := map[string]bool{}
			for offset := 0; ; offset += 50 {
				status, page, body := s.records(tt.member, fmt.Sprintf(`priority in ("high") order by $id asc limit 50 offset %d`, offset), nil)
				if status != 200 {
					t.Fatalf("status %d: %s", status, body)
				}
				if page.TotalCount == nil || *page.TotalCount != fmt.Sprint(len(matching)) {
					t.Fatalf("totalCount %v, want %d", page.TotalCount, len(matching))
				}
				for _, r := range page.Records {
					got[testworld.ID(r)] = true
					for _, f := range tt.hidden {
						if _, ok := r[f]; ok {
							t.Fatalf("record %s carries %s", testworld.ID(r), f)
						}
					}
				}
				if len(page.Records) < 50 {
					break
				}
			}
			if len(got) != len(matching) {
				t.Fatalf("got %d records, want %d", len(got), len(matching))
			}
			for rid := range got {
				if !matching[rid] {
					t.Fatalf("record %s is not one %s may see", rid, tt.member)
				}
			}
		})
	}
}

// errBody is kintone's error shape.
type errBody struct {
	Code    string                           `json:"code"`
	ID      string                           `json:"id"`
	Message string                           `json:"message"`
	Errors  map[string]kintone.ErrorMessages `json:"errors"`
}

func decodeErr(t *testing.T, body string) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == "" || e.ID == "" {
		t.Fatalf("not kintone's error shape: %s", body)
	}
	return e
}

func TestAFilteredOutRecordGetsTheSame404AsAMissingOne(t *testing.T) {
	s := startSite(t, 100, "")
	oracle := s.world.Oracle(t)
	visible := oracle.Visible(t, testworld.Identities["bob"], testworld.OrdersApp, "orders")
	var hidden string
	for rid := range oracle.Records[testworld.OrdersApp] {
		if !visible[rid] {
			hidden = rid
			break
		}
	}
	r1, b1 := s.do("bob", "GET", "/k/v1/record.json?app=10&id="+hidden, "")
	r2, b2 := s.do("bob", "GET", "/k/v1/record.json?app=10&id=99999", "")
	e1, e2 := decodeErr(t, b1), decodeErr(t, b2)
	if r1.StatusCode != 404 || r2.StatusCode != 404 || e1.Code != "GAIA_RE01" || e2.Code != e1.Code ||
		strings.Replace(e1.Message, hidden, "N", 1) != strings.Replace(e2.Message, "99999", "N", 1) ||
		r1.Header.Get("Content-Type") != r2.Header.Get("Content-Type") || len(e1.Errors)+len(e2.Errors) != 0 {
		t.Fatalf("hidden: %d %s\nmissing: %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
}

func TestAFieldTheLevelCannotReadCannotBeUsedInAQuery(t *testing.T) {
	s := startSite(t, 20, "")
	for _, q := range []string{`secret = "s1"`, `order by cost desc`, `title like "alpha" and visibility in ("internal")`} {
		status, _, body := s.records("bob", q, nil)
		e := decodeErr(t, body)
		field := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(q))
		named := false
		for _, f := range []string{"secret", "cost", "visibility"} {
			if strings.Contains(q, f) && strings.Contains(body, f) {
				named = true
			}
		}
		if status != 400 || e.Code != "GAIA_IQ11" || !named {
			t.Errorf("%q (%v): %d %s, want 400 GAIA_IQ11 naming the field", q, field, status, body)
		}
	}
}

func TestCursorsThroughTheModule(t *testing.T) {
	s := startSite(t, 200, "")
	oracle := s.world.Oracle(t)
	want := oracle.Visible(t, testworld.Identities["dave"], testworld.OrdersApp, "orders")
	resp, body := s.do("dave", "POST", "/k/v1/records/cursor.json", `{"app":10,"fields":["$id","secret"],"size":30}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var c struct{ ID, TotalCount string }
	json.Unmarshal([]byte(body), &c)
	if c.TotalCount != fmt.Sprint(len(want)) {
		t.Errorf("totalCount %s, want %d", c.TotalCount, len(want))
	}
	if r, _ := s.do("carol", "GET", "/k/v1/records/cursor.json?id="+c.ID, ""); r.StatusCode == 200 {
		t.Error("carol read dave's cursor")
	}
	got := map[string]bool{}
	for {
		r, body := s.do("dave", "GET", "/k/v1/records/cursor.json?id="+c.ID, "")
		if r.StatusCode != 200 {
			t.Fatalf("%d %s", r.StatusCode, body)
		}
		var page struct {
			Records []kintone.Record
			Next    bool
		}
		json.Unmarshal([]byte(body), &page)
		for _, rec := range page.Records {
			if _, ok := rec["secret"]; ok {
				t.Fatal("a cursor page carries a hidden field")
			}
			got[testworld.ID(rec)] = true
		}
		if !page.Next {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("cursor returned %d records, want %d", len(got), len(want))
	}
	for rid := range got {
		if !want[rid] {
			t.Fatalf("cursor returned record %s dave may not see", rid)
		}
	}
}

func TestRequestsWithoutIdentityGetKintones401AndOtherPathsPassThrough(t *testing.T) {
	s := startSite(t, 5, "")
	resp, body := s.do("", "GET", "/k/v1/records.json?app=10", "")
	if e := decodeErr(t, body); resp.StatusCode != 401 || e.Code != "CB_AU01" {
		t.Fatalf("%d %s, want 401 CB_AU01", resp.StatusCode, body)
	}
	for _, path := range []string{"/", "/k/", "/k/v1", "/k/guest/x/v1/records.json", "/k/v1x/records.json"} {
		if resp, _ := s.do("bob", "GET", path, ""); resp.StatusCode != 418 {
			t.Errorf("%s: %d, want the next handler's 418", path, resp.StatusCode)
		}
	}
}

func TestNothingAPartnerSendsReachesKintoneAsCredentials(t *testing.T) {
	s := startSite(t, 5, "")
	forged := []string{
		"Cookie", "session=stolen", "Authorization", "Basic c3RvbGVuOnN0b2xlbg==",
		"X-Cybozu-API-Token", "stolen-token", "X-Cybozu-Authorization", "c3RvbGVu",
		"X-Cybozu-Api-Token", "stolen-2", "X-Forwarded-For", "10.0.0.1", "X-Requested-With", "XMLHttpRequest",
	}
	resp, body := s.do("alice", "GET", "/k/v1/records.json?app=10", "", forged...)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	seen := s.world.Seen()
	if len(seen) == 0 {
		t.Fatal("kintone saw nothing")
	}
	for _, h := range seen {
		for _, name := range []string{"Cookie", "Authorization", "X-Cybozu-Authorization", "X-Forwarded-For", "X-Requested-With"} {
			if v := h.Get(name); v != "" {
				t.Errorf("kintone received %s: %s", name, v)
			}
		}
		if tok := h.Values("X-Cybozu-API-Token"); len(tok) != 1 || (tok[0] != testworld.OrdersToken && tok[0] != testworld.NoticesToken) {
			t.Errorf("kintone received API tokens %v, want only the configured one", tok)
		}
	}
	for _, forbidden := range []string{testworld.OrdersToken} {
		if strings.Contains(body, forbidden) {
			t.Errorf("the response carries the API token")
		}
	}
}

func TestParametersArriveAsKintoneAcceptsThem(t *testing.T) {
	s := startSite(t, 30, "")
	want := func(t *testing.T, resp *http.Response, body string, n int) {
		t.Helper()
		var page recordsBody
		json.Unmarshal([]byte(body), &page)
		if resp.StatusCode != 200 || len(page.Records) != n {
			t.Fatalf("%d, %d records: %s", resp.StatusCode, len(page.Records), body)
		}
	}
	q := url.QueryEscape(`$id <= 30 order by $id asc limit 3`)
	resp, body := s.do("sam", "GET", "/k/v1/records.json?app=10&fields%5B0%5D=%24id&fields%5B1%5D=title&query="+q, "")
	want(t, resp, body, 3)
	var page recordsBody
	json.Unmarshal([]byte(body), &page)
	if len(page.Records[0]) != 2 {
		t.Errorf("percent-encoded fields[] not applied: %s", body)
	}
	resp, body = s.do("sam", "GET", "/k/v1/records.json", `{"app":"10","query":"limit 4"}`)
	want(t, resp, body, 4)
	resp, body = s.do("sam", "POST", "/k/v1/records.json", `{"app":10,"query":"limit 5"}`, "X-HTTP-Method-Override", "GET")
	want(t, resp, body, 5)
	resp, body = s.do("sam", "GET", "/k/guest/7/v1/records.json?app=11&query=limit+2", "")
	want(t, resp, body, 2)
	resp, body = s.do("sam", "GET", "/k/v1/records.json?app=11", "")
	if e := decodeErr(t, body); e.Code != "GAIA_IL23" {
		t.Errorf("guest app on the normal path: %s", body)
	}
	for _, bad := range []struct{ method, path, body, code string }{
		{"GET", "/k/v1/records.json", `{"app":`, "CB_IJ01"},
		{"GET", "/k/v1/records.json?app=abc", "", "CB_VA01"},
		{"GET", "/k/v1/records.json?app=10&totalCount=maybe", "", "CB_VA01"},
		{"GET", "/k/v1/record.json?app=10", "", "CB_VA01"},
		{"GET", "/k/v1/records.json?app=10&query=" + url.QueryEscape(`title = "unterminated`), "", "CB_VA01"},
		{"GET", "/k/v1/app/form/fields.json?app=10&lang=xx", "", "CB_VA01"},
		{"PATCH", "/k/v1/records.json?app=10", "", "CB_NO01"},
		{"GET", "/k/v1/preview/app/form/fields.json?app=10", "", "CB_NO02"},
	} {
		resp, body := s.do("sam", bad.method, bad.path, bad.body)
		if e := decodeErr(t, body); e.Code != bad.code || resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s %s: %d %s, want a 4xx %s", bad.method, bad.path, resp.StatusCode, body, bad.code)
		}
	}
}

func TestHostileQueriesThroughTheModuleNeverWiden(t *testing.T) {
	s := startSite(t, 200, "")
	oracle := s.world.Oracle(t)
	allowed := oracle.Visible(t, testworld.Identities["dave"], testworld.OrdersApp, "orders")
	for i, q := range testworld.HostileQueries {
		resp, body := s.do("dave", "POST", "/k/v1/records.json", mustJSON(map[string]any{"app": 10, "query": q, "totalCount": true, "fields": []string{"$id"}}), "X-HTTP-Method-Override", "GET")
		if resp.StatusCode != 200 {
			if resp.StatusCode >= 500 {
				t.Errorf("query %d: %d %s", i, resp.StatusCode, body)
			}
			decodeErr(t, body)
			continue
		}
		var page recordsBody
		json.Unmarshal([]byte(body), &page)
		for rid := range ids(page.Records) {
			if !allowed[rid] {
				t.Fatalf("query %d %.60q widened the result with record %s", i, q, rid)
			}
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestPolicyHotReloadKeepsTheOldVersionUntilANewOnePasses(t *testing.T) {
	s := startSite(t, 30, "policy: watch")
	file := filepath.Join(s.world.PolicyDir, "orders.rego")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// whether bob's reads are bounded by a tiny rate: the observable. At 1
	// record a minute the second read waits far beyond 30 s: refused.
	refused := func() bool {
		for range 2 {
			resp, body := s.do("bob", "GET", "/k/v1/records.json?app="+testworld.OrdersApp+"&query=limit+500", "")
			switch {
			case resp.StatusCode == 200:
			case resp.StatusCode == http.StatusTooManyRequests && decodeErr(t, body).Code == "KGATE_RT01" && resp.Header.Get("Retry-After") != "":
				return true
			default:
				t.Fatalf("unexpected %d %s", resp.StatusCode, body)
			}
		}
		return false
	}
	if refused() {
		t.Fatal("silver's high rate refused two reads at start")
	}
	// A broken file: the old version keeps serving.
	if err := os.WriteFile(file, append(orig, []byte("\nthis is not rego {\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the watcher try and fail
	if refused() {
		t.Fatal("a broken policy replaced the serving one")
	}
	// A valid file that lowers the silver rate to 1: picked up.
	const rate = `rate := 600000 if input.user.level == "silver"`
	if !strings.Contains(string(orig), rate) {
		t.Fatalf("orders.rego has no %q", rate)
	}
	fixed := strings.Replace(string(orig), rate, `rate := 1 if input.user.level == "silver"`, 1)
	if err := os.WriteFile(file, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !refused() {
		if time.Now().After(deadline) {
			t.Fatal("the fixed policy was not picked up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAppsAndFormsListOnlyWhatMayBeRead(t *testing.T) {
	s := startSite(t, 5, "")
	resp, body := s.do("nolvl", "GET", "/k/v1/apps.json", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"apps":[]`) && !strings.Contains(body, `"apps":null`) {
		t.Errorf("a member without access: %d %s", resp.StatusCode, body)
	}
	resp, body = s.do("bob", "GET", "/k/v1/app/form/fields.json?app=10", "")
	var form struct{ Properties map[string]any }
	json.Unmarshal([]byte(body), &form)
	var codes []string
	for c := range form.Properties {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	if resp.StatusCode != 200 || form.Properties["secret"] != nil || form.Properties["title"] == nil {
		t.Errorf("silver form fields: %d %v", resp.StatusCode, codes)
	}
}
