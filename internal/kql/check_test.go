package kql

import (
	"strings"
	"testing"
)

// referenceOps is the reference's §4.2 operator table, written out again
// here (not derived from typeRules) so the test pins the table down.
// "empty" stands for is empty / is not empty.
var referenceOps = []struct{ typ, ops string }{
	{"RECORD_NUMBER", "= != < > <= >= in"},
	{"__ID__", "= != < > <= >= in"},
	{"NUMBER", "= != < > <= >= in"},
	{"CALC", "= != < > <= >= in"},
	{"SINGLE_LINE_TEXT", "= != in like"},
	{"LINK", "= != in like"},
	{"MULTI_LINE_TEXT", "like empty"},
	{"RICH_TEXT", "like empty"}, // is empty: uncertain in the reference; allowed (see doc.go)
	{"CHECK_BOX", "in"},
	{"RADIO_BUTTON", "in"},
	{"DROP_DOWN", "in"},
	{"MULTI_SELECT", "in"},
	{"STATUS", "= != in"},
	{"DATE", "= != < > <= >="},
	{"DATETIME", "= != < > <= >="},
	{"CREATED_TIME", "= != < > <= >="},
	{"UPDATED_TIME", "= != < > <= >="},
	{"TIME", "= != < > <= >="},
	{"USER_SELECT", "in"},
	{"CREATOR", "in"},
	{"MODIFIER", "in"},
	{"ORGANIZATION_SELECT", "in"},
	{"GROUP_SELECT", "in"},
	{"FILE", "like empty"},
	{"STATUS_ASSIGNEE", "in"},
	{"CATEGORY", "in"},
	{"SUBTABLE", ""},
	{"REFERENCE_TABLE", ""},
	{"LABEL", ""},
	{"NO_SUCH_TYPE", ""},
}

// allowedBy expands a referenceOps entry: "in" covers in and not in, "like"
// like and not like, "empty" both is empty forms.
func allowedBy(ops string, op Op) bool {
	for _, w := range strings.Fields(ops) {
		switch {
		case w == op.String(),
			w == "in" && op == NotIn,
			w == "like" && op == NotLike,
			w == "empty" && (op == IsEmpty || op == IsNotEmpty):
			return true
		}
	}
	return false
}

// predicate writes "f op value" with a value that is an option of every
// option field in the tests ("A").
func predicate(field string, op Op) string {
	switch op {
	case In, NotIn:
		return field + " " + op.String() + ` ("A")`
	case IsEmpty, IsNotEmpty:
		return field + " " + op.String()
	}
	return field + " " + op.String() + ` "A"`
}

var allOps = []Op{Eq, Ne, Lt, Gt, Le, Ge, In, NotIn, Like, NotLike, IsEmpty, IsNotEmpty}

