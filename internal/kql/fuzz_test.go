package kql

import (
	"errors"
	"hash/fnv"
	"reflect"
	"strconv"
	"testing"
)

// fuzzSeeds are the round-trip corpus plus inputs near the lexer's edges.
var fuzzSeeds = append(append([]string(nil), roundTripCorpus...),
	`a = "\q"`,
	"a = \"x\ty\"",
	`(((a = 1)`,
	`) or (`,
	`x = "a") or ("1" = "1"`,
	`" or $id > "0`,
	`limit 1 order by a`,
	`a in ()`,
	`d = FROM_TODAY(1.5, DAYS)`,
	`rel.$id in (1)`,
	`$idx = 1`,
	"a\u00a0= 1",
	"\xff",
	"a = 1\x00",
	`a=1or b=2and(c=3or d=4)`,
	`n = -0.0 or n = 00`,
	`order by rel.x desc, $id`,
	`a not like "x" and b is not empty or c not in (1, "2", TODAY())`,
)

// fuzzMaxLen bounds the fuzzed inputs. Longer inputs exercise nothing the
// short ones do not (the size and depth caps have their own tests), and the
// fuzzer's minimisation of a long interesting input, quadratic in its
// length, would otherwise eat most of a time-boxed run.
const fuzzMaxLen = 1024

// FuzzRoundTrip: any input either fails to parse with an *Error (CB_VA01)
// or prints to a query that parses to the identical AST and prints the
// same again. Check must not panic on whatever parses.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	fields := map[string]Field{
		"a":   {Code: "a", Type: "NUMBER"},
		"b":   {Code: "b", Type: "DROP_DOWN", Options: []string{"x"}},
		"c":   {Code: "c", Type: "SINGLE_LINE_TEXT", InSubtable: true},
		"d":   {Code: "d", Type: "DATETIME"},
		"rel": {Code: "rel", Type: "REFERENCE_TABLE"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMaxLen {
			return
		}
		q, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "CB_VA01" || e.Status != 400 || e.Key != "query" {
				t.Fatalf("Parse(%q) failed with %v (%T), want CB_VA01", s, err, err)
			}
			return
		}
		roundTrip(t, q)
		if err := Check(q, fields); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Check returned %T", err)
			}
		}
	})
}

// FuzzCompose: for a fuzzed user query and a fuzzed row rule, the composed
// query, printed and parsed again, is never true under an assignment of
// truth values to its predicates where the row rule alone is false. Each
// distinct predicate (by its canonical text) gets a pseudo-random truth
// value derived from the fuzz input, tried for several assignments.
func FuzzCompose(f *testing.F) {
	rules := []string{
		`取引先 in ("C-001") and 公開 in ("公開")`,
		`a = 1 or b = 2`,
		`owner in (LOGINUSER())`,
		`(a = 1 or b = 2) and (c = 3 or d = 4)`,
		`x = "a\") or (\"1\" = \"1"`,
	}
	for i, s := range fuzzSeeds {
		f.Add(s, rules[i%len(rules)], uint64(i))
	}
	f.Fuzz(func(t *testing.T, userText, ruleText string, seed uint64) {
		if len(userText) > fuzzMaxLen || len(ruleText) > fuzzMaxLen {
			return
		}
		user, err := Parse(userText)
		if err != nil {
			return
		}
		ruleQ, err := Parse(ruleText)
		if err != nil || ruleQ.Where == nil {
			return
		}
		rule := ruleQ.Where
		out, err := Compose(rule, user, ComposeOptions{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compose failed on parsed inputs with %v (%T)", err, err)
			}
			return
		}
		text := out.String()
		back, err := Parse(text)
		if err != nil {
			t.Fatalf("composed %q does not parse: %v", text, err)
		}
		if !reflect.DeepEqual(back, out) {
			t.Fatalf("composed %q re-parses differently", text)
		}
		if user.Where != nil {
			a, ok := back.Where.(*And)
			if !ok || len(a.Terms) != 2 || !reflect.DeepEqual(a.Terms[0], rule) {
				t.Fatalf("row rule is not the first conjunct at the root of %q", text)
			}
		}
		for i := uint64(0); i < 8; i++ {
			truth := assignment(seed*8 + i)
			if eval(back.Where, truth) && !eval(rule, truth) {
				t.Fatalf("composed %q holds where the row rule %q does not (assignment %d)", text, Format(rule), seed*8+i)
			}
		}
	})
}

// assignment gives each predicate, by its canonical text, a truth value
// derived from seed.
func assignment(seed uint64) func(*Cond) bool {
	return func(c *Cond) bool {
		h := fnv.New64a()
		h.Write([]byte(strconv.FormatUint(seed, 10)))
		h.Write([]byte{0})
		h.Write([]byte(Format(c)))
		return h.Sum64()&1 == 1
	}
}

func eval(e Expr, truth func(*Cond) bool) bool {
	switch e := e.(type) {
	case *Cond:
		return truth(e)
	case *And:
		for _, t := range e.Terms {
			if !eval(t, truth) {
				return false
			}
		}
		return true
	case *Or:
		for _, t := range e.Terms {
			if eval(t, truth) {
				return true
			}
		}
		return false
	}
	panic("unknown condition")
}
