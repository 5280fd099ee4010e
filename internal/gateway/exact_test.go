package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testworld"
)

// The five classes of leak an independent review found. Each test below
// failed before kgate built one record view per action; the default
// policies never vary a rule by action or mask a table column, so nothing
// else caught them.

// perActionPolicy varies the row rule by action and masks a table column:
// gold members read their organization's orders, see comments only on the
// high-priority ones, and download files only of shared ones; silver
// members read but may not read files at all.
const perActionPolicy = `package kgate

allow if input.user.level == "gold"

allow if {
	input.user.level == "silver"
	input.action == "read"
}

include if {
	input.action == "read"
	input.record.org == input.user.org
}

include if {
	input.action == "comment.read"
	input.record.org == input.user.org
	input.record.priority == "high"
}

include if {
	input.action == "file.read"
	input.record.org == input.user.org
	input.record.shared == "yes"
}

readable contains "*"

masks["qty"] := "0"
`

// exactEnv is the test world under a policy of the test's own, with
// upstream set to wrap the simulator when a test needs to.
func exactEnv(t *testing.T, rego string, upstream func(http.Handler) http.Handler) *env {
	t.Helper()
	w := testworld.Start(t, 120)
	eng := regoEngine(t, rego)
	base := w.URL
	if upstream != nil {
		target, _ := url.Parse(w.URL)
		srv := httptest.NewServer(upstream(httputil.NewSingleHostReverseProxy(target)))
		t.Cleanup(srv.Close)
		base = srv.URL
	}
	direct, err := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	if err != nil {
		t.Fatal(err)
	}
	client, err := kintone.NewClient(kintone.Config{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(),
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.DPanicLevel))})
	if err != nil {
		t.Fatal(err)
	}
	return &env{gw: gw, direct: direct, world: w, ctx: t.Context()}
}

// setFields changes records in the simulator directly, past kgate.
func (e *env) setFields(t *testing.T, id string, fields map[string]any) {
	t.Helper()
	rec := map[string]any{}
	for code, v := range fields {
		rec[code] = map[string]any{"value": v}
	}
	_, err := e.direct.Do(e.ctx, kintone.Request{Method: "PUT", API: "record.json", App: testworld.OrdersApp,
		Tokens: []string{testworld.OrdersToken}, Body: map[string]any{"app": testworld.OrdersApp, "id": id, "record": rec}})
	if err != nil {
		t.Fatal(err)
	}
}

var orders = gateway.AppRef{ID: testworld.OrdersApp}

func ids(t testing.TB, page *gateway.Page) []string {
	t.Helper()
	var out []string
	for _, raw := range page.Records {
		out = append(out, idOf(decode(t, raw)))
	}
	return out
}

func TestMasksApplyToTableColumnsOnEveryReadSurface(t *testing.T) {
	e := exactEnv(t, perActionPolicy, nil)
	alice := testworld.Identities["alice"]
	e.setFields(t, "2", map[string]any{"org": "acme", "items": []any{
		map[string]any{"value": map[string]any{"item": map[string]any{"value": "bolts"}, "qty": map[string]any{"value": "7"}}},
		map[string]any{"value": map[string]any{"item": map[string]any{"value": "nuts"}, "qty": map[string]any{"value": "9"}}},
	}})
	check := func(surface string, raw json.RawMessage) {
		t.Helper()
		var items []struct {
			Value map[string]kintone.FieldValue `json:"value"`
		}
		if err := json.Unmarshal(decode(t, raw)["items"].Value, &items); err != nil || len(items) == 0 {
			t.Fatalf("%s: items of %s: %v", surface, raw, err)
		}
		for _, row := range items {
			if q := row.Value["qty"]; string(q.Value) != `"0"` || q.Type != "NUMBER" {
				t.Errorf("%s: qty = %s %s, want the mask \"0\" as a NUMBER", surface, q.Type, q.Value)
			}
			if row.Value["item"].Value == nil {
				t.Errorf("%s: the unmasked column is gone: %s", surface, raw)
			}
		}
	}
	page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders, Query: "$id = 2"})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("records: %v %v", page, err)
	}
	check("records.json", page.Records[0])
	page, err = e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders, Query: "$id = 2", Fields: []string{"items"}})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("records with fields: %v %v", page, err)
	}
	check("records.json fields=items", page.Records[0])
	rec, err := e.gw.GetRecord(e.ctx, alice, orders, "2")
	if err != nil {
		t.Fatal(err)
	}
	check("record.json", rec)
	key, _, err := e.gw.CreateCursor(e.ctx, alice, gateway.CursorRequest{App: orders, Query: "$id = 2"})
	if err != nil {
		t.Fatal(err)
	}
	page, err = e.gw.GetCursor(e.ctx, alice, key)
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("cursor: %v %v", page, err)
	}
	check("cursor", page.Records[0])
}

