package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kql"
)

// sinkForm has one field of every type kintone has.
var sinkForm = map[string]kql.Field{
	"text":             {Code: "text", Type: "SINGLE_LINE_TEXT"},
	"link":             {Code: "link", Type: "LINK"},
	"area":             {Code: "area", Type: "MULTI_LINE_TEXT"},
	"rich":             {Code: "rich", Type: "RICH_TEXT"},
	"dd":               dropDown("dd", "a", "b", `x"y`),
	"radio":            {Code: "radio", Type: "RADIO_BUTTON", Options: []string{"1", "2", "3"}},
	"Status":           {Code: "Status", Type: "STATUS", Options: []string{"Draft", "Done"}},
	"num":              {Code: "num", Type: "NUMBER"},
	"calc":             {Code: "calc", Type: "CALC"},
	"Record_number":    {Code: "Record_number", Type: "RECORD_NUMBER"},
	"date":             {Code: "date", Type: "DATE"},
	"time":             {Code: "time", Type: "TIME"},
	"dt":               {Code: "dt", Type: "DATETIME"},
	"Created_datetime": {Code: "Created_datetime", Type: "CREATED_TIME"},
	"Created_by":       {Code: "Created_by", Type: "CREATOR"},
	"Updated_by":       {Code: "Updated_by", Type: "MODIFIER"},
	"cb":               {Code: "cb", Type: "CHECK_BOX", Options: []string{"a", "b"}},
	"ms":               {Code: "ms", Type: "MULTI_SELECT", Options: []string{"a", "b"}},
	"us":               {Code: "us", Type: "USER_SELECT"},
	"orgs":             {Code: "orgs", Type: "ORGANIZATION_SELECT"},
	"gs":               {Code: "gs", Type: "GROUP_SELECT"},
	"file":             {Code: "file", Type: "FILE"},
	"table":            {Code: "table", Type: "SUBTABLE"},
	"inner":            {Code: "inner", Type: "SINGLE_LINE_TEXT", InSubtable: true},
	"Assignee":         {Code: "Assignee", Type: "STATUS_ASSIGNEE"},
	"Categories":       {Code: "Categories", Type: "CATEGORY"},
}

// A translation case: the bodies of include (or-ed), and either the KQL
// condition, ALWAYS, NEVER, or "error: <part of the message>".
type translationCase struct {
	name   string
	bodies []string
	want   string
}

func tc(name, want string, bodies ...string) translationCase {
	return translationCase{name, bodies, want}
}

