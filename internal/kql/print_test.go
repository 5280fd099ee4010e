package kql

import (
	"reflect"
	"testing"
)

func TestStringIsCanonical(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty query prints empty", "", ""},
		{"single spaces around operators", `a="x"`, `a = "x"`},
		{"keywords lower case", `a IN ("x") OR b NOT LIKE "y" ORDER BY a DESC LIMIT 1 OFFSET 2`,
			`(a in ("x")) or (b not like "y") order by a desc limit 1 offset 2`},
		{"every term of and/or parenthesised", `a=1 and b=1 or c=1`, `((a = 1) and (b = 1)) or (c = 1)`},
		{"inner groups keep their parentheses", `(a=1 and b=1) and c=1`, `((a = 1) and (b = 1)) and (c = 1)`},
		{"redundant parentheses dropped", `((a = 1))`, `a = 1`},
		{"lists with comma and space", `a in("x",1,TODAY())`, `a in ("x", 1, TODAY())`},
		{"function names and symbols upper case", `d = from_today(-1,days)`, `d = FROM_TODAY(-1, DAYS)`},
		{"numbers as written", `n = 007.50`, `n = 007.50`},
		{"strings re-escaped", `a = "q\"b\\t\tn\nr\r"`, `a = "q\"b\\t\tn\nr\r"`},
		{"Unicode kept verbatim", "顧客名\u3000=\u3000\"株式会社\u3000サイボウズ\"", "顧客名 = \"株式会社\u3000サイボウズ\""},
		{"sort keys without direction stay without", `order by a, b asc`, `order by a, b asc`},
		{"limit normalised", `limit 0010`, `limit 10`},
		{"is empty", `a is  not   empty`, `a is not empty`},
		{"related fields", `rel.$id in (1) and rel.名前 not in ("x")`, `(rel.$id in (1)) and (rel.名前 not in ("x"))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustParse(t, tt.in)
			if got := q.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			roundTrip(t, q)
		})
	}
}

func TestFormatPrintsACondition(t *testing.T) {
	e := and(cond("a", Eq, str(`x"y`)), or(cond("b", In, num("1"), fn("LOGINUSER")), cond("c", IsEmpty)))
	want := `(a = "x\"y") and ((b in (1, LOGINUSER())) or (c is empty))`
	if got := Format(e); got != want {
		t.Fatalf("Format = %q, want %q", got, want)
	}
}

// The printer never lets a malformed AST print as text that parses into
// something else: what cannot be written as itself is written as a string
// literal or as "()", which fail to parse.
func TestStringOfMalformedASTFailsToParse(t *testing.T) {
	tests := []struct {
		name string
		e    Expr
	}{
		{"field code with a closing parenthesis", cond(`a = "1") or ("1`, Eq, str("1"))},
		{"field code with a space", cond("a b", Eq, str("1"))},
		{"field code that is a keyword", cond("or", Eq, str("1"))},
		{"empty field code", cond("", Eq, str("1"))},
		{"number that is not a number", cond("a", Eq, num(`1) or ($id > 0`))},
		{"unknown function name", cond("a", Eq, fn(`TODAY() or $id > 0 or a = NOW`))},
		{"function argument with a parenthesis", cond("a", Eq, fn("THIS_WEEK", "MONDAY) or ($id > 0"))},
		{"function without a call", cond("a", Eq, Value{Kind: Func})},
		{"comparison without a value", cond("a", Eq)},
		{"in without values", cond("a", In)},
		{"and without terms", and()},
		{"or without terms", or()},
		{"nil term", and(cond("a", Eq, num("1")), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Format(tt.e)
			if q, err := Parse(s); err == nil {
				t.Fatalf("Format gave %q, which parses as %s", s, q)
			}
		})
	}
	t.Run("string value with a quote stays one string", func(t *testing.T) {
		e := cond("a", Eq, str(`x") or ("1" = "1`))
		q := mustParse(t, Format(e))
		if !reflect.DeepEqual(q.Where, Expr(e)) {
			t.Fatalf("got %s", Format(q.Where))
		}
	})
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{
		Eq: "=", Ne: "!=", Lt: "<", Gt: ">", Le: "<=", Ge: ">=", In: "in", NotIn: "not in",
		Like: "like", NotLike: "not like", IsEmpty: "is empty", IsNotEmpty: "is not empty",
		0: "Op(0)", 99: "Op(99)",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", op, got, want)
		}
	}
}

// roundTripCorpus is a set of realistic and awkward queries; it also seeds
// the fuzz targets.
var roundTripCorpus = []string{
	``,
	`$id > 100 order by $id asc limit 500`,
	`ステータス in ("受付", "対応中") and 顧客名 like "株式会社" and 金額 >= 10000 and 期日 <= TODAY() and 担当者 in (LOGINUSER()) order by 更新日時 desc, $id asc limit 100 offset 0`,
	`(取引先コード in ("C-001", "C-002")) and (公開区分 in ("公開"))`,
	`作成日時 >= FROM_TODAY(-7, DAYS) and 作成日時 < TOMORROW()`,
	`日付 = THIS_WEEK(MONDAY) or 日付 = LAST_WEEK() or 日付 = NEXT_WEEK(FRIDAY)`,
	`日付 = THIS_MONTH(LAST) or 日付 = LAST_MONTH(1) or 日付 = NEXT_MONTH()`,
	`更新日時 > NOW() or 更新日時 = THIS_YEAR() or 更新日時 = LAST_YEAR() or 更新日時 = NEXT_YEAR()`,
	`組織 in (PRIMARY_ORGANIZATION()) and 作業者 in (LOGINUSER())`,
	`本文 is empty or 添付ファイル is not empty`,
	`a = "" or b != ""`,
	`a = "quote \" backslash \\ tab \t newline \n cr \r"`,
	`((a = 1 or b = 2) and (c = 3 or (d = 4 and e = 5))) or f = 6`,
	`rel.$id in (1, 2, 3) and rel.品名 not in ("x")`,
	`数値 >= "1" and 数値 <= 2.5 and 数値 != -0.25`,
	"ＡＢＣ\u3000=\u3000\"全角\"\r\nand\tｶﾀｶﾅ in (\"ﾃｽﾄ\")",
	`order by a, b desc, c asc`,
	`limit 0`,
	`offset 10000`,
	`x = "a\") or (\"1\" = \"1"`,
}

func TestRoundTripCorpus(t *testing.T) {
	for _, s := range roundTripCorpus {
		t.Run(s, func(t *testing.T) { roundTrip(t, mustParse(t, s)) })
	}
}
