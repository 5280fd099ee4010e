package kintonesim

import (
	"reflect"
	"testing"
)

func getRec(t *testing.T, s *Server, app, id string) map[string]any {
	t.Helper()
	tok := map[string]string{"1": "tok-cust", "2": "tok-orders"}[app]
	r := must(t, do(t, s, req{method: "GET", path: "/k/v1/record.json?app=" + app + "&id=" + id, token: tok}))
	return r.obj(t)["record"].(map[string]any)
}

func v(x any) map[string]any { return map[string]any{"value": x} }

// TestRecordLifecycle: add, defaults, numbers as strings, revisions,
// optimistic locking with -1 skipping, and system fields.
func TestRecordLifecycle(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", user: "alice", body: map[string]any{
		"app": "2", "record": map[string]any{"title": v("New"), "amount": v(1.5e1), "unknown": v("ignored")}}}))
	if got := js(r.obj(t)); got != `{"id":"4","revision":"1"}` {
		t.Fatalf("add answered %s", got)
	}
	rec := getRec(t, s, "2", "4")
	for code, want := range map[string]string{
		"amount": `"15"`, "color": `"blue"`, "owner": `[{"code":"alice","name":"Alice Sato"}]`,
		"Created_by": `{"code":"alice","name":"Alice Sato"}`, "Created_datetime": `"2024-05-15T03:00:00Z"`,
		"Status": `"Draft"`, "Assignee": `[{"code":"alice","name":"Alice Sato"}]`, "Record_number": `"4"`, "$revision": `"1"`,
	} {
		if got := js(valueOf(rec, code)); got != want {
			t.Errorf("%s = %s, want %s", code, got, want)
		}
	}
	put := func(rev any) reply {
		return do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": "4", "revision": rev, "record": map[string]any{"title": v("Renamed")}}})
	}
	if got := js(must(t, put(1)).obj(t)); got != `{"revision":"2"}` {
		t.Fatalf("update answered %s", got)
	}
	if r := put(1); r.status != 409 || r.code() != "GAIA_CO02" {
		t.Fatalf("stale revision: %d %s", r.status, r.body)
	}
	if got := js(must(t, put(-1)).obj(t)); got != `{"revision":"3"}` {
		t.Fatalf("-1 answered %s", got)
	}
	if got := js(valueOf(getRec(t, s, "2", "4"), "Updated_by")); got != `{"code":"Administrator","name":"Administrator"}` {
		t.Errorf("modifier after a token update = %s", got)
	}
}

// TestRecordValidation: kintone's keys and messages, every bad field at
// once, and nothing stored.
func TestRecordValidation(t *testing.T) {
	s := newSim(t)
	r := do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{
		"amount": v("-5"), "tags": v([]string{"a", "zzz"}), "tier": v("bronze"), "title": v(string(make([]byte, 101))),
		"items": v([]any{map[string]any{"value": map[string]any{"qty": v("abc"), "kind": v("q")}}}),
	}}})
	want := map[string]string{
		"record.amount.value":                    "The value must be 0 or more.",
		"record.tags.values[1].value":            `The value, "zzz", is not in options.`,
		"record.tier.value":                      `The value, "bronze", is not in options.`,
		"record.title.value":                     "Enter less than 101 characters.",
		"record.items.value[0].value.kind.value": `The value, "q", is not in options.`,
	}
	m := r.obj(t)
	errs, _ := m["errors"].(map[string]any)
	for k, msg := range want {
		e, _ := errs[k].(map[string]any)
		if js(e["messages"]) != js([]string{msg}) {
			t.Errorf("errors[%q] = %v, want %q", k, errs[k], msg)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors = %s", js(errs))
	}
	if got := ids(t, s, "", ""); len(got) != 3 {
		t.Errorf("a refused add stored something: %v", got)
	}
	r = do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "record": map[string]any{"title": v("x"), "amount": v("abc")}}})
	if _, ok := r.obj(t)["errors"].(map[string]any)["record[amount].value"]; !ok {
		t.Errorf("a non-number is keyed with brackets: %s", r.body)
	}
	r = do(t, s, req{method: "POST", path: "/k/v1/records.json", token: "tok-cust", body: map[string]any{"app": 1, "records": []any{
		map[string]any{"name": v("New")}, map[string]any{"name": v("Acme")}}}})
	if _, ok := r.obj(t)["errors"].(map[string]any)["records[1].name.value"]; !ok || r.status != 400 {
		t.Errorf("unique in a bulk add: %s", r.body)
	}
}