var translationCases = []translationCase{
	// text: = != in, no ordering
	tc("text eq", `text = "a\"b"`, `input.record.text == "a\"b"`),
	tc("text ne", `(text != "a") or (text = "")`, `input.record.text != "a"`),
	tc("text in", `text in ("a", "b")`, `input.record.text in {"b", "a"}`),
	tc("text eq empty", `text = ""`, `input.record.text == ""`),
	tc("text ne empty", `text != ""`, `input.record.text != ""`),
	tc("text lt", "error: cannot compare a SINGLE_LINE_TEXT field with <", `input.record.text < "b"`),
	tc("text eq number", "error: values are strings in input.record, the rule compares with a number", `input.record.text == 1`),
	tc("text eq null", `error: an unset field reads as ""`, `input.record.text == null`),
	tc("text eq bool", "error: compares with a boolean", `input.record.text == true`),
	tc("link eq", `link = "https://example.com/"`, `input.record.link == "https://example.com/"`),
	tc("text unicode and escapes", `text = "顧客\\名\t"`, `input.record.text == "顧客\\名\t"`),

	// drop-down, radio button, status: = and != become in and not in
	tc("drop-down eq option", `dd in ("a")`, `input.record.dd == "a"`),
	tc("drop-down eq option with quote", `dd in ("x\"y")`, `input.record.dd == "x\"y"`),
	tc("drop-down eq non-option", "NEVER", `input.record.dd == "zzz"`),
	tc("drop-down eq option case differs", "NEVER", `input.record.dd == "A"`),
	tc("drop-down ne option", `(dd not in ("a")) or (dd in (""))`, `input.record.dd != "a"`),
	tc("drop-down ne non-option", "ALWAYS", `input.record.dd != "zzz"`),
	tc("drop-down eq unset", `dd in ("")`, `input.record.dd == ""`),
	tc("drop-down ne unset", `dd not in ("")`, `input.record.dd != ""`),
	tc("drop-down in mixed", `dd in ("", "a")`, `input.record.dd in {"a", "zzz", ""}`),
	tc("drop-down in non-options", "NEVER", `input.record.dd in {"zzz", "yyy"}`),
	tc("drop-down in empty collection", "NEVER", `input.record.dd in set()`),
	tc("drop-down gt", "error: cannot compare a DROP_DOWN field with <", `input.record.dd > "a"`),
	tc("radio eq", `radio in ("2")`, `input.record.radio == "2"`),
	tc("radio eq number", "error: values are strings", `input.record.radio == 2`),
	tc("status eq", `Status in ("Draft")`, `input.record.Status == "Draft"`),
	tc("status ne", `(Status not in ("Draft")) or (Status in (""))`, `input.record.Status != "Draft"`),
	tc("status eq unknown state", "NEVER", `input.record.Status == "Gone"`),
	tc("drop-down in with a number", "error: values are strings", `input.record.dd in {"a", 1}`),

	// numbers: bare, ordering, the unset value is null
	tc("number eq", `num = 5`, `input.record.num == 5`),
	tc("number eq decimal", `num = 1.5`, `input.record.num == 1.5`),
	tc("number ne", `(num != 5) or (num = "")`, `input.record.num != 5`),
	tc("number lt", `(num < 1.5) or (num = "")`, `input.record.num < 1.5`),
	tc("number lte negative", `(num <= -3) or (num = "")`, `input.record.num <= -3`),
	tc("number gt", `num > 0`, `input.record.num > 0`),
	tc("number gte", `num >= 100`, `input.record.num >= 100`),
	tc("number mirrored", `(num < 10) or (num = "")`, `10 > input.record.num`),
	tc("number in", `num in (1, 2)`, `input.record.num in {2, 1}`),
	tc("number in with null", `(num = "") or (num in (1))`, `input.record.num in {1, null}`),
	tc("number eq null", `num = ""`, `input.record.num == null`),
	tc("number ne null", `num != ""`, `input.record.num != null`),
	tc("number lt null", "NEVER", `input.record.num < null`),
	tc("number lte null", `num = ""`, `input.record.num <= null`),
	tc("number gt null", `num != ""`, `input.record.num > null`),
	tc("number gte null", "ALWAYS", `input.record.num >= null`),
	tc("number eq string", "error: NUMBER values are numbers in input.record, the rule compares with a string", `input.record.num == "5"`),
	tc("number more precise than float64", `num >= 1000.00000000000000001`, `input.record.num >= 1000.00000000000000001`),
	tc("number tiny decimal", `(num < 0.30000000000000001) or (num = "")`, `input.record.num < 0.30000000000000001`),
	tc("number with exponent", `num > 150`, `input.record.num > 1.5e2`),
	tc("number negative decimal", `(num <= -0.5) or (num = "")`, `input.record.num <= -0.50`),
	tc("number absurd exponent", "error: 1e999", `input.record.num > 1e999`),
	tc("number beyond float64", `num = 1152921504606846977`, `input.record.num == 1152921504606846977`),
	tc("number exponent", `num = 1000`, `input.record.num == 1e3`),
	tc("calc gt", `calc > 1`, `input.record.calc > 1`),

	// $id and record number
	tc("$id gt", `$id > 10`, `input.record["$id"] > 10`),
	tc("$id ne", `$id != 3`, `input.record["$id"] != 3`),
	tc("$id in", `$id in (1, 2)`, `input.record["$id"] in [1, 2, 2]`),
	tc("$id eq null", "NEVER", `input.record["$id"] == null`),
	tc("$id eq string", "error: values are numbers", `input.record["$id"] == "3"`),
	tc("record number eq", `Record_number = 12`, `input.record.Record_number == "12"`),
	tc("record number in", `Record_number in (1, 2)`, `input.record.Record_number in ["1", "2"]`),
	tc("record number ne", `Record_number != 7`, `input.record.Record_number != "7"`),
	tc("record number with app code", "error: digit strings", `input.record.Record_number == "APP-12"`),
	tc("record number as number", "error: values are strings", `input.record.Record_number == 12`),
	tc("record number ordered", "error: cannot compare a RECORD_NUMBER field", `input.record.Record_number < "9"`),

	// dates and times: canonical forms only
	tc("date eq", `date = "2024-01-02"`, `input.record.date == "2024-01-02"`),
	tc("date ne", `(date != "2024-01-02") or (date = "")`, `input.record.date != "2024-01-02"`),
	tc("date lt", `(date < "2024-01-02") or (date = "")`, `input.record.date < "2024-01-02"`),
	tc("date lte", `(date <= "2024-01-02") or (date = "")`, `input.record.date <= "2024-01-02"`),
	tc("date gt", `date > "2024-01-02"`, `input.record.date > "2024-01-02"`),
	tc("date gte", `date >= "2024-01-02"`, `input.record.date >= "2024-01-02"`),
	tc("date in becomes or", `(date = "2024-01-02") or (date = "2024-01-03")`, `input.record.date in {"2024-01-03", "2024-01-02"}`),
	tc("date in with unset", `(date = "") or (date = "2024-01-02")`, `input.record.date in ["", "2024-01-02"]`),
	tc("date eq unset", `date = ""`, `input.record.date == ""`),
	tc("date lt unset", "NEVER", `input.record.date < ""`),
	tc("date gte unset", "ALWAYS", `input.record.date >= ""`),
	tc("date gt unset", `date != ""`, `input.record.date > ""`),
	tc("date short form", `error: DATE values must look like "2006-01-02"`, `input.record.date == "2024-1-2"`),
	tc("date impossible", "error: DATE values must look like", `input.record.date == "2024-02-30"`),
	tc("time lt", `(time < "09:30") or (time = "")`, `input.record.time < "09:30"`),
	tc("time short form", "error: TIME values must look like", `input.record.time < "9:30"`),
	tc("datetime gte", `dt >= "2024-01-02T03:04:00Z"`, `input.record.dt >= "2024-01-02T03:04:00Z"`),
	tc("datetime with seconds", "error: UTC minutes", `input.record.dt >= "2024-01-02T03:04:05Z"`),
	tc("datetime with offset", "error: UTC minutes", `input.record.dt >= "2024-01-02T12:04:00+09:00"`),
	tc("created time lt", `Created_datetime < "2024-01-02T03:04:00Z"`, `input.record.Created_datetime < "2024-01-02T03:04:00Z"`),
	tc("created time ne", `Created_datetime != "2024-01-02T03:04:00Z"`, `input.record.Created_datetime != "2024-01-02T03:04:00Z"`),
	tc("created time eq unset", "NEVER", `input.record.Created_datetime == ""`),
	tc("created time ne unset", "ALWAYS", `input.record.Created_datetime != ""`),

	// creator and modifier: one user code
	tc("creator eq", `Created_by in ("alice")`, `input.record.Created_by == "alice"`),
	tc("modifier ne", `Updated_by not in ("alice")`, `input.record.Updated_by != "alice"`),
	tc("creator in", `Created_by in ("alice", "bob")`, `input.record.Created_by in {"alice", "bob"}`),

	// fields that hold several values, or none a query can use
	tc("check box", "error: a CHECK_BOX field cannot appear in a row rule", `input.record.cb == "a"`),
	tc("check box membership", "error: rhs of", `"a" in input.record.cb`),
	tc("multi-select", "error: a MULTI_SELECT field cannot appear", `input.record.ms == "a"`),
	tc("user select", "error: a USER_SELECT field cannot appear", `input.record.us == "alice"`),
	tc("organization select", "error: a ORGANIZATION_SELECT field cannot appear", `input.record.orgs == "x"`),
	tc("group select", "error: a GROUP_SELECT field cannot appear", `input.record.gs == "x"`),
	tc("file", "error: a FILE field cannot appear", `input.record.file == "x"`),
	tc("subtable", "error: a SUBTABLE field cannot appear", `input.record.table == "x"`),
	tc("field in a subtable", "error: inside a table", `input.record.inner == "x"`),
	tc("text area", "error: a MULTI_LINE_TEXT field cannot appear", `input.record.area == "x"`),
	tc("rich text", "error: a RICH_TEXT field cannot appear", `input.record.rich == "x"`),
	tc("assignee", "error: a STATUS_ASSIGNEE field cannot appear", `input.record.Assignee == "x"`),
	tc("category", "error: a CATEGORY field cannot appear", `input.record.Categories == "x"`),

	// outside the form or the fragment
	tc("unknown field", "error: no such field", `input.record.nope == 1`),
	tc("nested field", "error: invalid ref operand", `input.record.text.sub == 1`),
	tc("field against field", "error: reference to field", `input.record.text == input.record.link`),
	tc("negation", `error: "not" not permitted`, `not input.record.text == "a"`),
	tc("startswith", "error: invalid builtin `startswith`", `startswith(input.record.text, "a")`),
	tc("iterating fields", "error: iterates over the fields", `some k; input.record[k] == "x"`),
	tc("numeric key", "error: field codes are strings", `input.record[1] == "x"`),
	tc("comparing with an array", "error: existence of field", `input.record.text == ["a"]`),

	// and, or, and their simplification
	tc("and", `(num > 1) and (dd in ("a"))`, `input.record.num > 1; input.record.dd == "a"`),
	tc("or of ands", `((num > 1) and (dd in ("a"))) or (text = "b")`,
		`input.record.num > 1; input.record.dd == "a"`, `input.record.text == "b"`),
	tc("false branch of an or drops out", `num > 1`, `input.record.dd == "zzz"`, `input.record.num > 1`),
	tc("true term of an and drops out", `num > 1`, `input.record.dd != "zzz"; input.record.num > 1`),
	tc("false term makes an and false", "NEVER", `input.record.dd == "zzz"; input.record.num > 1`),
	tc("true branch makes an or true", "ALWAYS", `input.record.dd != "zzz"`, `input.record.num > 1`),
	tc("unconditional", "ALWAYS", `true`),
	tc("no rule", "NEVER"),
	tc("unset attribute", "NEVER", `input.record.text == input.user.attrs.missing`),
	tc("value from the user", `text = "u@example.com"`, `input.record.text == input.user.attrs.email`),
	tc("every unrolled", `((dd not in ("a")) or (dd in (""))) and ((dd not in ("b")) or (dd in ("")))`, `every v in ["a", "b"] { input.record.dd != v }`),
	tc("iteration over a known set", `(text = "a") or (text = "b")`, `some v in ["a", "b"]; input.record.text == v`),
}

