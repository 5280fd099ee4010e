package enforcement

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
)

// The world: one app of things, with a field of every type a row rule or a
// query can use, and records full of edge values.
const (
	appID    = "21"
	appAlias = "things"
	appToken = "tok-things"
)

var thingsApp = gateway.AppRef{ID: appID}

// field is one field of the app as the generators see it.
type field struct {
	code, typ string
	options   []string
	table     string // the table a column belongs to
}

var fields = []field{
	{code: "title", typ: "SINGLE_LINE_TEXT"},
	{code: "code", typ: "SINGLE_LINE_TEXT"},
	{code: "owner", typ: "SINGLE_LINE_TEXT"},
	{code: "site", typ: "LINK"},
	{code: "org", typ: "DROP_DOWN", options: []string{"acme", "bluebird", "cosmo", "ACME", `q"uote`, "x (y)"}},
	{code: "tier", typ: "RADIO_BUTTON", options: []string{"silver", "gold", "platinum"}},
	{code: "stage", typ: "DROP_DOWN", options: []string{"open", "review", "closed"}},
	{code: "amount", typ: "NUMBER"},
	{code: "score", typ: "NUMBER"},
	{code: "due", typ: "DATE"},
	{code: "slot", typ: "TIME"},
	{code: "at", typ: "DATETIME"},
	{code: "note", typ: "MULTI_LINE_TEXT"},
	{code: "body", typ: "RICH_TEXT"},
	{code: "secret", typ: "SINGLE_LINE_TEXT"},
	{code: "tags", typ: "CHECK_BOX", options: []string{"a", "b", "c"}},
	{code: "doc", typ: "FILE"},
	{code: "items", typ: "SUBTABLE"},
	{code: "item", typ: "SINGLE_LINE_TEXT", table: "items"},
	{code: "qty", typ: "NUMBER", table: "items"},
}

// systemFields are the fields kintone adds to every record of the app.
var systemFields = []field{
	{code: "$id", typ: "__ID__"},
	{code: "$revision", typ: "__REVISION__"},
	{code: "Record_number", typ: "RECORD_NUMBER"},
	{code: "Created_by", typ: "CREATOR"},
	{code: "Updated_by", typ: "MODIFIER"},
	{code: "Created_datetime", typ: "CREATED_TIME"},
	{code: "Updated_datetime", typ: "UPDATED_TIME"},
}

func options(code string) []string {
	f, _ := fieldByCode(code)
	return f.options
}

func fieldByCode(code string) (field, bool) {
	for _, f := range append(fields, systemFields...) {
		if f.code == code {
			return f, true
		}
	}
	return field{}, false
}

// Edge values. Texts differ by case, width, spaces, invisible characters;
// some hold the query language's own quotes, parentheses and backslashes.
var (
	edgeTexts = []string{"acme", "ACME", "Acme", "ａｃｍｅ", " acme", "acme ", "ac\u200bme", `q"uote`,
		`back\slash`, "(paren)", "x (y)", "", "東京", "tab\tin", "alpha bravo"}
	edgeOwners = []string{"alice@acme.example", "Alice@acme.example", "alice@acme.example ", "bob@acme.example",
		"carol@bluebird.example", "", "dave@bluebird.example"}
	// Thresholds of the generated rules and queries; the world's numbers
	// sit on them and just beside them (below the app's 4 decimal places
	// too, which the simulator rounds away on save).
	thresholds = []string{"0", "1000", "1000.5", "-0.5", "999.99995", "1000.00005", "1000.00000000000000001"}
	numberNear = []string{"", "0", "-0", "1000", "1000.0001", "999.9999", "1000.5", "1000.4999", "1000.5001",
		"-0.5", "-0.5001", "999.99995", "1000.00005", "0.30000000000000004", "12345678.1234", "-1000"}
	edgeDates     = []string{"", "2026-05-31", "2026-06-01", "2026-06-02", "2025-12-31", "2027-01-01"}
	edgeTimes     = []string{"", "12:29", "12:30", "12:31", "00:00", "23:59"}
	edgeDatetimes = []string{"", "2026-06-01T08:59:00Z", "2026-06-01T09:00:00Z", "2026-06-01T09:01:00Z", "2025-01-01T00:00:00Z"}
	words         = []string{"alpha", "bravo", "charlie", "acme", "secret", "東京", "plan"}
	itemNames     = []string{"bolt", "nut", "acme", "", "ワッシャー"}
)