func TestAWithheldRecordNeverShowsInACountOrAPage(t *testing.T) {
	// An upstream that answers records.json and cursors with one more
	// record than kintone would: bluebird's record 3 rides along on alice's
	// pages, standing for any gap between the compiled condition and the
	// policy. kgate must neither count it nor leave its slot empty.
	var intruder json.RawMessage
	inject := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || (r.URL.Path != "/k/v1/records.json" && r.URL.Path != "/k/v1/records/cursor.json") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]json.RawMessage
			if json.Unmarshal(rec.Body.Bytes(), &body) != nil || intruder == nil {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			var recs []json.RawMessage
			json.Unmarshal(body["records"], &recs)
			body["records"], _ = json.Marshal(append(recs, intruder))
			if c := body["totalCount"]; c != nil && string(c) != "null" {
				var n int
				fmt.Sscanf(string(bytes.Trim(c, `"`)), "%d", &n)
				body["totalCount"] = json.RawMessage(fmt.Sprintf(`"%d"`, n+1))
			}
			json.NewEncoder(w).Encode(body)
		})
	}
	e := exactEnv(t, perActionPolicy, inject)
	alice := testworld.Identities["alice"]
	e.setFields(t, "3", map[string]any{"org": "bluebird"})
	raw, err := e.direct.Do(e.ctx, kintone.Request{Method: "GET", API: "record.json", App: testworld.OrdersApp,
		Tokens: []string{testworld.OrdersToken}, Params: url.Values{"app": {testworld.OrdersApp}, "id": {"3"}}})
	if err != nil {
		t.Fatal(err)
	}
	var one struct{ Record json.RawMessage }
	json.Unmarshal(raw.Body, &one)
	intruder = one.Record

	page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders, Query: "limit 5", TotalCount: true})
	if err == nil {
		t.Fatalf("a page holding a withheld record was answered: %d records, totalCount %v", len(page.Records), *page.TotalCount)
	}
	if ke := kerr(t, err); ke.Code != "KGATE_PO02" || ke.Status != http.StatusInternalServerError {
		t.Fatalf("error = %+v, want KGATE_PO02", ke)
	}
	key, _, err := e.gw.CreateCursor(e.ctx, alice, gateway.CursorRequest{App: orders, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	if page, err := e.gw.GetCursor(e.ctx, alice, key); err == nil || kerr(t, err).Code != "KGATE_PO02" {
		t.Fatalf("cursor page with a withheld record: %v, %v", page, err)
	}
}

// A row rule with a threshold more precise than a float64: OPA's filter
// output carries numbers as float64, so 1000.00000000000000001 became
// 1000 and kintone let amount 1000 through, which the policy refuses.
const decimalPolicy = `package kgate

allow if input.user.level == "gold"

include if {
	input.record.org == input.user.org
	input.record.amount >= 1000.00000000000000001
}

readable contains "*"
`

func TestADecimalThresholdIsComparedExactly(t *testing.T) {
	e := exactEnv(t, decimalPolicy, nil)
	alice := testworld.Identities["alice"]
	for id, amount := range map[string]string{"4": "1000", "5": "1000.0001", "6": "999.9999"} {
		e.setFields(t, id, map[string]any{"org": "acme", "amount": amount})
	}
	page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders,
		Query: "amount >= 999 and amount <= 1001 and $id <= 6 order by $id asc", TotalCount: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, page); !slices.Equal(got, []string{"5"}) || *page.TotalCount != 1 {
		t.Fatalf("ids %v, totalCount %d; want only record 5 (1000.0001 ≥ 1000.00000000000000001), counted once", got, *page.TotalCount)
	}
}