// translationPolicy has one group of include rules per case, selected by
// input.user.attrs.case.
func translationPolicy(cases []translationCase) string {
	var b strings.Builder
	b.WriteString("package kgate\n\nallow := true\n\n")
	for _, c := range cases {
		for _, body := range c.bodies {
			fmt.Fprintf(&b, "include if {\n\tinput.user.attrs.case == %q\n\t%s\n}\n\n", c.name, body)
		}
	}
	return b.String()
}

func caseUser(name string) User {
	return User{Sub: "t", Attrs: map[string]any{"case": name, "email": "u@example.com"}}
}

func TestRowRuleTranslatesEachOperatorPerFieldType(t *testing.T) {
	e := openPolicy(t, translationPolicy(translationCases))
	ctx := context.Background()
	seen := map[string]bool{}
	for _, c := range translationCases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			rr, err := e.RowRule(ctx, Input{User: caseUser(c.name), App: App{ID: "1"}, Action: "read"}, sinkForm)
			if want, ok := strings.CutPrefix(c.want, "error: "); ok {
				if err == nil {
					t.Fatalf("got %s, want an error containing %q", describe(rr), want)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not contain %q", err, want)
				}
				if !rr.Never || rr.Cond != nil {
					t.Fatalf("a failed rule must come back as Never, got %s", describe(rr))
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := describe(rr); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
			if rr.Cond != nil {
				// what kintone gets parses back to the same condition
				q, err := kql.Parse(kql.Format(rr.Cond))
				if err != nil || kql.Format(q.Where) != kql.Format(rr.Cond) {
					t.Fatalf("%s does not round-trip: %v", kql.Format(rr.Cond), err)
				}
			}
		})
	}
}