// files of the world; contents hold words a like may search for.
var worldFiles = []kintonesim.SeedFile{
	{FileKey: "f-plan", Name: "plan.txt", ContentType: "text/plain", Text: "the secret plan of acme"},
	{FileKey: "f-quote", Name: "quote-bravo.txt", ContentType: "text/plain", Text: "charlie quote"},
	{FileKey: "f-empty", Name: "empty.txt", ContentType: "text/plain", Text: "nothing here"},
	{FileKey: "f-tokyo", Name: "東京.txt", ContentType: "text/plain", Text: "東京 alpha"},
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// worldSeed generates the simulator's seed.
func worldSeed(r *rand.Rand, n int) *kintonesim.Seed {
	app := kintonesim.SeedApp{ID: 21, Code: "THG", Name: "Things",
		Tokens: []kintonesim.SeedToken{{Token: appToken, View: true, Add: true, Edit: true, Delete: true}}}
	for _, f := range fields {
		if f.table != "" {
			continue
		}
		prop := map[string]any{"type": f.typ, "code": f.code, "label": strings.ToUpper(f.code[:1]) + f.code[1:]}
		if f.options != nil {
			prop["options"] = f.options
		}
		if f.typ == "RADIO_BUTTON" {
			prop["defaultValue"] = f.options[0]
		}
		if f.typ == "SUBTABLE" {
			prop["fields"] = []any{
				map[string]any{"type": "SINGLE_LINE_TEXT", "code": "item", "label": "Item"},
				map[string]any{"type": "NUMBER", "code": "qty", "label": "Qty"},
			}
		}
		app.Fields = append(app.Fields, raw(prop))
	}
	for i := 0; i < n; i++ {
		app.Records = append(app.Records, worldRecord(r))
		for c := r.IntN(4) - 1; c > 0; c-- {
			app.Comments = append(app.Comments, kintonesim.SeedComment{Record: int64(i + 1),
				Text: fmt.Sprintf("%s note %d on %d", pick(r, words), c, i+1)})
		}
	}
	return &kintonesim.Seed{TimeZone: "Asia/Tokyo", Language: "en", Apps: []kintonesim.SeedApp{app}, Files: worldFiles}
}

func worldRecord(r *rand.Rand) map[string]json.RawMessage {
	v := func(x any) json.RawMessage { return raw(map[string]any{"value": x}) }
	maybe := func(list []string) any {
		s := pick(r, list)
		if s == "" && r.IntN(2) == 0 {
			return nil
		}
		return s
	}
	rec := map[string]json.RawMessage{
		"title":  v(pick(r, words) + " " + pick(r, words)),
		"code":   v(pick(r, edgeTexts)),
		"owner":  v(pick(r, edgeOwners)),
		"site":   v("https://example.com/" + pick(r, []string{"a", "b", ""})),
		"org":    v(maybe(append([]string{""}, options("org")...))),
		"tier":   v(pick(r, options("tier"))),
		"stage":  v(maybe(append([]string{""}, options("stage")...))),
		"amount": v(pick(r, numberNear)),
		"score":  v(pick(r, numberNear)),
		"due":    v(maybe(edgeDates)),
		"slot":   v(maybe(edgeTimes)),
		"at":     v(pick(r, edgeDatetimes)),
		"note":   v(pick(r, []string{"", "  ", pick(r, words) + " and " + pick(r, words), "line one\nline two acme"})),
		"secret": v(pick(r, []string{"s1", "s2", "", "acme"})),
		"body":   v(pick(r, []string{"", "<p>alpha <b>acme</b></p>", "<div>東京 &amp; plan</div>", "<p>charlie</p>"})),
	}
	var tags []string
	for _, t := range options("tags") {
		if r.IntN(3) == 0 {
			tags = append(tags, t)
		}
	}
	rec["tags"] = v(append([]string{}, tags...))
	var docs []any
	for k := r.IntN(5) - 2; k > 0; k-- {
		docs = append(docs, map[string]any{"fileKey": pick(r, worldFiles).FileKey})
	}
	rec["doc"] = v(append([]any{}, docs...))
	rows := []any{}
	switch r.IntN(6) {
	case 0: // no rows
	case 1: // many rows
		for k := 0; k < 25; k++ {
			rows = append(rows, itemRow(r))
		}
	default:
		for k := r.IntN(3) + 1; k > 0; k-- {
			rows = append(rows, itemRow(r))
		}
	}
	rec["items"] = v(rows)
	return rec
}

func itemRow(r *rand.Rand) any {
	return map[string]any{"value": map[string]any{
		"item": map[string]any{"value": pick(r, itemNames)},
		"qty":  map[string]any{"value": pick(r, []string{"", "1", "7", "1000.5", "-0.5"})},
	}}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// world is a running simulator with the dump of its records.
type world struct {
	url    string
	direct *kintone.Client // the app's own token, past kgate
	dump   map[string]kintone.Record
	order  []string // ids, ascending
	files  map[string]string
	// seen keeps the simulator's answers: every member asks the same
	// query, and the answer does not depend on who asks.
	seen map[string][]string
}

func startWorld(t testing.TB, r *rand.Rand, n int) *world {
	t.Helper()
	sim, err := kintonesim.New(worldSeed(r, n), kintonesim.WithClock(func() time.Time { return worldNow }))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	direct, err := kintone.NewClient(kintone.Config{BaseURL: srv.URL, MaxConcurrent: 8})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{url: srv.URL, direct: direct, dump: map[string]kintone.Record{}, files: map[string]string{}, seen: map[string][]string{}}
	for _, f := range worldFiles {
		w.files[f.Name] = f.Text
	}
	resp, err := w.admin("GET", "records.json", url.Values{"app": {appID}, "query": {"order by $id asc limit 500"}})
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Records []kintone.Record }
	if err := json.Unmarshal(resp, &page); err != nil || len(page.Records) != n {
		t.Fatalf("dump: %d records, %v", len(page.Records), err)
	}
	for _, rec := range page.Records {
		id := idOf(rec)
		w.dump[id] = rec
		w.order = append(w.order, id)
	}
	return w
}

// worldNow is the simulator's clock: date functions in queries mean the
// same day for kgate's requests and the truth's.
var worldNow = time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)

