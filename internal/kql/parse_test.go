package kql

import (
	"reflect"
	"testing"
)

func TestParseBuildsTheAST(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Query
	}{
		{"empty query has nothing", "", &Query{}},
		{"whitespace only is an empty query", " \t\r\n　", &Query{}},
		{"equality with a string", `a = "x"`, &Query{Where: cond("a", Eq, str("x"))}},
		{"not equal", `a != "x"`, &Query{Where: cond("a", Ne, str("x"))}},
		{"less than", `a < 1`, &Query{Where: cond("a", Lt, num("1"))}},
		{"greater than", `a > 1`, &Query{Where: cond("a", Gt, num("1"))}},
		{"less or equal", `a <= 1`, &Query{Where: cond("a", Le, num("1"))}},
		{"greater or equal", `a >= 1`, &Query{Where: cond("a", Ge, num("1"))}},
		{"in with one value", `a in ("x")`, &Query{Where: cond("a", In, str("x"))}},
		{"in with several values", `a in ("x", 2, TODAY())`, &Query{Where: cond("a", In, str("x"), num("2"), fn("TODAY"))}},
		{"not in", `a not in ("x","y")`, &Query{Where: cond("a", NotIn, str("x"), str("y"))}},
		{"like", `a like "x"`, &Query{Where: cond("a", Like, str("x"))}},
		{"not like", `a not like "x"`, &Query{Where: cond("a", NotLike, str("x"))}},
		{"is empty", `a is empty`, &Query{Where: cond("a", IsEmpty)}},
		{"is not empty", `a is not empty`, &Query{Where: cond("a", IsNotEmpty)}},
		{"no space around comparison operators", `数値>=20`, &Query{Where: cond("数値", Ge, num("20"))}},
		{"no space around in list", `a in("x","y")`, &Query{Where: cond("a", In, str("x"), str("y"))}},
		{"string followed directly by a keyword", `a="x"and b="y"`, &Query{Where: and(cond("a", Eq, str("x")), cond("b", Eq, str("y")))}},
		{"$id", `$id > 5`, &Query{Where: cond("$id", Gt, num("5"))}},
		{"related records field", `rel.name in ("x")`, &Query{Where: cond("rel.name", In, str("x"))}},
		{"related records $id", `rel.$id in (1)`, &Query{Where: cond("rel.$id", In, num("1"))}},
		{"keyword spelled by a related field part", `rel.limit in ("x")`, &Query{Where: cond("rel.limit", In, str("x"))}},
		{"function with no arguments", `d = TODAY()`, &Query{Where: cond("d", Eq, fn("TODAY"))}},
		{"function name in any case is upper-cased", `d = today()`, &Query{Where: cond("d", Eq, fn("TODAY"))}},
		{"function arguments: integer and symbol", `d = FROM_TODAY(-3, days)`, &Query{Where: cond("d", Eq, fn("FROM_TODAY", "-3", "DAYS"))}},
		{"function arguments without spaces", `d=FROM_TODAY(5,WEEKS)`, &Query{Where: cond("d", Eq, fn("FROM_TODAY", "5", "WEEKS"))}},
		{"space inside a call", `d = THIS_MONTH ( LAST )`, &Query{Where: cond("d", Eq, fn("THIS_MONTH", "LAST"))}},
		{"order by alone", `order by $id desc`, &Query{OrderBy: []SortKey{{"$id", Desc}}}},
		{"order by several keys, directions optional", `order by a asc, b, c desc`, &Query{OrderBy: []SortKey{{"a", Asc}, {"b", DirNone}, {"c", Desc}}}},
		{"limit alone", `limit 1000`, &Query{Limit: intp(1000)}},
		{"offset alone", `offset 99999`, &Query{Offset: intp(99999)}},
		{"limit and offset", `limit 0 offset 0`, &Query{Limit: intp(0), Offset: intp(0)}},
		{"leading zeros in limit", `limit 007`, &Query{Limit: intp(7)}},
		{"all clauses", `a = 1 order by a limit 5 offset 10`, &Query{Where: cond("a", Eq, num("1")), OrderBy: []SortKey{{"a", DirNone}}, Limit: intp(5), Offset: intp(10)}},
		{"keywords in any case", `a = 1 AND b IN (2) Or c NOT LIKE "x" ORDER BY a DESC LIMIT 1 OFFSET 2`, &Query{
			Where:   or(and(cond("a", Eq, num("1")), cond("b", In, num("2"))), cond("c", NotLike, str("x"))),
			OrderBy: []SortKey{{"a", Desc}}, Limit: intp(1), Offset: intp(2),
		}},
		{"is not empty in upper case", `a IS NOT EMPTY`, &Query{Where: cond("a", IsNotEmpty)}},
		{"a huge limit is kept as the largest int", `limit 99999999999999999999999`, &Query{Limit: intp(int(^uint(0) >> 1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			roundTrip(t, got)
		})
	}
}

func TestParsePrecedenceAndGrouping(t *testing.T) {
	a, b, c, d := cond("a", Eq, num("1")), cond("b", Eq, num("1")), cond("c", Eq, num("1")), cond("d", Eq, num("1"))
	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"and binds tighter than or", `a=1 or b=1 and c=1`, or(a, and(b, c))},
		{"and binds tighter than or, on the left", `a=1 and b=1 or c=1`, or(and(a, b), c)},
		{"one And per level", `a=1 and b=1 and c=1`, and(a, b, c)},
		{"one Or per level", `a=1 or b=1 or c=1 or d=1`, or(a, b, c, d)},
		{"parentheses override precedence", `(a=1 or b=1) and c=1`, and(or(a, b), c)},
		{"parentheses are not flattened", `(a=1 and b=1) and c=1`, and(and(a, b), c)},
		{"parentheses on the right are not flattened", `a=1 or (b=1 or c=1)`, or(a, or(b, c))},
		{"redundant parentheses vanish", `((a=1))`, a},
		{"redundant parentheses around a junction vanish", `((a=1 and b=1))`, and(a, b)},
		{"mixed", `(a=1 or b=1) and (c=1 or d=1)`, and(or(a, b), or(c, d))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.in)
			if !reflect.DeepEqual(got.Where, tt.want) {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, Format(got.Where), Format(tt.want))
			}
			roundTrip(t, got)
		})
	}
}

func TestParseStringEscapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", `"abc"`, "abc"},
		{"empty", `""`, ""},
		{"escaped double quote", `"sample\"1\""`, `sample"1"`},
		{"escaped backslash", `"a\\b"`, `a\b`},
		{"backslash before the closing quote", `"a\\"`, `a\`},
		{"tab", `"a\tb"`, "a\tb"},
		{"line feed", `"a\nb"`, "a\nb"},
		{"carriage return", `"a\rb"`, "a\rb"},
		{"CRLF escaped", `"a\r\nb"`, "a\r\nb"},
		{"all escapes together", `"\"\\\t\n\r"`, "\"\\\t\n\r"},
		{"single quote is an ordinary character", `"it's"`, "it's"},
		{"Japanese", `"株式会社サイボウズ"`, "株式会社サイボウズ"},
		{"full-width characters", `"ＡＢＣ１２３"`, "ＡＢＣ１２３"},
		{"U+3000 inside a string is kept", "\"a\u3000b\"", "a\u3000b"},
		{"emoji", `"🍣"`, "🍣"},
		{"keywords inside a string are text", `"x\" or \"1\" = \"1"`, `x" or "1" = "1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustParse(t, `a = `+tt.in)
			got := q.Where.(*Cond).Values[0]
			if got.Kind != String || got.Text != tt.want {
				t.Fatalf("value = %#v, want string %q", got, tt.want)
			}
			roundTrip(t, q)
		})
	}
}

func TestParseStringErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"raw tab in a string", "a = \"x\ty\""},
		{"raw line feed in a string", "a = \"x\ny\""},
		{"raw carriage return in a string", "a = \"x\ry\""},
		{"raw CRLF in a string", "a = \"x\r\ny\""},
		{"NUL in a string", "a = \"x\x00y\""},
		{"other control character in a string", "a = \"x\x01y\""},
		{"DEL in a string", "a = \"x\x7fy\""},
		{"unknown escape", `a = "\q"`},
		{"unicode escape is not supported", `a = "\u0041"`},
		{"escaped single quote is not supported", `a = "\'"`},
		{"unterminated string", `a = "abc`},
		{"backslash at the end", `a = "abc\`},
		{"escaped closing quote leaves it open", `a = "abc\"`},
		{"single quotes", `a = 'x'`},
		{"backquotes around a field", "`a` = 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			e := wantCode(t, err, "CB_VA01")
			if e.Key != "query" {
				t.Errorf("Key = %q, want query", e.Key)
			}
		})
	}
}

func TestParseWhitespace(t *testing.T) {
	want := and(cond("a", Eq, num("1")), cond("b", In, str("x")))
	for name, in := range map[string]string{
		"spaces":                "a = 1 and b in (\"x\")",
		"tabs":                  "a\t=\t1\tand\tb\tin\t(\"x\")",
		"line feeds":            "a\n=\n1\nand\nb\nin\n(\"x\")",
		"CRLF":                  "a\r\n=\r\n1\r\nand\r\nb\r\nin\r\n(\"x\")",
		"carriage returns":      "a\r=\r1\rand\rb\rin\r(\"x\")",
		"ideographic space":     "a\u3000=\u30001\u3000and\u3000b\u3000in\u3000(\"x\")",
		"leading and trailing":  "\u3000 \t\r\n a = 1 and b in (\"x\") \r\n\u3000",
		"runs of mixed spacing": "a \t\u3000= 1  \r\n and\u3000\u3000b in ( \"x\" )",
	} {
		t.Run(name, func(t *testing.T) {
			got := mustParse(t, in)
			if !reflect.DeepEqual(got.Where, want) {
				t.Fatalf("Parse(%q) = %s", in, Format(got.Where))
			}
		})
	}
}

func TestParseOtherSpacesAreNotWhitespace(t *testing.T) {
	for name, in := range map[string]string{
		"no-break space": "a\u00a0= 1",
		"vertical tab":   "a\v= 1",
		"form feed":      "a\f= 1",
		"em space":       "a\u2003= 1",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(in)
			wantCode(t, err, "CB_VA01")
		})
	}
}

func TestParseFieldCodes(t *testing.T) {
	for name, code := range map[string]string{
		"ASCII with underscore and digits": "Field_1",
		"leading underscore":               "_x",
		"hiragana":                         "ふりがな",
		"katakana with prolonged mark":     "ステータス",
		"kanji":                            "顧客名",
		"kanji with iteration mark":        "人々",
		"mixed scripts and ASCII":          "文字列__1行_",
		"full-width letters and digits":    "ＡＢＣ１２３",
		"full-width underscore":            "顧客＿名",
		"katakana middle dot":              "取引先・担当",
		"half-width katakana":              "ｶﾀｶﾅ",
		"default system field code":        "作業者",
		"CJK extension B ideograph":        "𠮷野家",
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParse(t, code+` in ("x")`)
			if got := q.Where.(*Cond).Field; got != code {
				t.Fatalf("field = %q, want %q", got, code)
			}
			roundTrip(t, q)
		})
	}
}