func describe(rr *RowRule) string {
	switch {
	case rr == nil:
		return "<nil>"
	case rr.Never:
		return "NEVER"
	case rr.Cond == nil:
		return "ALWAYS"
	}
	return kql.Format(rr.Cond)
}

func TestRowRuleRejectsFieldNamesFromInput(t *testing.T) {
	e := openPolicy(t, `package kgate
include if input.record[input.user.attrs.col] == "x"
`)
	form := map[string]kql.Field{"a": {Code: "a", Type: "SINGLE_LINE_TEXT"}}
	for _, col := range []string{
		`a) or (1`,
		`a = "x" or $id > 0`,
		`a" or "1" = "1`,
		"a\nor 1",
		`$id`, // a real system field, but not a text field: caught by its type
		"",
		"__local0__",
	} {
		t.Run(col, func(t *testing.T) {
			rr, err := e.RowRule(context.Background(), Input{User: User{Attrs: map[string]any{"col": col}}, Action: "read"}, form)
			if err == nil {
				t.Fatalf("field %q: got %s, want an error", col, describe(rr))
			}
			if !rr.Never {
				t.Fatalf("field %q: a rejected rule must deny", col)
			}
		})
	}
	rr, err := e.RowRule(context.Background(), Input{User: User{Attrs: map[string]any{"col": "a"}}, Action: "read"}, form)
	if err != nil || describe(rr) != `a = "x"` {
		t.Fatalf("an existing field: got %s, %v", describe(rr), err)
	}
}

