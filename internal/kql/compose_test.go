package kql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var rowRule = mustParseWhere(`取引先 in ("C-001") and 公開 in ("公開")`)

func mustParseWhere(s string) Expr {
	q, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return q.Where
}

func TestComposePutsTheRowRuleAtTheRoot(t *testing.T) {
	tests := []struct {
		name, user, want string
	}{
		{"user condition and options",
			`a = 1 or b = 2 order by a desc limit 10 offset 20`,
			`((取引先 in ("C-001")) and (公開 in ("公開"))) and ((a = 1) or (b = 2)) order by a desc limit 10 offset 20`},
		{"no user condition keeps the options",
			`order by $id asc limit 5`,
			`(取引先 in ("C-001")) and (公開 in ("公開")) order by $id asc limit 5`},
		{"empty user query",
			``,
			`(取引先 in ("C-001")) and (公開 in ("公開"))`},
		{"single user predicate",
			`x like "y"`,
			`((取引先 in ("C-001")) and (公開 in ("公開"))) and (x like "y")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := mustParse(t, tt.user)
			out, err := Compose(rowRule, user, ComposeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.want {
				t.Fatalf("composed\n got %q\nwant %q", got, tt.want)
			}
			roundTrip(t, out)
		})
	}
}

func TestComposeShapes(t *testing.T) {
	user := mustParse(t, `a = 1 order by a`)
	t.Run("both: And{rowRule, user}", func(t *testing.T) {
		out, err := Compose(rowRule, user, ComposeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, ok := out.Where.(*And)
		if !ok || len(a.Terms) != 2 || a.Terms[0] != rowRule || a.Terms[1] != user.Where {
			t.Fatalf("Where = %#v", out.Where)
		}
	})
	t.Run("no row rule: the user's condition", func(t *testing.T) {
		out, err := Compose(nil, user, ComposeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Where != user.Where || !reflect.DeepEqual(out.OrderBy, user.OrderBy) {
			t.Fatalf("got %s", out)
		}
	})
	t.Run("no user query: the row rule", func(t *testing.T) {
		out, err := Compose(rowRule, nil, ComposeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if out.Where != rowRule || out.OrderBy != nil || out.Limit != nil || out.Offset != nil {
			t.Fatalf("got %s", out)
		}
	})
	t.Run("neither", func(t *testing.T) {
		out, err := Compose(nil, &Query{}, ComposeOptions{})
		if err != nil || out.String() != "" {
			t.Fatalf("got %v, %v", out, err)
		}
	})
}

// The user's text can never reach outside its own term: injection attempts
// either fail to parse or end up inside the user's term.
func TestComposeResistsInjection(t *testing.T) {
	attempts := []string{
		`x = "a") or ("1" = "1"`,
		`) or (`,
		`" or $id > "0`,
		`x = "a" ) or ( $id > 0`,
		`x = 1 or $id > 0`,
		`$id > 0 or x = 1`,
		`x = "\") or (\"1\" = \"1"`,
		`x = 1) or (1 = 1`,
		`x in ("a")) or (($id > 0`,
		`(x = 1 or $id > 0`,
		`x = 1 limit 1) or ($id > 0`,
		`x = 1 order by $id) or ($id > 0`,
		`x = "a"` + "\n" + `) or ($id > 0`,
		`x = "a"` + "\u3000" + `or $id > 0`,
		`x = "a" OR $id > 0`,
	}
	for _, s := range attempts {
		t.Run(s, func(t *testing.T) {
			user, err := Parse(s)
			if err != nil {
				wantCode(t, err, "CB_VA01")
				return
			}
			out, err := Compose(rowRule, user, ComposeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			back := mustParse(t, out.String())
			a, ok := back.Where.(*And)
			if !ok || len(a.Terms) != 2 || !reflect.DeepEqual(a.Terms[0], rowRule) || !reflect.DeepEqual(a.Terms[1], user.Where) {
				t.Fatalf("the row rule is not a conjunct at the root of %q", out.String())
			}
		})
	}
}

func TestComposeChecksFields(t *testing.T) {
	hidden := errors.New("hidden")
	var seen []string
	opts := ComposeOptions{CheckField: func(code string) error {
		seen = append(seen, code)
		if code == "秘密" {
			return hidden
		}
		return nil
	}}
	t.Run("each distinct field once, condition then order by", func(t *testing.T) {
		seen = nil
		_, err := Compose(rowRule, mustParse(t, `b = 1 and (a = 1 or b = 2) and rel.x in (1) order by c, a, $id`), opts)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"b", "a", "rel.x", "c", "$id"}; !reflect.DeepEqual(seen, want) {
			t.Fatalf("CheckField saw %q, want %q", seen, want)
		}
	})
	t.Run("row rule fields are not the user's", func(t *testing.T) {
		seen = nil
		if _, err := Compose(rowRule, mustParse(t, `a = 1`), opts); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(seen, []string{"a"}) {
			t.Fatalf("CheckField saw %q", seen)
		}
	})
	t.Run("its error is returned as is", func(t *testing.T) {
		for _, q := range []string{`秘密 = "x"`, `a = 1 or 秘密 like "x"`, `order by 秘密 desc`} {
			_, err := Compose(rowRule, mustParse(t, q), opts)
			if err != hidden {
				t.Errorf("%s: got %v, want the hook's error", q, err)
			}
		}
	})
}

func TestComposeCapsLimitAndOffset(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		opts      ComposeOptions
		code      string
		wantLimit *int
		msg       string
	}{
		{name: "kintone's 500 by default", user: `limit 500`, wantLimit: intp(500)},
		{name: "above 500 by default", user: `limit 501`, code: "GAIA_QU01", msg: "limit must be 500 or less."},
		{name: "a small limit is kept", user: `limit 1`, wantLimit: intp(1)},
		{name: "limit 0 is kept", user: `limit 0`, wantLimit: intp(0)},
		{name: "no limit stays unset: kintone's default of 100", user: `a = 1`},
		{name: "offset 10,000 by default", user: `offset 10000`},
		{name: "above 10,000 by default", user: `offset 10001`, code: "GAIA_QU02", msg: "offset must be 10,000 or less."},
		{name: "offset cap", user: `offset 101`, opts: ComposeOptions{MaxOffset: 100}, code: "GAIA_QU02", msg: "offset must be 100 or less."},
		{name: "huge limit", user: `limit 99999999999999999999999`, code: "GAIA_QU01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Compose(rowRule, mustParse(t, tt.user), tt.opts)
			if tt.code != "" {
				e := wantCode(t, err, tt.code)
				if tt.msg != "" && e.Message("en") != tt.msg {
					t.Errorf("message %q, want %q", e.Message("en"), tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out.Limit, tt.wantLimit) {
				t.Fatalf("composed %q, want limit %v", out.String(), tt.wantLimit)
			}
		})
	}
	t.Run("negative values in a hand-built query", func(t *testing.T) {
		_, err := Compose(nil, &Query{Limit: intp(-1)}, ComposeOptions{})
		wantCode(t, err, "CB_VA01")
		_, err = Compose(nil, &Query{Offset: intp(-5)}, ComposeOptions{})
		wantCode(t, err, "CB_VA01")
	})
}

func TestComposeDoesNotMutateItsInputs(t *testing.T) {
	rule := mustParseWhere(`a in ("x") or b in ("y")`)
	user := mustParse(t, `c = 1 and d = 2 order by c desc limit 10 offset 5`)
	ruleBefore, userBefore := Format(rule), user.String()
	ruleCopy := mustParseWhere(ruleBefore)
	userCopy := mustParse(t, userBefore)

	out, err := Compose(rule, user, ComposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Scribble over everything the result owns.
	*out.Limit, *out.Offset = 999, 999
	out.OrderBy[0].Field = "zzz"
	out.Where.(*And).Terms[0] = nil

	if !reflect.DeepEqual(rule, ruleCopy) || !reflect.DeepEqual(user, userCopy) {
		t.Fatalf("inputs changed:\n%s\n%s", Format(rule), user)
	}
}

func TestComposeRefusesTooDeepOrTooLong(t *testing.T) {
	t.Run("a user condition at the depth cap cannot take a row rule", func(t *testing.T) {
		s := "a = 1"
		for i := 0; i < MaxDepth/2; i++ {
			s = "b = 1 or c = 1 and (" + s + ")"
		}
		user := mustParse(t, s)
		_, err := Compose(rowRule, user, ComposeOptions{})
		e := wantCode(t, err, "CB_VA01")
		contains(t, e.Details("en")[0], "nested too deeply")
		if _, err := Compose(nil, user, ComposeOptions{}); err != nil {
			t.Fatalf("without a row rule: %v", err)
		}
	})
	t.Run("a composed query longer than MaxQueryBytes", func(t *testing.T) {
		user := mustParse(t, `a = "`+strings.Repeat("x", MaxQueryBytes-20)+`"`)
		_, err := Compose(rowRule, user, ComposeOptions{})
		e := wantCode(t, err, "CB_VA01")
		contains(t, e.Details("en")[0], "too long")
	})
}

func TestComposeRefusesMalformedASTs(t *testing.T) {
	self := &And{}
	self.Terms = []Expr{self, self}
	bad := []struct {
		name string
		rule Expr
		user *Query
	}{
		{"nil term in the row rule", and(cond("a", Eq, num("1")), nil), nil},
		{"typed nil condition", (*Cond)(nil), nil},
		{"empty and", and(), nil},
		{"empty or", or(), nil},
		{"bad field code", cond(`a) or (b`, Eq, num("1")), nil},
		{"keyword as field code", cond("limit", Eq, num("1")), nil},
		{"comparison with two values", cond("a", Eq, num("1"), num("2")), nil},
		{"in without values", cond("a", In), nil},
		{"like with a number", cond("a", Like, num("1")), nil},
		{"is empty with a value", cond("a", IsEmpty, str("")), nil},
		{"unknown operator", cond("a", Op(42), num("1")), nil},
		{"bad number", cond("a", Eq, num("1 or 1")), nil},
		{"unknown function", cond("a", Eq, fn("DROP_TABLE")), nil},
		{"lower-case function name", cond("a", Eq, fn("today")), nil},
		{"bad function argument", cond("a", Eq, fn("THIS_WEEK", "MONDAY)")), nil},
		{"function without call", cond("a", Eq, Value{Kind: Func}), nil},
		{"value without kind", cond("a", Eq, Value{Text: "x"}), nil},
		{"control character in a string", cond("a", Eq, str("x\x00")), nil},
		{"invalid UTF-8 in a string", cond("a", Eq, str("\xff")), nil},
		{"cycle", self, nil},
		{"bad user condition", nil, &Query{Where: cond("", Eq, num("1"))}},
		{"bad order by key", nil, &Query{OrderBy: []SortKey{{Field: "a b"}}}},
		{"bad direction", nil, &Query{OrderBy: []SortKey{{Field: "a", Dir: 7}}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compose(tt.rule, tt.user, ComposeOptions{})
			if err == nil {
				t.Fatal("accepted")
			}
			var e *Error
			if errors.As(err, &e) {
				t.Fatalf("a malformed AST is the caller's bug, not a query error: %v", err)
			}
		})
	}
	t.Run("a one-term and is accepted", func(t *testing.T) {
		if _, err := Compose(and(cond("a", Eq, num("1"))), nil, ComposeOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a = 1`, []string{"a"}},
		{`b = 1 and (a = 1 or b = 2) and $id > 1 or rel.x in (1) or a = 3`, []string{"b", "a", "$id", "rel.x"}},
		{`顧客 like "x" and 顧客 like "y"`, []string{"顧客"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Fields(mustParse(t, tt.in).Where); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Fields = %q, want %q", got, tt.want)
			}
		})
	}
	if Fields(nil) != nil {
		t.Error("Fields(nil) is not nil")
	}
}

func TestFieldsManyDistinct(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := 0; i < 200; i++ {
		f := "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("9", i/26)
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(f + " = 1 or " + f + " = 2")
		want = append(want, f)
	}
	q := mustParse(t, b.String())
	if got := Fields(q.Where); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields over %d distinct codes: got %d codes", len(want), len(got))
	}
	var seen []string
	_, err := Compose(nil, q, ComposeOptions{CheckField: func(f string) error { seen = append(seen, f); return nil }})
	if err != nil || !reflect.DeepEqual(seen, want) {
		t.Fatalf("CheckField saw %d codes, err %v", len(seen), err)
	}
}
