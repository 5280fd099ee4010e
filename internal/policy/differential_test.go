package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// The self-differential test: for random row rules over a form with every
// scalar type, and random records, the full evaluation of include
// (Include on the flattened record) must agree with the translated KQL
// condition evaluated on the same flattened record by kintone's semantics
// (refEval below). Zero differences, under both readings of how kintone
// treats unset values in != , not in and ordering comparisons, since the
// translation must not depend on that.

var diffForm = map[string]kql.Field{
	"text":             {Code: "text", Type: "SINGLE_LINE_TEXT"},
	"link":             {Code: "link", Type: "LINK"},
	"dd":               dropDown("dd", "acme", "bluebird", "cosmo", "all"),
	"radio":            {Code: "radio", Type: "RADIO_BUTTON", Options: []string{"1", "2", "3", "4", "5"}},
	"Status":           {Code: "Status", Type: "STATUS", Options: []string{"Draft", "Submitted", "Approved", "Rejected"}},
	"num":              {Code: "num", Type: "NUMBER"},
	"calc":             {Code: "calc", Type: "CALC"},
	"Record_number":    {Code: "Record_number", Type: "RECORD_NUMBER"},
	"date":             {Code: "date", Type: "DATE"},
	"time":             {Code: "time", Type: "TIME"},
	"dt":               {Code: "dt", Type: "DATETIME"},
	"Created_datetime": {Code: "Created_datetime", Type: "CREATED_TIME"},
	"Updated_datetime": {Code: "Updated_datetime", Type: "UPDATED_TIME"},
	"Created_by":       {Code: "Created_by", Type: "CREATOR"},
	"Updated_by":       {Code: "Updated_by", Type: "MODIFIER"},
	"tags":             {Code: "tags", Type: "CHECK_BOX", Options: []string{"x", "y"}},
}

var diffTypes = func() map[string]string {
	m := map[string]string{"$id": "__ID__"}
	for code, f := range diffForm {
		m[code] = f.Type
	}
	return m
}()

// What records hold (wire values, JSON) and what rules compare with (Rego
// literals), per field. Rule values include ones no record holds.
var (
	textVals  = []string{`""`, `"a"`, `"b"`, `"A"`, `"a b"`, `"x\"y"`}
	dateVals  = []string{`""`, `"2023-12-31"`, `"2024-01-01"`, `"2024-06-15"`, `"2025-01-01"`}
	timeVals  = []string{`""`, `"00:00"`, `"09:00"`, `"09:30"`, `"23:59"`}
	dtVals    = []string{`""`, `"2024-01-01T00:00:00Z"`, `"2024-06-15T12:30:00Z"`, `"2025-01-01T09:00:00Z"`}
	recValues = map[string][]string{
		"text": textVals, "link": textVals,
		"dd":     {`null`, `"acme"`, `"bluebird"`, `"cosmo"`, `"all"`},
		"radio":  {`null`, `"1"`, `"2"`, `"3"`, `"4"`, `"5"`},
		"Status": {`"Draft"`, `"Submitted"`, `"Approved"`, `"Rejected"`},
		"num":    {`""`, `"0"`, `"5"`, `"-3"`, `"1.5"`, `"100"`, `"0.1"`, `"7.25"`},
		"calc":   {`""`, `"10"`, `"2.5"`, `"-1"`, `"0"`},
		"date":   dateVals, "time": timeVals, "dt": dtVals,
		"Created_datetime": dtVals[1:], "Updated_datetime": dtVals[1:],
		"Created_by": {`{"code":"alice","name":"A"}`, `{"code":"bob","name":"B"}`, `{"code":"carol","name":"C"}`},
		"Updated_by": {`{"code":"alice","name":"A"}`, `{"code":"bob","name":"B"}`},
		"tags":       {`[]`, `["x"]`, `["x","y"]`},
	}
	numRuleVals = []string{"-3", "0", "0.1", "1.5", "5", "7", "7.25", "100", "null"}
	ruleValues  = map[string][]string{
		"text": append(textVals, `"zz"`), "link": append(textVals, `"zz"`),
		"dd":     {`""`, `"acme"`, `"bluebird"`, `"cosmo"`, `"all"`, `"nope"`, `"ACME"`},
		"radio":  {`""`, `"1"`, `"3"`, `"5"`, `"9"`},
		"Status": {`"Draft"`, `"Submitted"`, `"Approved"`, `"Rejected"`, `""`, `"Gone"`},
		"num":    numRuleVals, "calc": numRuleVals,
		"$id":           {"1", "5", "10", "15", "29", "null"},
		"Record_number": {`"1"`, `"5"`, `"10"`, `"29"`},
		"date":          append(dateVals, `"2024-03-01"`), "time": append(timeVals, `"12:00"`),
		"dt": append(dtVals, `"2024-06-15T12:31:00Z"`), "Created_datetime": dtVals, "Updated_datetime": dtVals,
		"Created_by": {`"alice"`, `"bob"`, `"dave"`, `""`}, "Updated_by": {`"alice"`, `"dave"`},
	}
	ordered = map[string]bool{"num": true, "calc": true, "$id": true, "date": true, "time": true, "dt": true,
		"Created_datetime": true, "Updated_datetime": true}
)

