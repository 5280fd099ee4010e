package kintonesim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// numbersSeed has an app per precision setting the tests need, an app of
// values to compare exactly (6), a lookup from app 8 (2 decimals) into app
// 7 (20 digits) and a related-records table of app 9 showing app 7.
const numbersSeed = `{"language": "en", "apps": [
 {"id": 1, "name": "Default precision", "tokens": [{"token": "t1", "view": true, "add": true, "edit": true}],
  "fields": [
   {"type": "NUMBER", "code": "amount", "label": "Amount"},
   {"type": "NUMBER", "code": "ref", "label": "Ref", "unique": true},
   {"type": "CALC", "code": "total", "label": "Total", "expression": "amount*2"},
   {"type": "SUBTABLE", "code": "lines", "label": "Lines", "fields": [{"type": "NUMBER", "code": "qty", "label": "Qty"}]}],
  "records": [
   {"amount": {"value": "0.123456"}, "ref": {"value": "1.5"}, "total": {"value": "0.246912"},
    "lines": {"value": [{"value": {"qty": {"value": "2.00005"}}}]}}]},
 {"id": 2, "name": "Whole numbers", "numberPrecision": {"decimalPlaces": 0},
  "tokens": [{"token": "t2", "view": true, "add": true}], "fields": [{"type": "NUMBER", "code": "amount", "label": "Amount"}]},
 {"id": 3, "name": "Up", "numberPrecision": {"decimalPlaces": 2, "roundingMode": "UP"},
  "tokens": [{"token": "t3", "view": true, "add": true}], "fields": [{"type": "NUMBER", "code": "amount", "label": "Amount"}]},
 {"id": 4, "name": "Down", "numberPrecision": {"decimalPlaces": "2", "roundingMode": "DOWN"},
  "tokens": [{"token": "t4", "view": true, "add": true}], "fields": [{"type": "NUMBER", "code": "amount", "label": "Amount"}]},
 {"id": 5, "name": "Five digits", "numberPrecision": {"digits": 5, "decimalPlaces": 2},
  "tokens": [{"token": "t5", "view": true, "add": true}],
  "fields": [
   {"type": "NUMBER", "code": "amount", "label": "Amount"},
   {"type": "SUBTABLE", "code": "lines", "label": "Lines", "fields": [{"type": "NUMBER", "code": "qty", "label": "Qty"}]}]},
 {"id": 6, "name": "Exact", "numberPrecision": {"digits": 30, "decimalPlaces": 10},
  "tokens": [{"token": "t6", "view": true, "add": true}],
  "fields": [
   {"type": "NUMBER", "code": "amount", "label": "Amount"},
   {"type": "CALC", "code": "total", "label": "Total", "expression": "amount"},
   {"type": "NUMBER", "code": "capped", "label": "Capped", "maxValue": "9007199254740992"},
   {"type": "NUMBER", "code": "floor", "label": "Floor", "minValue": "-0.3000000001"},
   {"type": "SUBTABLE", "code": "lines", "label": "Lines", "fields": [{"type": "NUMBER", "code": "qty", "label": "Qty"}]}],
  "records": [
   {"amount": {"value": "1000.1"}, "total": {"value": "1000.1"}, "lines": {"value": [{"value": {"qty": {"value": "0.3"}}}]}},
   {"amount": {"value": "1000"}, "total": {"value": "1000"}, "lines": {"value": [{"value": {"qty": {"value": "1000"}}}]}},
   {"amount": {"value": "0.3"}, "total": {"value": "0.3"}, "lines": {"value": [{"value": {"qty": {"value": "-0.3"}}}]}},
   {"amount": {"value": "-0.3"}, "total": {"value": "-0.3"}},
   {"amount": {"value": "0"}, "total": {"value": "0"}},
   {"amount": {"value": "9007199254740992"}, "total": {"value": "9007199254740992"}},
   {"amount": {"value": "9007199254740993"}, "total": {"value": "9007199254740993"}},
   {"amount": {"value": "-1000.1"}, "total": {"value": "-1000.1"}},
   {"amount": {"value": ""}, "total": {"value": ""}},
   {"amount": {"value": "123456789012345678901234567890"}, "total": {"value": "123456789012345678901234567890"}},
   {"amount": {"value": "123456789012345678901234567891"}, "total": {"value": "123456789012345678901234567891"}},
   {"amount": {"value": "0.0000000001"}, "total": {"value": "0.0000000001"}}]},
 {"id": 7, "name": "Products (20 digits)", "numberPrecision": {"digits": 20},
  "tokens": [{"token": "t7", "view": true}],
  "fields": [
   {"type": "NUMBER", "code": "sku", "label": "SKU", "unique": true},
   {"type": "SINGLE_LINE_TEXT", "code": "name", "label": "Name"},
   {"type": "NUMBER", "code": "price", "label": "Price"},
   {"type": "CALC", "code": "balance", "label": "Balance", "expression": "0-price"}],
  "records": [
   {"sku": {"value": "9007199254740992"}, "name": {"value": "Even"}, "price": {"value": "1.235"}, "balance": {"value": "-1.235"}},
   {"sku": {"value": "9007199254740993"}, "name": {"value": "Odd"}, "price": {"value": "1.245"}, "balance": {"value": "-1.245"}},
   {"sku": {"value": "1.5"}, "name": {"value": "Half"}, "price": {"value": "1234567890123456.5"}, "balance": {"value": "-5"}}]},
 {"id": 8, "name": "Orders (2 decimals)", "numberPrecision": {"decimalPlaces": 2},
  "tokens": [{"token": "t8", "view": true, "add": true}],
  "fields": [
   {"type": "NUMBER", "code": "sku", "label": "SKU",
    "lookup": {"relatedApp": {"app": "7"}, "relatedKeyField": "sku",
               "fieldMappings": [{"field": "product", "relatedField": "name"}, {"field": "price", "relatedField": "price"}, {"field": "balance", "relatedField": "balance"}],
               "lookupPickerFields": [], "filterCond": "", "sort": ""}},
   {"type": "SINGLE_LINE_TEXT", "code": "product", "label": "Product"},
   {"type": "NUMBER", "code": "price", "label": "Price"},
   {"type": "NUMBER", "code": "balance", "label": "Balance"}]},
 {"id": 9, "name": "Shipments",
  "fields": [
   {"type": "NUMBER", "code": "item", "label": "Item"},
   {"type": "REFERENCE_TABLE", "code": "products", "label": "Products",
    "referenceTable": {"relatedApp": {"app": "7"}, "condition": {"field": "item", "relatedField": "sku"},
                       "filterCond": "", "displayFields": ["name"], "sort": "", "size": "5"}}],
  "records": [{"item": {"value": "9007199254740993"}}, {"item": {"value": "1.50"}}, {"item": {"value": "9007199254740992"}}]}]}`