func TestRowRuleReportsTheFieldsItReads(t *testing.T) {
	e := openPolicy(t, `package kgate
include if { input.record.num > 1; input.record.dd != "zzz" }
include if input.record.text == "a"
`)
	rr, err := e.RowRule(context.Background(), Input{Action: "read"}, sinkForm)
	if err != nil {
		t.Fatal(err)
	}
	// dd simplified away from the condition, but include still reads it
	if got := strings.Join(rr.Fields, ","); got != "dd,num,text" {
		t.Fatalf("fields %s, want dd,num,text", got)
	}
	if got := describe(rr); got != `(num > 1) or (text = "a")` {
		t.Fatalf("got %s", got)
	}
}

func TestTranslationErrorsAreTyped(t *testing.T) {
	e := openPolicy(t, `package kgate
include if input.record.nope == 1
`)
	_, err := e.RowRule(context.Background(), Input{Action: "read"}, sinkForm)
	var te *TranslationError
	if !errors.As(err, &te) || te.Field != "nope" {
		t.Fatalf("got %v, want a TranslationError on field nope", err)
	}
}

// The table above is the specification; this keeps it honest about
// covering every type kintone has.
func TestTranslationCasesCoverEveryFieldType(t *testing.T) {
	used := map[string]bool{}
	for _, c := range translationCases {
		for _, b := range c.bodies {
			for code, f := range sinkForm {
				if strings.Contains(b, "input.record."+code+" ") || strings.Contains(b, `input.record["`+code+`"]`) ||
					strings.Contains(b, "input.record."+code+"\n") || strings.HasSuffix(b, "input.record."+code) {
					used[f.Type] = true
				}
			}
		}
	}
	var missing []string
	for _, f := range sinkForm {
		if !used[f.Type] {
			missing = append(missing, f.Type)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no translation case for %v", missing)
	}
}