func randomAtom(r *rand.Rand) string {
	codes := make([]string, 0, len(ruleValues))
	for code := range ruleValues {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	code := codes[r.IntN(len(codes))]
	ref := "input.record." + code
	if code == "$id" {
		ref = `input.record["$id"]`
	}
	vals := ruleValues[code]
	pick := func() string { return vals[r.IntN(len(vals))] }
	ops := []string{"==", "!=", "in"}
	if ordered[code] {
		ops = append(ops, "<", "<=", ">", ">=", "mirror")
	}
	switch op := ops[r.IntN(len(ops))]; op {
	case "in":
		n := 1 + r.IntN(3)
		items := make([]string, n)
		for i := range items {
			items[i] = pick()
		}
		if r.IntN(2) == 0 {
			return fmt.Sprintf("%s in {%s}", ref, strings.Join(items, ", "))
		}
		return fmt.Sprintf("%s in [%s]", ref, strings.Join(items, ", "))
	case "mirror":
		mirrored := []string{"<", "<=", ">", ">="}[r.IntN(4)]
		return fmt.Sprintf("%s %s %s", pick(), mirrored, ref)
	default:
		return fmt.Sprintf("%s %s %s", ref, op, pick())
	}
}

func randomRecord(r *rand.Rand, id int) kintone.Record {
	rec := kintone.Record{
		"$id":           {Type: "__ID__", Value: json.RawMessage(fmt.Sprintf(`"%d"`, id))},
		"$revision":     {Type: "__REVISION__", Value: json.RawMessage(`"1"`)},
		"Record_number": {Type: "RECORD_NUMBER", Value: json.RawMessage(fmt.Sprintf(`"%d"`, id))},
	}
	if r.IntN(2) == 0 {
		rec["Record_number"] = kintone.FieldValue{Type: "RECORD_NUMBER", Value: json.RawMessage(fmt.Sprintf(`"APP-%d"`, id))}
	}
	for code, vals := range recValues {
		rec[code] = kintone.FieldValue{Type: diffForm[code].Type, Value: json.RawMessage(vals[r.IntN(len(vals))])}
	}
	return rec
}

func TestIncludeAgreesWithTheTranslatedQuery(t *testing.T) {
	rules, records := 250, 160
	if testing.Short() {
		rules, records = 60, 60
	}
	r := rand.New(rand.NewPCG(2024, 6))
	var src strings.Builder
	src.WriteString("package kgate\n\n")
	for i := range rules {
		for range 1 + r.IntN(3) {
			atoms := []string{fmt.Sprintf("input.user.attrs.case == %d", i)}
			for range 1 + r.IntN(3) {
				atoms = append(atoms, randomAtom(r))
			}
			fmt.Fprintf(&src, "include if {\n\t%s\n}\n\n", strings.Join(atoms, ";\n\t"))
		}
	}
	e := openPolicy(t, src.String())
	recs := make([]map[string]any, records)
	for i := range recs {
		recs[i] = Flatten(randomRecord(r, i+1))
	}

	ctx := context.Background()
	var always, never, conds, matched, differences int
	for i := range rules {
		in := Input{User: User{Attrs: map[string]any{"case": i}}, App: App{ID: "1"}, Action: "read"}
		rr, err := e.RowRule(ctx, in, diffForm)
		if err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		switch {
		case rr.Never:
			never++
		case rr.Cond == nil:
			always++
		default:
			conds++
		}
		for _, rec := range recs {
			in.Record = rec
			want, err := e.Include(ctx, in)
			if err != nil {
				t.Fatalf("rule %d: %v", i, err)
			}
			if want {
				matched++
			}
			for _, lenient := range []bool{false, true} {
				got := !rr.Never && (rr.Cond == nil || refEval(t, rr.Cond, rec, lenient))
				if got != want {
					differences++
					if differences <= 10 {
						t.Errorf("rule %d, record $id %v (unset values lenient: %v): include %v, query %v\nquery: %s\nrecord: %v",
							i, rec["$id"], lenient, want, got, describe(rr), rec)
					}
				}
			}
		}
	}
	t.Logf("%d rules (%d conditions, %d always, %d never) × %d records: %d includes, %d differences",
		rules, conds, always, never, records, matched, differences)
	// guard the generator: it must exercise real conditions and both outcomes
	total := rules * records
	if conds < rules/2 || matched < total/20 || matched > total*19/20 {
		t.Fatalf("the generated rules are too trivial: %d conditions, %d of %d included", conds, matched, total)
	}
}

// refEval evaluates a condition on a flattened record as kintone does for
// the operators the translation emits. lenient picks how an unset value
// meets != , not in, < and <=: never matching (strict) or matching as if it
// were below every value (lenient); the translation must make both agree.
func refEval(t *testing.T, e kql.Expr, rec map[string]any, lenient bool) bool {
	switch e := e.(type) {
	case *kql.And:
		for _, x := range e.Terms {
			if !refEval(t, x, rec, lenient) {
				return false
			}
		}
		return true
	case *kql.Or:
		for _, x := range e.Terms {
			if refEval(t, x, rec, lenient) {
				return true
			}
		}
		return false
	case *kql.Cond:
		return refCond(t, e, rec, lenient)
	}
	t.Fatalf("unexpected expression %T", e)
	return false
}

func refCond(t *testing.T, c *kql.Cond, rec map[string]any, lenient bool) bool {
	typ, ok := diffTypes[c.Field]
	if !ok {
		t.Fatalf("condition on unknown field %q", c.Field)
	}
	v, present := rec[c.Field]
	if !present {
		t.Fatalf("record has no %q", c.Field)
	}
	empty := v == nil || v == ""
	isEmptyValue := func(x kql.Value) bool { return x.Kind == kql.String && x.Text == "" }
	equal := func(x kql.Value) bool {
		if isEmptyValue(x) {
			return empty
		}
		return !empty && compare(t, typ, v, x) == 0
	}
	switch c.Op {
	case kql.Eq:
		return equal(c.Values[0])
	case kql.Ne:
		if isEmptyValue(c.Values[0]) {
			return !empty
		}
		if empty {
			return lenient
		}
		return !equal(c.Values[0])
	case kql.In, kql.NotIn:
		hit, listsEmpty := false, false
		for _, x := range c.Values {
			hit = hit || equal(x)
			listsEmpty = listsEmpty || isEmptyValue(x)
		}
		if c.Op == kql.In {
			return hit
		}
		if empty && !listsEmpty {
			return lenient
		}
		return !hit
	case kql.Lt, kql.Le, kql.Gt, kql.Ge:
		if isEmptyValue(c.Values[0]) {
			t.Fatalf("ordering against the empty value: %s", kql.Format(c))
		}
		if empty {
			return lenient && (c.Op == kql.Lt || c.Op == kql.Le)
		}
		n := compare(t, typ, v, c.Values[0])
		switch c.Op {
		case kql.Lt:
			return n < 0
		case kql.Le:
			return n <= 0
		case kql.Gt:
			return n > 0
		}
		return n >= 0
	}
	t.Fatalf("operator %v is not emitted", c.Op)
	return false
}

// compare orders a stored value and a query value the way kintone does for
// the type: numbers by value, dates and times as points in time, other
// values as exact strings.
func compare(t *testing.T, typ string, stored any, q kql.Value) int {
	switch typ {
	case "NUMBER", "CALC", "__ID__", "RECORD_NUMBER":
		if q.Kind != kql.Number {
			t.Fatalf("%s compared with %v", typ, q)
		}
		a, ok1 := new(big.Rat).SetString(fmt.Sprint(stored))
		b, ok2 := new(big.Rat).SetString(q.Text)
		if !ok1 || !ok2 {
			t.Fatalf("not numbers: %v, %v", stored, q.Text)
		}
		return a.Cmp(b)
	case "DATE", "TIME", "DATETIME", "CREATED_TIME", "UPDATED_TIME":
		layout := map[string]string{"DATE": "2006-01-02", "TIME": "15:04"}[typ]
		if layout == "" {
			layout = time.RFC3339
		}
		a, err1 := time.Parse(layout, stored.(string))
		b, err2 := time.Parse(layout, q.Text)
		if err1 != nil || err2 != nil || q.Kind != kql.String {
			t.Fatalf("not %s values: %v, %v", typ, stored, q)
		}
		return a.Compare(b)
	}
	if q.Kind != kql.String {
		t.Fatalf("%s compared with %v", typ, q)
	}
	return strings.Compare(stored.(string), q.Text)
}