func TestCheckOperatorByFieldType(t *testing.T) {
	for _, row := range referenceOps {
		for _, op := range allOps {
			allowed := allowedBy(row.ops, op)
			verdict := "refused"
			if allowed {
				verdict = "allowed"
			}
			t.Run(row.typ+"/"+op.String()+"/"+verdict, func(t *testing.T) {
				field := "f"
				if row.typ == "__ID__" {
					field = "$id"
				}
				fields := map[string]Field{"f": {Code: "f", Type: row.typ, Options: []string{"A", "B"}}}
				err := Check(mustParse(t, predicate(field, op)), fields)
				if allowed {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				e := wantCode(t, err, "GAIA_IQ03")
				if e.Key != "" || e.Details("en") != nil {
					t.Errorf("GAIA_IQ03 has no details, got key %q", e.Key)
				}
				contains(t, e.Message("ja"), field+"フィールドのフィールドタイプには演算子"+op.String()+"を使用できません。")
				contains(t, e.Message("en"), "operator "+op.String())
			})
		}
	}
}

// referenceFuncs lists, per type, the function classes the reference's
// table allows: date (TODAY … NEXT_YEAR, FROM_TODAY), now, user
// (LOGINUSER), org (PRIMARY_ORGANIZATION).
var referenceFuncs = map[string]string{
	"DATE":                "date",
	"DATETIME":            "date now",
	"CREATED_TIME":        "date now",
	"UPDATED_TIME":        "date now",
	"USER_SELECT":         "user",
	"CREATOR":             "user",
	"MODIFIER":            "user",
	"STATUS_ASSIGNEE":     "user",
	"ORGANIZATION_SELECT": "org",
}

var functionsByClass = []struct{ class, call string }{
	{"user", "LOGINUSER()"},
	{"org", "PRIMARY_ORGANIZATION()"},
	{"now", "NOW()"},
	{"date", "TODAY()"},
	{"date", "YESTERDAY()"},
	{"date", "TOMORROW()"},
	{"date", "FROM_TODAY(3, DAYS)"},
	{"date", "THIS_WEEK()"},
	{"date", "LAST_WEEK(MONDAY)"},
	{"date", "NEXT_WEEK()"},
	{"date", "THIS_MONTH()"},
	{"date", "LAST_MONTH(LAST)"},
	{"date", "NEXT_MONTH(15)"},
	{"date", "THIS_YEAR()"},
	{"date", "LAST_YEAR()"},
	{"date", "NEXT_YEAR()"},
}

// A function on a field type that does not take it is GAIA_IQ03 (our
// choice: the reference gives no code; it is the "not for this field type"
// code kintone uses for operators).
func TestCheckFunctionByFieldType(t *testing.T) {
	for _, row := range referenceOps {
		// A function needs an operator that takes a value: = if the type
		// allows it, else in. Types with neither cannot hold a function.
		var op string
		switch {
		case allowedBy(row.ops, Eq):
			op = "= "
		case allowedBy(row.ops, In):
			op = "in "
		default:
			continue
		}
		for _, f := range functionsByClass {
			allowed := strings.Contains(referenceFuncs[row.typ], f.class)
			verdict := "refused"
			if allowed {
				verdict = "allowed"
			}
			t.Run(row.typ+"/"+f.call+"/"+verdict, func(t *testing.T) {
				field := "f"
				if row.typ == "__ID__" {
					field = "$id"
				}
				q := field + " " + op + f.call
				if op == "in " {
					q = field + " in (" + f.call + ")"
				}
				fields := map[string]Field{"f": {Code: "f", Type: row.typ, Options: []string{"A"}}}
				err := Check(mustParse(t, q), fields)
				if allowed {
					if err != nil {
						t.Fatalf("%s refused: %v", q, err)
					}
					return
				}
				e := wantCode(t, err, "GAIA_IQ03")
				contains(t, e.Message("en"), "function "+f.call[:strings.IndexByte(f.call, '(')]+"()")
			})
		}
	}
}

func TestCheckFunctionArguments(t *testing.T) {
	tests := []struct {
		call string
		code string // "" = valid
	}{
		{"TODAY()", ""},
		{"FROM_TODAY(5, DAYS)", ""},
		{"FROM_TODAY(-5, WEEKS)", ""},
		{"FROM_TODAY(0, MONTHS)", ""},
		{"FROM_TODAY(100, YEARS)", ""},
		{"from_today(1, days)", ""},
		{"THIS_WEEK(SUNDAY)", ""},
		{"THIS_WEEK(MONDAY)", ""},
		{"THIS_WEEK(TUESDAY)", ""},
		{"LAST_WEEK(WEDNESDAY)", ""},
		{"LAST_WEEK(THURSDAY)", ""},
		{"NEXT_WEEK(FRIDAY)", ""},
		{"NEXT_WEEK(saturday)", ""},
		{"THIS_MONTH(1)", ""},
		{"THIS_MONTH(31)", ""},
		{"LAST_MONTH(LAST)", ""},
		{"NEXT_MONTH(07)", ""},

		{"TODAY(1)", "GAIA_IL08"},
		{"YESTERDAY(DAYS)", "GAIA_IL08"},
		{"TOMORROW(1)", "GAIA_IL08"},
		{"NOW(1)", "GAIA_IL08"},
		{"THIS_YEAR(1)", "GAIA_IL08"},
		{"LAST_YEAR(LAST)", "GAIA_IL08"},
		{"NEXT_YEAR(1)", "GAIA_IL08"},
		{"FROM_TODAY()", "GAIA_IL08"},
		{"FROM_TODAY(1)", "GAIA_IL08"},
		{"FROM_TODAY(1, DAYS, 2)", "GAIA_IL08"},
		{"THIS_WEEK(MONDAY, TUESDAY)", "GAIA_IL08"},
		{"THIS_MONTH(1, 2)", "GAIA_IL08"},

		{"FROM_TODAY(DAYS, 1)", "GAIA_IQ23"},
		{"FROM_TODAY(X, DAYS)", "GAIA_IQ23"},
		{"FROM_TODAY(1, HOURS)", "GAIA_IQ25"},
		{"FROM_TODAY(1, DAY)", "GAIA_IQ25"},
		{"FROM_TODAY(1, 2)", "GAIA_IQ25"},
		{"THIS_WEEK(FUNDAY)", "GAIA_IQ23"},
		{"LAST_WEEK(1)", "GAIA_IQ23"},
		{"NEXT_WEEK(MON)", "GAIA_IQ23"},
		{"THIS_MONTH(0)", "GAIA_IQ23"},
		{"THIS_MONTH(32)", "GAIA_IQ23"},
		{"LAST_MONTH(-1)", "GAIA_IQ23"},
		{"NEXT_MONTH(FIRST)", "GAIA_IQ23"},
		{"THIS_MONTH(99999999999999999999)", "GAIA_IQ23"},
	}
	fields := map[string]Field{"d": {Code: "d", Type: "DATETIME"}}
	for _, tt := range tests {
		name := tt.call + "/valid"
		if tt.code != "" {
			name = tt.call + "/" + tt.code
		}
		t.Run(name, func(t *testing.T) {
			err := Check(mustParse(t, "d = "+tt.call), fields)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := wantCode(t, err, tt.code)
			if e.Message("ja") == "" || e.Message("en") == "" {
				t.Fatal("missing message")
			}
		})
	}
}

func TestCheckFunctionArgumentMessages(t *testing.T) {
	fields := map[string]Field{"d": {Code: "d", Type: "DATE"}}
	check := func(q string) *Error { return asError(t, Check(mustParse(t, q), fields)) }

	e := check("d = THIS_MONTH(32)")
	contains(t, e.Message("ja"), "指定した日にち（32）は無効です。1から31までの整数で指定します。")
	contains(t, e.Message("en"), "(32)")
	e = check("d = FROM_TODAY(1, HOURS)")
	if want := "FROM_TODAY()の第2引数には、「DAYS」「WEEKS」「MONTHS」「YEARS」のいずれかを指定します。"; e.Message("ja") != want {
		t.Errorf("IQ25 ja = %q", e.Message("ja"))
	}
	e = check("d = TODAY(1)")
	contains(t, e.Message("ja"), "クエリの指定が不正です。")
	contains(t, e.Message("en"), "TODAY() takes no arguments")
	e = check("d = THIS_WEEK(X)")
	contains(t, e.Message("en"), "day of the week (X)")
}

func TestCheckFieldsExist(t *testing.T) {
	fields := map[string]Field{
		"name":   {Code: "name", Type: "SINGLE_LINE_TEXT"},
		"rel":    {Code: "rel", Type: "REFERENCE_TABLE"},
		"rel.品名": {Code: "rel.品名", Type: "SINGLE_LINE_TEXT"},
	}
	tests := []struct {
		name, query, code, missing string
	}{
		{"known field", `name = "x"`, "", ""},
		{"$id needs no entry", `$id > 1`, "", ""},
		{"unknown field", `xyz = "a"`, "GAIA_IQ11", "xyz"},
		{"unknown field deep in the condition", `name = "x" and (name = "y" or 顧客 in ("a"))`, "GAIA_IQ11", "顧客"},
		{"field codes are case-sensitive", `Name = "x"`, "GAIA_IQ11", "Name"},
		{"related field by rel.field", `rel.品名 in ("x")`, "", ""},
		{"related $id of a related-records table", `rel.$id in (1)`, "", ""},
		{"related $id of something else", `name.$id in (1)`, "GAIA_IQ11", "name.$id"},
		{"table.code is not a field", `tbl.name in ("x")`, "GAIA_IQ11", "tbl.name"},
		{"unknown order by key", `order by nope desc`, "GAIA_IQ11", "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(mustParse(t, tt.query), fields)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantCode(t, err, tt.code)
			if got, want := e.Message("en"), "Specified field ("+tt.missing+") not found."; got != want {
				t.Errorf("en = %q, want %q", got, want)
			}
			if got, want := e.Message("ja"), "指定されたフィールド（"+tt.missing+"）が見つかりません。"; got != want {
				t.Errorf("ja = %q, want %q", got, want)
			}
		})
	}
}