// TestSubtableMerge: kintone's rules for rows on update.
func TestSubtableMerge(t *testing.T) {
	s := newSim(t)
	rows := func() []any { return valueOf(getRec(t, s, "2", "1"), "items").([]any) }
	before := rows()
	keep := before[0].(map[string]any) // pen, qty 1
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{
		"items": v([]any{
			map[string]any{"id": keep["id"], "value": map[string]any{"qty": v("2")}},  // merged: item kept
			map[string]any{"id": "999999", "value": map[string]any{"item": v("new")}}, // unknown id: a new row
		})}}}))
	after := rows()
	if len(after) != 2 {
		t.Fatalf("rows = %s", js(after))
	}
	first := after[0].(map[string]any)
	if first["id"] != keep["id"] || js(valueOf(first["value"], "item")) != `"pen"` || js(valueOf(first["value"], "qty")) != `"2"` {
		t.Errorf("merged row = %s", js(first))
	}
	if second := after[1].(map[string]any); second["id"] == "999999" || js(valueOf(second["value"], "item")) != `"new"` {
		t.Errorf("new row = %s", js(second))
	}
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"title": v("t")}}}))
	if len(rows()) != 2 {
		t.Errorf("omitting the table must keep its rows")
	}
	must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-orders", body: map[string]any{"app": 2, "id": 1, "record": map[string]any{"items": v([]any{})}}}))
	if len(rows()) != 0 {
		t.Errorf("value [] must delete every row")
	}
}

// TestBulkWritesAreAtomic: one bad record in a bulk add, update or delete
// leaves every record as it was.
func TestBulkWritesAreAtomic(t *testing.T) {
	s := newSim(t)
	snapshot := func() string { recs, _ := s.Select(2, "", ""); return js(recs) }
	before := snapshot()
	for _, q := range []req{
		{method: "POST", path: "/k/v1/records.json", token: "tok-orders", body: map[string]any{"app": 2, "records": []any{
			map[string]any{"title": v("ok"), "amount": v(1)}, map[string]any{"title": v("bad")}}}},
		{method: "PUT", path: "/k/v1/records.json", token: "tok-orders", body: map[string]any{"app": 2, "records": []any{
			map[string]any{"id": 1, "record": map[string]any{"title": v("changed")}}, map[string]any{"id": 99, "record": map[string]any{}}}}},
		{method: "PUT", path: "/k/v1/records.json", token: "tok-orders", body: map[string]any{"app": 2, "records": []any{
			map[string]any{"id": 1, "record": map[string]any{"title": v("changed")}}, map[string]any{"id": 2, "revision": 9}}}},
		{method: "DELETE", path: "/k/v1/records.json?app=2&ids[0]=1&ids[1]=99", token: "tok-orders"},
	} {
		if r := do(t, s, q); r.status == 200 {
			t.Fatalf("%s %s succeeded: %s", q.method, q.path, r.body)
		}
		if after := snapshot(); after != before {
			t.Fatalf("%s changed records", q.method)
		}
	}
}