func TestParseNumbers(t *testing.T) {
	for name, tt := range map[string]struct {
		in   string
		want Value
	}{
		"integer":                    {`1`, num("1")},
		"negative":                   {`-5`, num("-5")},
		"decimal":                    {`1.50`, num("1.50")},
		"negative decimal":           {`-0.5`, num("-0.5")},
		"leading zeros kept":         {`007`, num("007")},
		"quoted number is a string":  {`"1"`, str("1")},
		"quoted decimal is a string": {`"-1.5"`, str("-1.5")},
		"big number kept as written": {`123456789012345678901234567890`, num("123456789012345678901234567890")},
	} {
		t.Run(name, func(t *testing.T) {
			q := mustParse(t, "n >= "+tt.in)
			if got := q.Where.(*Cond).Values[0]; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("value = %#v, want %#v", got, tt.want)
			}
			roundTrip(t, q)
		})
	}
	for name, in := range map[string]string{
		"plus sign":          "n = +1",
		"exponent":           "n = 1e5",
		"leading point":      "n = .5",
		"trailing point":     "n = 1.",
		"two points":         "n = 1.2.3",
		"minus alone":        "n = -",
		"minus then space":   "n = - 1",
		"hex":                "n = 0x10",
		"full-width digits":  "n = １",
		"bare word as value": "n = abc",
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			_, err := Parse(in)
			wantCode(t, err, "CB_VA01")
		})
	}
}

// Every function and argument form parses (whether the arguments suit the
// function is Check's job, covered in check_test.go).
func TestParseEveryFunction(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{`LOGINUSER()`, fn("LOGINUSER")},
		{`PRIMARY_ORGANIZATION()`, fn("PRIMARY_ORGANIZATION")},
		{`NOW()`, fn("NOW")},
		{`TODAY()`, fn("TODAY")},
		{`YESTERDAY()`, fn("YESTERDAY")},
		{`TOMORROW()`, fn("TOMORROW")},
		{`FROM_TODAY(5, DAYS)`, fn("FROM_TODAY", "5", "DAYS")},
		{`FROM_TODAY(-2, WEEKS)`, fn("FROM_TODAY", "-2", "WEEKS")},
		{`FROM_TODAY(1, MONTHS)`, fn("FROM_TODAY", "1", "MONTHS")},
		{`FROM_TODAY(0, YEARS)`, fn("FROM_TODAY", "0", "YEARS")},
		{`THIS_WEEK()`, fn("THIS_WEEK")},
		{`THIS_WEEK(SUNDAY)`, fn("THIS_WEEK", "SUNDAY")},
		{`LAST_WEEK(MONDAY)`, fn("LAST_WEEK", "MONDAY")},
		{`NEXT_WEEK(SATURDAY)`, fn("NEXT_WEEK", "SATURDAY")},
		{`THIS_MONTH()`, fn("THIS_MONTH")},
		{`THIS_MONTH(1)`, fn("THIS_MONTH", "1")},
		{`LAST_MONTH(31)`, fn("LAST_MONTH", "31")},
		{`NEXT_MONTH(LAST)`, fn("NEXT_MONTH", "LAST")},
		{`THIS_YEAR()`, fn("THIS_YEAR")},
		{`LAST_YEAR()`, fn("LAST_YEAR")},
		{`NEXT_YEAR()`, fn("NEXT_YEAR")},
		{`this_week(monday)`, fn("THIS_WEEK", "MONDAY")},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q := mustParse(t, `d = `+tt.in)
			if got := q.Where.(*Cond).Values[0]; !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("value = %#v, want %#v", got, tt.want)
			}
			roundTrip(t, q)
		})
	}
}

func TestParseRefusesBadCalls(t *testing.T) {
	for name, in := range map[string]string{
		"unknown function":           `d = FOO()`,
		"function without parens":    `d = TODAY`,
		"quoted argument":            `d = THIS_WEEK("MONDAY")`,
		"decimal argument":           `d = FROM_TODAY(1.5, DAYS)`,
		"trailing comma":             `d = FROM_TODAY(1,)`,
		"leading comma":              `d = FROM_TODAY(,1)`,
		"unclosed call":              `d = TODAY(`,
		"nested call":                `d = FROM_TODAY(TODAY(), DAYS)`,
		"keyword as argument":        `d = THIS_WEEK(and)`,
		"dotted argument":            `d = THIS_WEEK(a.b)`,
		"function as a field":        `TODAY() = d`,
		"function after like":        `t like LOGINUSER()`,
		"function name is not quote": `d = "TODAY"()`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(in)
			wantCode(t, err, "CB_VA01")
		})
	}
}