func TestCommentsNeedTheCommentReadRule(t *testing.T) {
	e := exactEnv(t, perActionPolicy, nil)
	alice := testworld.Identities["alice"]
	// The world seeds comments on records 1, 4, 7, …
	e.setFields(t, "1", map[string]any{"org": "acme", "priority": "low"})
	e.setFields(t, "4", map[string]any{"org": "acme", "priority": "high"})
	if _, err := e.gw.GetRecord(e.ctx, alice, orders, "1"); err != nil {
		t.Fatalf("alice may read record 1: %v", err)
	}
	_, err := e.gw.ListComments(e.ctx, alice, gateway.CommentsRequest{App: orders, Record: "1"})
	if ke := kerr(t, err); ke.Code != "GAIA_RE01" {
		t.Fatalf("comments of a record comment.read refuses: %+v, want GAIA_RE01", ke)
	}
	c, err := e.gw.ListComments(e.ctx, alice, gateway.CommentsRequest{App: orders, Record: "4"})
	if err != nil || len(c.Comments) == 0 {
		t.Fatalf("comments of a record comment.read allows: %v, %v", c, err)
	}
}

func TestFilesNeedTheFileReadRule(t *testing.T) {
	e := exactEnv(t, perActionPolicy, nil)
	alice := testworld.Identities["alice"]
	// The world attaches quote.txt to records 1, 51, 101.
	e.setFields(t, "1", map[string]any{"org": "acme", "shared": "no"})
	e.setFields(t, "51", map[string]any{"org": "acme", "shared": "yes"})
	token := func(id string) string {
		rec, err := e.gw.GetRecord(e.ctx, alice, orders, id)
		if err != nil {
			t.Fatal(err)
		}
		var files []struct{ FileKey string }
		json.Unmarshal(decode(t, rec)["attachment"].Value, &files)
		if len(files) != 1 {
			t.Fatalf("record %s: attachment %s", id, rec)
		}
		return files[0].FileKey
	}
	if body, err := download(e, alice, token("1")); err == nil {
		t.Fatalf("downloaded %q from a record file.read refuses", body)
	} else if ke := kerr(t, err); ke.Code != "GAIA_BL01" {
		t.Fatalf("error = %+v, want GAIA_BL01", ke)
	}
	if body, err := download(e, alice, token("51")); err != nil || body != "quote for acme" {
		t.Fatalf("file of a shared record: %q, %v", body, err)
	}
}

func download(e *env, id *identity.Identity, token string) (string, error) {
	f, err := e.gw.DownloadFile(e.ctx, id, token)
	if err != nil {
		return "", err
	}
	defer f.Body.Close()
	b, err := io.ReadAll(f.Body)
	return string(b), err
}

