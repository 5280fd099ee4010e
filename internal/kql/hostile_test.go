package kql

import (
	"strings"
	"testing"
)

// Hostile inputs: each must fail with CB_VA01 under the key "query", with
// no panic and no stack exhaustion.
func TestParseRefusesHostileInput(t *testing.T) {
	deepParens := strings.Repeat("(", 100000) + "a = 1" + strings.Repeat(")", 100000)
	tests := []struct{ name, in string }{
		{"unbalanced open parenthesis", `(a = 1`},
		{"unbalanced close parenthesis", `a = 1)`},
		{"close then open", `) or (`},
		{"injection closing the user's group", `x = "a") or ("1" = "1"`},
		{"injection with a dangling or", `a = 1 ) or ( $id > 0`},
		{"stray quote opening a string", `" or $id > "0`},
		{"stray quote at the end", `a = "x" "`},
		{"stray quote after a field", `a" = 1`},
		{"empty parentheses", `()`},
		{"empty parentheses in a condition", `a = 1 and ()`},
		{"empty in list", `a in ()`},
		{"in list with a trailing comma", `a in ("x",)`},
		{"in list without parentheses", `a in "x", "y"`},
		{"unclosed in list", `a in ("x"`},
		{"dangling and", `a = 1 and`},
		{"leading and", `and a = 1`},
		{"leading or", `or a = 1`},
		{"double and", `a = 1 and and b = 1`},
		{"operator without a field", `= 1`},
		{"field without an operator", `a`},
		{"operator without a value", `a =`},
		{"two values", `a = 1 2`},
		{"trailing garbage", `a = 1 garbage`},
		{"trailing semicolon", `a = 1;`},
		{"SQL comment", `a = 1 -- comment`},
		{"SQL union", `a = 1 union select *`},
		{"NUL byte", "a = 1\x00"},
		{"NUL inside a field code", "a\x00b = 1"},
		{"invalid UTF-8", "a = \"\xff\""},
		{"invalid UTF-8 in a field code", "\xc3\x28 = 1"},
		{"truncated UTF-8 sequence", "顧客\xe5 = 1"},
		{"UTF-16 surrogate encoded in UTF-8", "a = \"\xed\xa0\x80\""},
		{"bang without equals", `a ! 1`},
		{"dollar field other than $id", `$revision = 1`},
		{"dollar alone", `$ = 1`},
		{"three-level dotted field", `a.b.c in (1)`},
		{"dot without a field", `a. in (1)`},
		{"leading dot", `.a in (1)`},
		{"is without empty", `a is`},
		{"not without in or like", `a not 1`},
		{"like without a string", `a like 1`},
		{"like with a list", `a like ("x")`},
		{"order by a string", `order by "a"`},
		{"order by a function", `order by TODAY()`},
		{"parentheses around order by", `(order by a)`},
		{"parentheses around options", `a = 1 (limit 5)`},
		{"deep parentheses", deepParens},
		{"deep unclosed parentheses", strings.Repeat("(", 1<<15)},
		{"too long", `a in (` + strings.Repeat(`"xxxxxxxxxx", `, MaxQueryBytes/14) + `"x")`},
		{"ESC control character", "a = 1\x1b[2J"},
		{"BOM at the start", "\ufeffa = 1"},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d hostile inputs", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse accepted it: %s", q)
			}
			e := wantCode(t, err, "CB_VA01")
			if e.Key != "query" || len(e.Details("en")) != 1 || len(e.Details("ja")) != 1 {
				t.Fatalf("want one detail under query, got key %q, %v", e.Key, e.Details("en"))
			}
		})
	}
}

func TestParseSizeCap(t *testing.T) {
	// A query of exactly MaxQueryBytes whose canonical form is no longer.
	pad := MaxQueryBytes - len(`a = ""`)
	at := `a = "` + strings.Repeat("x", pad) + `"`
	if len(at) != MaxQueryBytes {
		t.Fatalf("test setup: len = %d", len(at))
	}
	roundTrip(t, mustParse(t, at))

	_, err := Parse(at + " ")
	e := wantCode(t, err, "CB_VA01")
	contains(t, e.Details("en")[0], "too long")
	contains(t, e.Details("ja")[0], "長すぎます")
}

// A query under the byte cap whose canonical form would exceed it is
// refused, so every accepted query prints to text Parse accepts again.
func TestParseCapsTheCanonicalLength(t *testing.T) {
	var b strings.Builder
	for b.Len() < MaxQueryBytes-20 {
		b.WriteString("a=1or ")
	}
	b.WriteString("a=1")
	in := b.String()
	if len(in) > MaxQueryBytes {
		t.Fatalf("test setup: len = %d", len(in))
	}
	_, err := Parse(in)
	e := wantCode(t, err, "CB_VA01")
	contains(t, e.Details("en")[0], "canonical form")
}

func TestParseDepthCap(t *testing.T) {
	nestedOr := func(levels int) string {
		// Alternating and/or: each level adds one And or Or to the AST.
		s := "a = 1"
		for i := 0; i < levels; i++ {
			op := " or "
			if i%2 == 1 {
				op = " and "
			}
			s = "b = 1" + op + "(" + s + ")"
		}
		return s
	}
	t.Run("parentheses up to the cap parse", func(t *testing.T) {
		in := strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth)
		mustParse(t, in)
	})
	t.Run("one parenthesis more is refused", func(t *testing.T) {
		in := strings.Repeat("(", MaxDepth+1) + "a = 1" + strings.Repeat(")", MaxDepth+1)
		_, err := Parse(in)
		e := wantCode(t, err, "CB_VA01")
		contains(t, e.Details("en")[0], "nested too deeply")
		contains(t, e.Details("ja")[0], "入れ子が深すぎます")
	})
	// Each level adds one pair of parentheses and two levels of and/or:
	// b = 1 or c = 1 and ( … ).
	doubly := func(levels int) string {
		s := "a = 1"
		for i := 0; i < levels; i++ {
			s = "b = 1 or c = 1 and (" + s + ")"
		}
		return s
	}
	t.Run("and/or nesting up to the cap round-trips", func(t *testing.T) {
		q := mustParse(t, doubly(MaxDepth/2))
		roundTrip(t, q)
		roundTrip(t, mustParse(t, nestedOr(MaxDepth-1)))
	})
	t.Run("and/or nesting beyond the cap is refused", func(t *testing.T) {
		// Few enough parentheses, but the AST (and so its printed form)
		// would be deeper than the cap.
		_, err := Parse(doubly(MaxDepth/2 + 1))
		e := wantCode(t, err, "CB_VA01")
		contains(t, e.Details("en")[0], "nested too deeply")
	})
}