func TestParseClauseOrder(t *testing.T) {
	tests := []struct{ name, in string }{
		{"limit before order by", `limit 100 order by $id desc`},
		{"offset before limit", `a = "" offset 100 limit 100`},
		{"offset before order by", `offset 1 order by a`},
		{"condition after order by", `order by a a = 1`},
		{"condition after limit", `limit 1 a = 1`},
		{"limit twice", `limit 1 limit 2`},
		{"offset twice", `offset 1 offset 2`},
		{"order by twice", `order by a order by b`},
		{"order without by", `order a`},
		{"order by without a key", `order by`},
		{"order by with a trailing comma", `order by a,`},
		{"direction without a key", `order by asc`},
		{"two directions", `order by a asc desc`},
		{"limit without a number", `limit`},
		{"limit with a string", `limit "5"`},
		{"limit with a decimal", `limit 1.5`},
		{"negative limit", `limit -1`},
		{"negative offset", `offset -1`},
		{"limit with a function", `limit TODAY()`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			wantCode(t, err, "CB_VA01")
		})
	}
}

func TestParseClauseOrderErrorNamesTheOrder(t *testing.T) {
	_, err := Parse(`limit 100 order by $id desc`)
	e := wantCode(t, err, "CB_VA01")
	contains(t, e.Details("en")[0], "condition, order by, limit, offset")
	contains(t, e.Details("ja")[0], "条件、order by、limit、offset")
}

func TestParseReservedWordsAreNotFieldCodes(t *testing.T) {
	for _, w := range []string{"and", "OR", "not", "in", "like", "is", "empty", "order", "by", "asc", "desc", "Limit", "offset"} {
		t.Run(w, func(t *testing.T) {
			_, err := Parse(w + ` = "x"`)
			wantCode(t, err, "CB_VA01")
		})
	}
}

func TestParseSyntaxErrorSaysWhereAndWhat(t *testing.T) {
	tests := []struct {
		in       string
		en, ja   string // substrings of the detail
		position string
	}{
		{`a = 1 and`, `expected a field code or "(", found the end of the query`, `フィールドコードまたは "("が必要ですが、クエリが終わっています`, "10"},
		{`顧客名 = "x" and (b = 1`, `expected ")", found the end of the query`, `")"が必要ですが`, "21"},
		{`a == 1`, `expected a value`, `値（文字列、数値または関数）が必要です`, "4"},
		{`a = 1)`, `")" has no matching "("`, `対応する "(" のない ")"`, "6"},
		{`a in "x"`, `expected "(" after in, found "\"x\""`, `in の後の "("`, "6"},
		{`a is null`, `expected empty, found "null"`, `emptyが必要ですが`, "6"},
		{`a not = 1`, `expected in or like after not`, `not の後の in または like`, "7"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			e := wantCode(t, err, "CB_VA01")
			if e.Key != "query" {
				t.Fatalf("Key = %q", e.Key)
			}
			if e.Message("en") != "Missing or invalid input." || e.Message("ja") != "入力内容が正しくありません。" {
				t.Errorf("top-level messages: %q / %q", e.Message("en"), e.Message("ja"))
			}
			en, ja := e.Details("en")[0], e.Details("ja")[0]
			contains(t, en, tt.en)
			contains(t, en, "at character "+tt.position+",")
			contains(t, ja, "クエリ記法が間違っています。")
			contains(t, ja, tt.ja)
			contains(t, ja, tt.position+" 文字目")
		})
	}
}