// added adds record to app with record.json and returns the answer.
func added(t *testing.T, s *Server, app int, record map[string]any) reply {
	t.Helper()
	return do(t, s, req{method: "POST", path: "/k/v1/record.json", token: fmt.Sprintf("t%d", app), body: map[string]any{"app": app, "record": record}})
}

// stored reads field code of record id of app (the field inside the first
// row of table when table is not "").
func stored(t *testing.T, s *Server, app int, id any, table, code string) any {
	t.Helper()
	r := must(t, do(t, s, req{method: "GET", path: fmt.Sprintf("/k/v1/record.json?app=%d&id=%v", app, id), token: fmt.Sprintf("t%d", app)}))
	rec := r.obj(t)["record"]
	if table == "" {
		return valueOf(rec, code)
	}
	rows, _ := valueOf(rec, table).([]any)
	if len(rows) == 0 {
		t.Fatalf("record %v has no %s rows", id, table)
	}
	return valueOf(rows[0].(map[string]any)["value"], code)
}

// TestNumbersAreStoredRoundedToTheAppPrecision: a NUMBER value keeps at
// most the app's decimal places, rounded in the app's mode (HALF_EVEN:
// ties to the even digit; UP: away from zero; DOWN: toward zero), keeps the
// decimals written when there are fewer, and is normalised as kintone
// normalises it (spaces, sign, leading zeros, exponents, -0).
func TestNumbersAreStoredRoundedToTheAppPrecision(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	tests := []struct {
		app  int
		in   any
		want string
	}{
		{1, "1.23456", "1.2346"},
		{1, "1.23455", "1.2346"},     // tie, 5 is odd: up
		{1, "1.23445", "1.2344"},     // tie, 4 is even: down
		{1, "1.234450001", "1.2345"}, // not a tie
		{1, "1.2344500000", "1.2344"},
		{1, "-1.23445", "-1.2344"},
		{1, "-1.23455", "-1.2346"},
		{1, "0.00005", "0.0000"},
		{1, "0.00015", "0.0002"},
		{1, "-0.00005", "0.0000"}, // no negative zero
		{1, "9.99995", "10.0000"}, // the carry reaches the integer part
		{1, "1.50", "1.50"},       // fewer decimals than allowed: as written
		{1, "1.5", "1.5"},
		{1, "  42 ", "42"},
		{1, "+7", "7"},
		{1, "007.50", "7.50"},
		{1, ".5", "0.5"},
		{1, "5.", "5"},
		{1, "-0", "0"},
		{1, "-0.00", "0.00"},
		{1, "1.5e1", "15"},
		{1, "1.50E+1", "15"},
		{1, "1.23456789e2", "123.4568"},
		{1, "1e-5", "0.0000"},
		{1, "12345e-4", "1.2345"},
		{1, "0.0000000000000000000000000000001e31", "1"},
		{1, "1e-999999999", "0.0000"},
		{1, "9007199254740993", "9007199254740993"},
		{1, "-9007199254740993", "-9007199254740993"},
		{1, 0.1, "0.1"},
		{1, json.Number("123456789012.34567"), "123456789012.3457"}, // 16 digits once rounded
		{2, "2.5", "2"},
		{2, "3.5", "4"},
		{2, "-2.5", "-2"},
		{2, "0.5", "0"},
		{2, "2.5000001", "3"},
		{2, "1.5e0", "2"},
		{2, "19.5", "20"},
		{3, "1.001", "1.01"},
		{3, "-1.001", "-1.01"},
		{3, "1.000", "1.00"},
		{3, "1.00000", "1.00"},
		{3, "99.999", "100.00"},
		{3, "0.0000001", "0.01"},
		{3, "1e-999999999", "0.01"},
		{3, "-1e-999999999", "-0.01"},
		{4, "1.999", "1.99"},
		{4, "-1.999", "-1.99"},
		{4, "0.009", "0.00"},
		{4, "-0.009", "0.00"},
		{4, "5", "5"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("app %d %v", tt.app, tt.in), func(t *testing.T) {
			id := must(t, added(t, s, tt.app, map[string]any{"amount": v(tt.in)})).obj(t)["id"]
			if got := stored(t, s, tt.app, id, "", "amount"); got != tt.want {
				t.Errorf("%v stored as %v, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestNumbersAreRoundedOnEveryWrite: values are rounded when added one by
// one or in bulk, updated, upserted, written in a bulkRequest, written in a
// subtable row, loaded from a seed (CALC values too), and copied by a
// lookup from an app of finer precision.
func TestNumbersAreRoundedOnEveryWrite(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	rec := func(x string) map[string]any { return map[string]any{"amount": v(x)} }
	tests := []struct {
		name         string
		write        func(t *testing.T) any // returns the id of the record written
		app          int
		table, field string
		want         string
	}{
		{"seed NUMBER", func(*testing.T) any { return 1 }, 1, "", "amount", "0.1235"},
		{"seed CALC", func(*testing.T) any { return 1 }, 1, "", "total", "0.2469"},
		{"seed subtable row", func(*testing.T) any { return 1 }, 1, "lines", "qty", "2.0000"},
		{"records.json add", func(t *testing.T) any {
			r := must(t, do(t, s, req{method: "POST", path: "/k/v1/records.json", token: "t1", body: map[string]any{"app": 1, "records": []any{rec("1"), rec("2.718281")}}}))
			return r.obj(t)["ids"].([]any)[1]
		}, 1, "", "amount", "2.7183"},
		{"subtable row on add", func(t *testing.T) any {
			return must(t, added(t, s, 1, map[string]any{"lines": v([]any{map[string]any{"value": map[string]any{"qty": v("3.14159")}}})})).obj(t)["id"]
		}, 1, "lines", "qty", "3.1416"},
		{"update", func(t *testing.T) any {
			must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "id": 1, "record": rec("-7.77777")}}))
			return 1
		}, 1, "", "amount", "-7.7778"},
		{"update by updateKey", func(t *testing.T) any {
			must(t, do(t, s, req{method: "PUT", path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1,
				"updateKey": map[string]any{"field": "ref", "value": "1.50"}, "record": rec("8.88888")}}))
			return 1
		}, 1, "", "amount", "8.8889"},
		{"upsert insert", func(t *testing.T) any {
			r := must(t, do(t, s, req{method: "PUT", path: "/k/v1/records.json", token: "t1", body: map[string]any{"app": 1, "upsert": true, "records": []any{
				map[string]any{"updateKey": map[string]any{"field": "ref", "value": "2.000049"}, "record": rec("9.99999")}}}}))
			return r.obj(t)["records"].([]any)[0].(map[string]any)["id"]
		}, 1, "", "ref", "2.0000"},
		{"upsert insert's other field", func(t *testing.T) any {
			recs, _ := s.Select(1, "", `ref = 2`)
			var id string
			json.Unmarshal(recs[0]["$id"].Value, &id)
			return id
		}, 1, "", "amount", "10.0000"},
		{"bulkRequest", func(t *testing.T) any {
			r := must(t, do(t, s, req{method: "POST", path: "/k/v1/bulkRequest.json", token: "t1", body: map[string]any{"requests": []any{
				map[string]any{"method": "POST", "api": "/k/v1/record.json", "payload": map[string]any{"app": 1, "record": rec("0.55555")}}}}}))
			return r.obj(t)["results"].([]any)[0].(map[string]any)["id"]
		}, 1, "", "amount", "0.5556"},
		{"lookup copies into an app of 2 decimals (tie to even: down)", func(t *testing.T) any {
			return must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "t8,t7", body: map[string]any{"app": 8,
				"record": map[string]any{"sku": v("9007199254740992")}}})).obj(t)["id"]
		}, 8, "", "price", "1.24"},
		{"lookup copies into an app of 2 decimals (tie to even: up)", func(t *testing.T) any {
			return must(t, do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "t8,t7", body: map[string]any{"app": 8,
				"record": map[string]any{"sku": v("9007199254740993")}}})).obj(t)["id"]
		}, 8, "", "price", "1.24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.write(t)
			if got := stored(t, s, tt.app, id, tt.table, tt.field); got != tt.want {
				t.Errorf("%s = %v, want %s", tt.field, got, tt.want)
			}
		})
	}
}