func TestCheckOptions(t *testing.T) {
	fields := map[string]Field{
		"dd":  {Code: "dd", Type: "DROP_DOWN", Options: []string{"A", `sample"1"`, "1"}},
		"cb":  {Code: "cb", Type: "CHECK_BOX", Options: []string{"A"}},
		"rb":  {Code: "rb", Type: "RADIO_BUTTON", Options: []string{"A"}},
		"ms":  {Code: "ms", Type: "MULTI_SELECT", Options: []string{"A"}},
		"sub": {Code: "sub", Type: "DROP_DOWN", Options: []string{"A"}, InSubtable: true},
		"txt": {Code: "txt", Type: "SINGLE_LINE_TEXT"},
	}
	tests := []struct{ name, query, code string }{
		{"existing option", `dd in ("A")`, ""},
		{"escaped option", `dd in ("sample\"1\"")`, ""},
		{"number matching an option", `dd in (1)`, ""},
		{"empty string finds unselected records", `dd in ("")`, ""},
		{"not in with an existing option", `cb not in ("A")`, ""},
		{"missing option", `dd in ("Z")`, "GAIA_IQ10"},
		{"one missing option among several", `ms in ("A", "Z")`, "GAIA_IQ10"},
		{"options are case-sensitive", `rb in ("a")`, "GAIA_IQ10"},
		{"missing option is checked before the operator", `dd = "Z"`, "GAIA_IQ10"},
		{"existing option with a refused operator", `dd = "A"`, "GAIA_IQ03"},
		{"missing option in a table field before IQ07", `sub = "Z"`, "GAIA_IQ10"},
		{"text fields have no options", `txt in ("anything")`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(mustParse(t, tt.query), fields)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
	e := asError(t, Check(mustParse(t, `dd in ("Z")`), fields))
	contains(t, e.Message("en"), `"Z"`)
	contains(t, e.Message("ja"), "「Z」")
}

func TestCheckSubtableAndRelatedFields(t *testing.T) {
	fields := map[string]Field{
		"品名":       {Code: "品名", Type: "SINGLE_LINE_TEXT", InSubtable: true},
		"数量":       {Code: "数量", Type: "NUMBER", InSubtable: true},
		"備考":       {Code: "備考", Type: "MULTI_LINE_TEXT", InSubtable: true},
		"rel":      {Code: "rel", Type: "REFERENCE_TABLE"},
		"rel.code": {Code: "rel.code", Type: "SINGLE_LINE_TEXT"},
		"rel.num":  {Code: "rel.num", Type: "NUMBER"},
	}
	tests := []struct{ name, query, code string }{
		{"= on a table field", `品名 = "x"`, "GAIA_IQ07"},
		{"!= on a table field", `数量 != 1`, "GAIA_IQ07"},
		{"in on a table field", `品名 in ("x")`, ""},
		{"not in on a table field", `品名 not in ("x")`, ""},
		{"comparison on a table number", `数量 > 1`, ""},
		{"like on a table text", `品名 like "x"`, ""},
		{"is empty on a table multi-line text", `備考 is empty`, ""},
		{"operator the type refuses, in a table", `備考 in ("x")`, "GAIA_IQ03"},
		{"= on a related field", `rel.code = "x"`, "GAIA_IQ03"},
		{"!= on a related field", `rel.num != 1`, "GAIA_IQ03"},
		{"in on a related field", `rel.code in ("x")`, ""},
		{"comparison on a related number", `rel.num >= 1`, ""},
		{"= on rel.$id", `rel.$id = 1`, "GAIA_IQ03"},
		{"in on rel.$id", `rel.$id in (1)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(mustParse(t, tt.query), fields)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
	e := asError(t, Check(mustParse(t, `数量 = 1`), fields))
	if want := "レコードを読み込めません。テーブルに設定している場合、数量フィールドのフィールドタイプには、演算子=を使用できません。"; e.Message("ja") != want {
		t.Errorf("IQ07 ja = %q", e.Message("ja"))
	}
}

func TestCheckOrderBy(t *testing.T) {
	fields := map[string]Field{"in_table": {Code: "in_table", Type: "NUMBER", InSubtable: true}, "rel.x": {Code: "rel.x", Type: "NUMBER"}}
	sortable := []string{"RECORD_NUMBER", "NUMBER", "CALC", "SINGLE_LINE_TEXT", "LINK", "MULTI_LINE_TEXT", "RICH_TEXT",
		"RADIO_BUTTON", "DROP_DOWN", "STATUS", "DATE", "DATETIME", "TIME", "CREATED_TIME", "UPDATED_TIME", "CREATOR", "MODIFIER"}
	unsortable := []string{"CHECK_BOX", "MULTI_SELECT", "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "FILE",
		"STATUS_ASSIGNEE", "CATEGORY", "SUBTABLE", "REFERENCE_TABLE"}
	for _, typ := range sortable {
		t.Run(typ+"/sortable", func(t *testing.T) {
			fields["f"] = Field{Code: "f", Type: typ}
			if err := Check(mustParse(t, "order by f desc"), fields); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, typ := range unsortable {
		t.Run(typ+"/not sortable", func(t *testing.T) {
			fields["f"] = Field{Code: "f", Type: typ}
			e := wantCode(t, Check(mustParse(t, "order by f desc"), fields), "GAIA_IQ03")
			contains(t, e.Message("en"), "order by")
		})
	}
	t.Run("$id is sortable", func(t *testing.T) {
		if err := Check(mustParse(t, "order by $id asc"), fields); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("table field is not sortable", func(t *testing.T) {
		wantCode(t, Check(mustParse(t, "order by in_table"), fields), "GAIA_IQ03")
	})
	t.Run("related field is not sortable", func(t *testing.T) {
		wantCode(t, Check(mustParse(t, "order by rel.x"), fields), "GAIA_IQ03")
	})
}

func TestCheckLimitAndOffset(t *testing.T) {
	tests := []struct {
		name  string
		q     *Query
		code  string
		en    string
		ja    string
		nodet bool
	}{
		{name: "limit 500", q: &Query{Limit: intp(500)}},
		{name: "limit 0", q: &Query{Limit: intp(0)}},
		{name: "offset 10000", q: &Query{Offset: intp(10000)}},
		{name: "limit 501", q: &Query{Limit: intp(501)}, code: "GAIA_QU01",
			en: "limit must be 500 or less.", ja: "limit には 500 以下の値を指定してください。"},
		{name: "huge limit", q: mustParse(t, "limit 99999999999999999999"), code: "GAIA_QU01"},
		{name: "offset 10001", q: &Query{Offset: intp(10001)}, code: "GAIA_QU02",
			en: "offset must be 10,000 or less.", ja: "offset には 10,000 以下の値を指定してください。"},
		{name: "negative limit", q: &Query{Limit: intp(-1)}, code: "CB_VA01"},
		{name: "negative offset", q: &Query{Offset: intp(-1)}, code: "CB_VA01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.q, nil)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := wantCode(t, err, tt.code)
			if tt.en != "" && (e.Message("en") != tt.en || e.Message("ja") != tt.ja) {
				t.Errorf("messages %q / %q", e.Message("en"), e.Message("ja"))
			}
		})
	}
}

func TestCheckReportsTheFirstProblemInOrder(t *testing.T) {
	fields := map[string]Field{"a": {Code: "a", Type: "NUMBER"}, "cb": {Code: "cb", Type: "CHECK_BOX"}}
	tests := []struct{ name, query, code string }{
		{"condition before order by", `zz = 1 order by cb`, "GAIA_IQ11"},
		{"order by before limit", `a = 1 order by cb limit 900`, "GAIA_IQ03"},
		{"limit before offset", `limit 900 offset 20000`, "GAIA_QU01"},
		{"left term before right term", `a like "x" or zz = 1`, "GAIA_IQ03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, Check(mustParse(t, tt.query), fields), tt.code)
		})
	}
}