func TestFileContentsAreSearchableOnlyWhereFilesMayBeRead(t *testing.T) {
	e := exactEnv(t, perActionPolicy, nil)
	alice, bob := testworld.Identities["alice"], testworld.Identities["bob"]
	e.setFields(t, "1", map[string]any{"org": "acme", "shared": "no"})
	e.setFields(t, "51", map[string]any{"org": "acme", "shared": "yes"})
	e.setFields(t, "101", map[string]any{"org": "acme", "shared": "yes"})
	for _, tt := range []struct {
		query string
		want  []string
	}{
		// "acme" is in the file's contents, not in its name.
		{`attachment like "acme" and $id in (1, 51, 101) order by $id asc`, []string{"51", "101"}},
		{`attachment not like "acme" and $id in (1, 51, 101) order by $id asc`, nil},
		{`attachment not like "zebra" and $id in (1, 51, 101) order by $id asc`, []string{"51", "101"}},
		{`(attachment like "acme" or title like "zzzz") and $id in (1, 51, 101) order by $id asc`, []string{"51", "101"}},
	} {
		page, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders, Query: tt.query, TotalCount: true})
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if got := ids(t, page); !slices.Equal(got, tt.want) || *page.TotalCount != int64(len(tt.want)) {
			t.Errorf("%s: ids %v (totalCount %d), want %v", tt.query, got, *page.TotalCount, tt.want)
		}
	}
	// bob (silver) may not read files at all: searching them is refused.
	bob = &identity.Identity{Subject: bob.Subject, Issuer: bob.Issuer, Email: bob.Email, Level: "silver", Org: "acme"}
	_, err := e.gw.ListRecords(e.ctx, bob, gateway.ListRequest{App: orders, Query: `attachment like "acme"`})
	if ke := kerr(t, err); ke.Code != "CB_VA01" || len(ke.Errors["query"].Messages) == 0 {
		t.Fatalf("bob's search of file contents: %+v, want CB_VA01 on query", ke)
	}
}

func TestAMaskThatIsNoValueOfItsTypeRefusesTheRead(t *testing.T) {
	e := exactEnv(t, `package kgate

allow if input.user.level == "gold"

include if input.record.org == input.user.org

readable contains "*"

masks.amount := "***"
`, nil)
	alice := testworld.Identities["alice"]
	_, err := e.gw.ListRecords(e.ctx, alice, gateway.ListRequest{App: orders, Query: "limit 1"})
	if ke := kerr(t, err); ke.Code != "KGATE_PO01" {
		t.Fatalf("a NUMBER masked as \"***\": %+v, want KGATE_PO01", ke)
	}
	if _, err := e.gw.GetRecord(e.ctx, alice, orders, "1"); kerr(t, err).Code != "KGATE_PO01" {
		t.Fatalf("record.json with a broken mask: %v", err)
	}
}

func TestOneRequestDecidesUnderOnePolicyVersion(t *testing.T) {
	w := testworld.Start(t, 60)
	dir := t.TempDir()
	write := func(org string) {
		t.Helper()
		rego := fmt.Sprintf("package kgate\n\nallow if input.user.level == \"gold\"\n\ninclude if input.record.org == %q\n\nreadable contains \"*\"\n", org)
		if err := os.WriteFile(filepath.Join(dir, "policy.rego"), []byte(rego), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("acme")
	eng, err := policy.Open(t.Context(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, _ := kintone.NewClient(kintone.Config{BaseURL: w.URL})
	core, logs := observer.New(zap.InfoLevel)
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.Apps(), Audit: audit.New(zap.New(core))})
	if err != nil {
		t.Fatal(err)
	}
	alice := testworld.Identities["alice"]
	pinned := gw.Pin(t.Context())
	before := eng.Version()
	write("bluebird")
	if err := eng.Reload(t.Context()); err != nil || eng.Version() == before {
		t.Fatalf("reload: %v (version %s → %s)", err, before, eng.Version())
	}
	orgsOf := func(ctx context.Context) map[string]bool {
		page, err := gw.ListRecords(ctx, alice, gateway.ListRequest{App: orders, Fields: []string{"org"}, Query: "limit 500"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, raw := range page.Records {
			out[fieldString(decode(t, raw), "org")] = true
		}
		return out
	}
	if got := orgsOf(pinned); !got["acme"] || len(got) != 1 {
		t.Fatalf("a request pinned before the reload saw %v, want acme's records only", got)
	}
	if got := orgsOf(t.Context()); !got["bluebird"] || len(got) != 1 {
		t.Fatalf("a new request saw %v, want bluebird's records only", got)
	}
	var versions []string
	for _, entry := range logs.All() {
		if v, ok := entry.ContextMap()["policy_version"]; ok {
			versions = append(versions, v.(string))
		}
	}
	if !slices.Equal(versions, []string{before, eng.Version()}) {
		t.Fatalf("audit events carry versions %v, want [%s %s]", versions, before, eng.Version())
	}
}