// admin calls the simulator with the app's token.
func (w *world) admin(method, api string, params url.Values) ([]byte, error) {
	resp, err := w.direct.Do(contextBackground(), kintone.Request{Method: method, API: api, App: appID,
		Tokens: []string{appToken}, Params: params, Fresh: true})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// matches asks the simulator which records satisfy a condition, in the
// order the query's order by gives (kintone's default without one).
func (w *world) matches(cond string, order string) ([]string, error) {
	q := strings.TrimSpace(cond + " " + order + " limit 500")
	if ids, ok := w.seen[q]; ok {
		return ids, nil
	}
	body, err := w.admin("GET", "records.json", url.Values{"app": {appID}, "query": {q}, "fields[0]": {"$id"}})
	if err != nil {
		return nil, fmt.Errorf("simulator refused %q: %w", q, err)
	}
	var page struct{ Records []kintone.Record }
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, err
	}
	ids := make([]string, len(page.Records))
	for i, rec := range page.Records {
		ids[i] = idOf(rec)
	}
	w.seen[q] = ids
	return ids, nil
}

func idOf(rec kintone.Record) string {
	var s string
	json.Unmarshal(rec["$id"].Value, &s)
	return s
}

func sortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool {
		a, _ := strconv.Atoi(ids[i])
		b, _ := strconv.Atoi(ids[j])
		return a < b
	})
}

// member is one identity the harness reads as.
type member struct {
	name string
	id   *identity.Identity
}

// members returns the world's members: levels the policies know and one
// they do not, organizations in different cases, and missing attributes.
func members() []member {
	mk := func(name, level, org, email string, attrs map[string]any) member {
		return member{name, &identity.Identity{Subject: "u-" + name, Issuer: "https://idp.test", Email: email,
			Name: name, Level: level, Org: org, Attrs: attrs}}
	}
	return []member{
		mk("alice", "gold", "acme", "alice@acme.example", map[string]any{"orgs": []any{"acme", "cosmo"}, "max_score": 1000.5, "code": "acme"}),
		mk("bob", "silver", "acme", "bob@acme.example", map[string]any{"orgs": []any{"acme"}}),
		mk("carol", "gold", "bluebird", "carol@bluebird.example", map[string]any{"orgs": []any{"bluebird", "zzz"}, "max_score": 0}),
		mk("dave", "silver", "bluebird", "dave@bluebird.example", nil),
		mk("shout", "gold", "ACME", "Alice@acme.example", map[string]any{"orgs": []any{}, "code": "ACME"}),
		mk("sam", "staff", "", "sam@operator.example", map[string]any{"orgs": []any{`q"uote`, "x (y)"}, "max_score": -0.5}),
		mk("nolevel", "", "acme", "x@acme.example", nil),
		mk("plat", "platinum", "cosmo", "p@cosmo.example", map[string]any{"code": "ac\u200bme"}),
	}
}