// TestUpsertAndUpdateKey: updateKey updates by a unique field, upsert adds
// when nothing matches, and says which it did.
func TestUpsertAndUpdateKey(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "PUT", path: "/k/v1/records.json", token: "tok-cust", body: map[string]any{"app": 1, "upsert": true, "records": []any{
		map[string]any{"updateKey": map[string]any{"field": "name", "value": "Acme"}, "record": map[string]any{"rank": v(11)}},
		map[string]any{"updateKey": map[string]any{"field": "name", "value": "Cosmo"}, "record": map[string]any{"rank": v(30)}},
	}}}))
	want := `{"records":[{"id":"1","operation":"UPDATE","revision":"2"},{"id":"3","operation":"INSERT","revision":"1"}]}`
	if got := js(r.obj(t)); got != want {
		t.Fatalf("upsert answered %s", got)
	}
	if got := js(valueOf(getRec(t, s, "1", "3"), "name")); got != `"Cosmo"` {
		t.Errorf("inserted name = %s", got)
	}
	r = must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "tok-cust", body: map[string]any{"app": 1, "updateKey": map[string]any{"field": "Record_number", "value": "CUST-2"}, "record": map[string]any{"rank": v(21)}}}))
	if got := js(valueOf(getRec(t, s, "1", "2"), "rank")); got != `"21"` {
		t.Errorf("update by record number with the app code: rank = %s", got)
	}
}

// TestLookupCopiesMappedFields: writing the key copies the mapped fields
// and ignores values sent for them.
func TestLookupCopiesMappedFields(t *testing.T) {
	s := newSim(t)
	r := must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "tok-orders,tok-cust", body: map[string]any{"app": 2, "record": map[string]any{
		"title": v("x"), "amount": v(1), "customer": v("Bluebird"), "customer_email": v("forged@example")}}}))
	id := r.obj(t)["id"].(string)
	if got := js(valueOf(getRec(t, s, "2", id), "customer_email")); got != `"info@bluebird.example"` {
		t.Errorf("customer_email = %s", got)
	}
}

// TestParamsArriveEveryWay: query string with plain or percent-encoded
// brackets, a JSON body on GET, and POST with X-HTTP-Method-Override.
func TestParamsArriveEveryWay(t *testing.T) {
	s := newSim(t)
	for _, q := range []req{
		{method: "GET", path: "/k/v1/records.json?app=2&fields[0]=$id&query=amount%20%3E%200"},
		{method: "GET", path: "/k/v1/records.json?app=2&fields%5B0%5D=%24id&query=amount%20%3E%200"},
		{method: "GET", path: "/k/v1/records.json", body: map[string]any{"app": 2, "fields": []string{"$id"}, "query": "amount > 0"}},
		{method: "POST", path: "/k/v1/records.json", body: map[string]any{"app": 2, "fields": []string{"$id"}, "query": "amount > 0"}, header: map[string]string{"X-HTTP-Method-Override": "GET"}},
	} {
		q.token = "tok-orders"
		got := js(must(t, do(t, s, q)).obj(t))
		if got != `{"records":[{"$id":{"type":"__ID__","value":"2"}},{"$id":{"type":"__ID__","value":"1"}}],"totalCount":null}` {
			t.Errorf("%s %s: %s", q.method, q.path, got)
		}
	}
	// Lower case is not honoured: the request stays a POST (an add).
	r := do(t, s, req{method: "POST", path: "/k/v1/records.json", token: "tok-orders", body: map[string]any{"app": 2}, header: map[string]string{"X-HTTP-Method-Override": "get"}})
	if r.code() != "CB_VA01" || !contains2(string(r.body), `"records"`) {
		t.Errorf("lower-case override: %s", r.body)
	}
	// totalCount ignores limit and offset and is a string.
	r = must(t, do(t, s, req{method: "GET", path: "/k/v1/records.json?app=2&totalCount=true&query=limit%201", token: "tok-orders"}))
	if m := r.obj(t); m["totalCount"] != "3" || len(m["records"].([]any)) != 1 {
		t.Errorf("totalCount: %s", r.body)
	}
	// DELETE with ids in the query string.
	must(t, do(t, s, req{method: "DELETE", path: "/k/v1/records.json?app=2&ids%5B0%5D=3&revisions%5B0%5D=1", token: "tok-orders"}))
	if got := ids(t, s, "", ""); !reflect.DeepEqual(got, []string{"2", "1"}) {
		t.Errorf("after delete: %v", got)
	}
}