// TestNumbersWithTooManyDigitsAreRefused: a value whose rounded form needs
// more significant digits than the app's precision allows is CB_VA01 under
// the field's key, wherever it is written; digits are counted after
// rounding.
func TestNumbersWithTooManyDigitsAreRefused(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	row := func(x string) map[string]any {
		return map[string]any{"lines": v([]any{map[string]any{"value": map[string]any{"qty": v(x)}}})}
	}
	tests := []struct {
		name string
		req  req
		key  string // "" when the write succeeds
	}{
		{"17 digits at the default 16", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("12345678901234567")}}}, "record.amount.value"},
		{"16 digits at the default 16", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("1234567890123456")}}}, ""},
		{"13 + 4 decimals", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("1234567890123.4567")}}}, "record.amount.value"},
		{"12 + 5 decimals, 16 once rounded", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("123456789012.34567")}}}, ""},
		{"an exponent", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("1e16")}}}, "record.amount.value"},
		{"a huge exponent", req{path: "/k/v1/record.json", token: "t1", body: map[string]any{"app": 1, "record": map[string]any{"amount": v("1e999999999")}}}, "record.amount.value"},
		{"decimal zeros do not count", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": map[string]any{"amount": v("10000.00")}}}, ""},
		{"rounding up makes six digits", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": map[string]any{"amount": v("99999.995")}}}, "record.amount.value"},
		{"rounding down keeps five", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": map[string]any{"amount": v("999.99499")}}}, ""},
		{"4 + 2 decimals", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": map[string]any{"amount": v("9999.99")}}}, "record.amount.value"},
		{"negative", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": map[string]any{"amount": v("-123456")}}}, "record.amount.value"},
		{"in a subtable row", req{path: "/k/v1/record.json", token: "t5", body: map[string]any{"app": 5, "record": row("123456")}}, "record.lines.value[0].value.qty.value"},
		{"in a bulk add", req{path: "/k/v1/records.json", token: "t5", body: map[string]any{"app": 5, "records": []any{
			map[string]any{"amount": v("1")}, map[string]any{"amount": v("123456")}}}}, "records[1].amount.value"},
		{"copied by a lookup", req{path: "/k/v1/record.json", token: "t8,t7", body: map[string]any{"app": 8, "record": map[string]any{"sku": v("1.5")}}}, "record.price.value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method = "POST"
			r := do(t, s, tt.req)
			if tt.key == "" {
				must(t, r)
				return
			}
			if r.status != 400 || r.code() != "CB_VA01" {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			errs, _ := r.obj(t)["errors"].(map[string]any)
			e, _ := errs[tt.key].(map[string]any)
			if !strings.Contains(js(e["messages"]), "Enter a number of") {
				t.Errorf("errors[%q] = %v; all: %s", tt.key, e, js(errs))
			}
		})
	}
}

// exactIDs runs query on app 6 and returns the $id of each record.
func exactIDs(t *testing.T, s *Server, query string) []string {
	t.Helper()
	recs, err := s.Select(6, "", query)
	if err != nil {
		t.Fatalf("%q: %v", query, err)
	}
	out := []string{}
	for _, r := range recs {
		var id string
		json.Unmarshal(r["$id"].Value, &id)
		out = append(out, id)
	}
	return out
}

// TestNumberComparisonsAreExact: query operators and order by compare
// stored numbers with literals of any length exactly — where a float64
// would round 1000.1000000000000001 to 1000.1, 0.30000000000000001 to 0.3
// and 9007199254740993 to 9007199254740992. App 6 holds, by $id: 1: 1000.1,
// 2: 1000, 3: 0.3, 4: -0.3, 5: 0, 6: 2^53, 7: 2^53+1, 8: -1000.1, 9: empty,
// 10 and 11: 30-digit integers one apart, 12: 0.0000000001.
func TestNumberComparisonsAreExact(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	list := func(s string) []string { return strings.Fields(s) }
	tests := []struct {
		query string
		want  []string
	}{
		{`amount >= 1000.00000000000000001`, list("11 10 7 6 1")},
		{`amount > 1000`, list("11 10 7 6 1")},
		{`amount <= 1000.00000000000000001`, list("12 8 5 4 3 2")},
		{`amount = 1000.1000000000000001`, list("")},
		{`amount != 1000.1000000000000001`, list("12 11 10 9 8 7 6 5 4 3 2 1")},
		{`amount < 1000.1000000000000001`, list("12 8 5 4 3 2 1")},
		{`amount > 1000.0999999999999999`, list("11 10 7 6 1")},
		{`amount = 1000.10`, list("1")},
		{`amount = 0.30000000000000001`, list("")},
		{`amount < 0.30000000000000004`, list("12 8 5 4 3")},
		{`amount < 0.30000000000000001`, list("12 8 5 4 3")},
		{`amount > 0.29999999999999999`, list("11 10 7 6 3 2 1")},
		{`amount >= 0.30000000000000004`, list("11 10 7 6 2 1")},
		{`amount > -0.30000000000000001`, list("12 11 10 7 6 5 4 3 2 1")},
		{`amount < -0.29999999999999999`, list("8 4")},
		{`amount <= -1000.1`, list("8")},
		{`amount < -1000.0999999999999999`, list("8")},
		{`amount > -1000.1000000000000001`, list("12 11 10 8 7 6 5 4 3 2 1")},
		{`amount = -0`, list("5")},
		{`amount = 0.000`, list("5")},
		{`amount > -0`, list("12 11 10 7 6 3 2 1")},
		{`amount < 0`, list("8 4")},
		{`amount > 0.00000000009999999999999999`, list("12 11 10 7 6 3 2 1")},
		{`amount < 0.00000000010000000000000001`, list("12 8 5 4")},
		{`amount = 9007199254740993`, list("7")},
		{`amount = 9007199254740992`, list("6")},
		{`amount > 9007199254740992`, list("11 10 7")},
		{`amount < 9007199254740993`, list("12 8 6 5 4 3 2 1")},
		{`amount in (9007199254740993, 1000.10)`, list("7 1")},
		{`amount not in (9007199254740993)`, list("12 11 10 9 8 6 5 4 3 2 1")},
		{`amount = 123456789012345678901234567891`, list("11")},
		{`amount > 123456789012345678901234567890`, list("11")},
		{`amount >= "1e3"`, list("11 10 7 6 2 1")},
		{`amount = "9.007199254740993e15"`, list("7")},
		{`amount < "1e999999999"`, list("12 11 10 8 7 6 5 4 3 2 1")},
		{`amount > "-1e-999999999"`, list("12 11 10 7 6 5 3 2 1")},
		{`amount = ""`, list("9")},
		{`amount < "x"`, list("")},
		{`order by amount asc`, list("9 8 4 5 12 3 2 1 6 7 10 11")},
		{`order by amount desc`, list("11 10 7 6 1 2 3 12 5 4 8 9")},
		{`total < 0.30000000000000001`, list("12 8 5 4 3")},
		{`total = 9007199254740993`, list("7")},
		{`order by total asc limit 3 offset 8`, list("6 7 10")},
		{`qty > 0.29999999999999999`, list("2 1")},
		{`qty < 0.30000000000000001 and qty > -0.29999999999999999`, list("1")}, // one row must hold both
		{`qty in (-0.3)`, list("3")},
		{`$id > 10.5`, list("12 11")},
		{`$id = 7.0`, list("7")},
		{`$id < 9223372036854775808`, list("12 11 10 9 8 7 6 5 4 3 2 1")},
		{`$id in (9223372036854775807)`, list("")},
		{`$id >= 11.000000000000000001`, list("12")},
		{`Record_number = "6"`, list("6")},
		{`Record_number > 11.999999999999999999`, list("12")},
		{`$id = 1.000000000000000001`, list("")},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := exactIDs(t, s, tt.query); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestUniqueAndLimitsCompareNumbersByValue: a unique NUMBER refuses a
// value equal to another record's however it is written (and after
// rounding), updateKey finds a record by value, and minValue/maxValue
// compare exactly.
func TestUniqueAndLimitsCompareNumbersByValue(t *testing.T) {
	s := newSeeded(t, numbersSeed) // app 1's record 1 has ref 1.5
	tests := []struct {
		name   string
		app    int
		record map[string]any
		key    string // the error expected; "" when the add succeeds
	}{
		{"same value, more decimals", 1, map[string]any{"ref": v("1.50")}, "record.ref.value"},
		{"same value once rounded", 1, map[string]any{"ref": v("1.500001")}, "record.ref.value"},
		{"same value as an exponent", 1, map[string]any{"ref": v("15e-1")}, "record.ref.value"},
		{"another value", 1, map[string]any{"ref": v("1.5001")}, ""},
		{"one above 2^53 over a maxValue of 2^53", 6, map[string]any{"capped": v("9007199254740993")}, "record.capped.value"},
		{"the maxValue itself", 6, map[string]any{"capped": v("9007199254740992")}, ""},
		{"just below the minValue", 6, map[string]any{"floor": v("-0.3000000002")}, "record.floor.value"},
		{"just above the minValue", 6, map[string]any{"floor": v("-0.3")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := added(t, s, tt.app, tt.record)
			if tt.key == "" {
				must(t, r)
				return
			}
			if errs, _ := r.obj(t)["errors"].(map[string]any); r.status != 400 || errs[tt.key] == nil {
				t.Errorf("got %d %s, want errors[%q]", r.status, r.body, tt.key)
			}
		})
	}
	r := must(t, do(t, s, req{method: "PUT", path: "/k/v1/records.json", token: "t1", body: map[string]any{"app": 1, "upsert": true, "records": []any{
		map[string]any{"updateKey": map[string]any{"field": "ref", "value": " 1.500 "}, "record": map[string]any{"amount": v("3")}}}}}))
	if got := js(r.obj(t)["records"]); got != `[{"id":"1","operation":"UPDATE","revision":"2"}]` {
		t.Errorf("upsert by a key equal in value: %s", got)
	}
}

// TestLookupsMatchNumbersByValue: a NUMBER lookup key finds the source
// record whose key equals it exactly (2^53 and 2^53+1 are different
// records; 1.50 finds 1.5), and a negative number copied into a NUMBER
// field keeps its sign.
func TestLookupsMatchNumbersByValue(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	tests := []struct {
		sku               string
		product, balance  string
		wantErr, priceKey bool
	}{
		{sku: "9007199254740992", product: "Even", balance: "-1.24"},
		{sku: "9007199254740993", product: "Odd", balance: "-1.24"},
		{sku: "9.007199254740993e15", product: "Odd", balance: "-1.24"},
		{sku: "1.50", product: "Half", wantErr: true, priceKey: true}, // its price needs 6 digits here
		{sku: "9007199254740994", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.sku, func(t *testing.T) {
			r := do(t, s, req{method: "POST", path: "/k/v1/record.json", token: "t8,t7", body: map[string]any{"app": 8,
				"record": map[string]any{"sku": v(tt.sku)}}})
			if tt.wantErr {
				errs, _ := r.obj(t)["errors"].(map[string]any)
				switch {
				case tt.priceKey && errs["record.price.value"] == nil:
					t.Errorf("got %s, want the copied price refused", r.body)
				case !tt.priceKey && r.code() != "GAIA_LO04":
					t.Errorf("got %s, want GAIA_LO04", r.body)
				}
				return
			}
			id := must(t, r).obj(t)["id"]
			if got := stored(t, s, 8, id, "", "product"); got != tt.product {
				t.Errorf("product = %v, want %s", got, tt.product)
			}
			if got := stored(t, s, 8, id, "", "balance"); got != tt.balance {
				t.Errorf("balance = %v, want %s", got, tt.balance)
			}
		})
	}
}

// TestNumberPrecisionSettingIsValidated: a bad numberPrecision is refused
// when the seed loads, with the app named.
func TestNumberPrecisionSettingIsValidated(t *testing.T) {
	tests := []struct {
		setting, want string
	}{
		{`{"digits": 0}`, `digits 0 is not a whole number from 1 to 30`},
		{`{"digits": 31}`, `digits 31 is not a whole number from 1 to 30`},
		{`{"digits": "sixteen"}`, `digits sixteen is not a whole number from 1 to 30`},
		{`{"digits": 16.5}`, `digits 16.5 is not a whole number`},
		{`{"digits": true}`, `digits true is not a whole number`},
		{`{"decimalPlaces": 11}`, `decimalPlaces 11 is not a whole number from 0 to 10`},
		{`{"decimalPlaces": -1}`, `decimalPlaces -1 is not a whole number from 0 to 10`},
		{`{"digits": 4, "decimalPlaces": 4}`, `decimalPlaces (4) must be fewer than digits (4)`},
		{`{"digits": 3}`, `decimalPlaces (4) must be fewer than digits (3)`},
		{`{"roundingMode": "HALF_UP"}`, `roundingMode "HALF_UP" is not HALF_EVEN, UP or DOWN`},
		{`{"roundingMode": "up"}`, `roundingMode "up" is not HALF_EVEN, UP or DOWN`},
		{`{"digit": 16}`, `unknown key "digit" (digits, decimalPlaces, roundingMode)`},
	}
	for _, tt := range tests {
		t.Run(tt.setting, func(t *testing.T) {
			seed, err := ParseSeed([]byte(`{"apps": [{"id": 3, "code": "money", "name": "M", "numberPrecision": ` + tt.setting + `, "fields": []}]}`))
			if err == nil {
				seed.name = "x.json"
				_, err = New(seed)
			}
			want := "x.json: app 3 (money): numberPrecision: " + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want it to contain %q", err, want)
			}
		})
	}
	for _, ok := range []string{`{}`, `null`, `{"digits": "30", "decimalPlaces": 10, "roundingMode": "UP"}`, `{"digits": 1, "decimalPlaces": 0}`} {
		seed, err := ParseSeed([]byte(`{"apps": [{"id": 3, "name": "M", "numberPrecision": ` + ok + `, "fields": []}]}`))
		if err == nil {
			_, err = New(seed)
		}
		if err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestSeedNumbersAreCheckedAgainstThePrecision: a seed record (or CALC
// value) that does not fit its app's precision is a seed error naming it.
func TestSeedNumbersAreCheckedAgainstThePrecision(t *testing.T) {
	for _, tt := range []struct{ record, want string }{
		{`{"n": {"value": "123456"}}`, `records[0]: CB_VA01 Missing or invalid input.; records[0].n.value: The number has too many digits. Enter a number of 5 digits or fewer.`},
		{`{"c": {"value": "123456"}}`, `records[0].c.value: The number has too many digits`},
		{`{"c": {"value": "many"}}`, `records[0][c].value: Only numbers are allowed.`},
	} {
		seed, err := ParseSeed([]byte(`{"apps": [{"id": 3, "code": "money", "name": "M", "numberPrecision": {"digits": 5, "decimalPlaces": 2},
			"fields": [{"type": "NUMBER", "code": "n", "label": "N"}, {"type": "CALC", "code": "c", "label": "C", "expression": "n"}],
			"records": [` + tt.record + `]}]}`))
		if err == nil {
			seed.name = "x.json"
			_, err = New(seed)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "app 3 (money)") {
			t.Errorf("%s: error %v, want it to contain %q", tt.record, err, tt.want)
		}
	}
}

// TestCompareNumbersOrdersByValue: the comparison behind every query,
// sort, limit and key match orders numbers by value whatever their
// written form, in both directions.
func TestCompareNumbersOrdersByValue(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign of a − b
	}{
		{"0", "-0", 0},
		{"0.000", "0", 0},
		{"-0.0", "0.00", 0},
		{"1.5", "1.50", 0},
		{"15e-1", "1.5", 0},
		{"-1.5", "-1.50", 0},
		{"10", "9.9999999999999999999", 1},
		{"0.5", "1", -1},
		{"0.0000000001", "0", 1},
		{"-0.0000000001", "0", -1},
		{"-2", "-10", 1},
		{"-0.3", "-0.30000000000000001", 1},
		{"0.3", "0.30000000000000004", -1},
		{"9007199254740993", "9007199254740992", 1},
		{"123456789012345678901234567891", "123456789012345678901234567890", 1},
		{"1e62", "1e63", -1},
		{"1e100", "1e99", 0}, // both beyond any stored value: equal stand-ins
		{"1e-100", "0", 1},
		{"-1e-100", "0", -1},
		{"007", "7.000", 0},
	}
	for _, tt := range tests {
		a, okA := numberLiteral(tt.a)
		b, okB := numberLiteral(tt.b)
		if !okA || !okB {
			t.Fatalf("%q or %q is not a number", tt.a, tt.b)
		}
		if got := compareNumbers(a, b); got != tt.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareNumbers(b, a); got != -tt.want {
			t.Errorf("compare(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	for _, bad := range []string{"", " ", "-", ".", "1e", "e5", "0x10", "1_000", "Inf", "NaN", "1.2.3", "--1", "1 000", "１"} {
		if n, ok := numberLiteral(bad); ok {
			t.Errorf("%q read as the number %s", bad, n)
		}
	}
}

// TestRelatedRecordsMatchNumbersByValue: a related-records table whose
// condition joins NUMBER fields relates the records whose numbers are
// equal in value — 1.50 relates 1.5, and 2^53+1 does not relate 2^53.
func TestRelatedRecordsMatchNumbersByValue(t *testing.T) {
	s := newSeeded(t, numbersSeed)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{`products.name in ("Odd")`, []string{"1"}},
		{`products.name in ("Even")`, []string{"3"}},
		{`products.name in ("Half")`, []string{"2"}},
		{`products.sku > 9007199254740992`, []string{"1"}},
	} {
		recs, err := s.Select(9, "", tt.query)
		if err != nil {
			t.Fatalf("%q: %v", tt.query, err)
		}
		got := []string{}
		for _, r := range recs {
			var id string
			json.Unmarshal(r["$id"].Value, &id)
			got = append(got, id)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.query, got, tt.want)
		}
	}
}
