package kql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// AST builders for tests.

func cond(field string, op Op, vals ...Value) *Cond {
	return &Cond{Field: field, Op: op, Values: vals}
}
func str(s string) Value { return Value{Kind: String, Text: s} }
func num(s string) Value { return Value{Kind: Number, Text: s} }
func fn(name string, args ...string) Value {
	return Value{Kind: Func, Call: &Call{Name: name, Args: args}}
}
func and(ts ...Expr) *And { return &And{Terms: ts} }
func or(ts ...Expr) *Or   { return &Or{Terms: ts} }
func intp(n int) *int     { return &n }

// mustParse parses s or fails the test.
func mustParse(t testing.TB, s string) *Query {
	t.Helper()
	q, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}

// asError returns err as *Error or fails the test.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *kql.Error", err, err)
	}
	return e
}

// wantCode checks that err is an *Error with the code and status 400.
func wantCode(t testing.TB, err error, code string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	e := asError(t, err)
	if e.Code != code || e.Status != 400 {
		t.Fatalf("got %s/%d (%v), want %s/400", e.Code, e.Status, e, code)
	}
	return e
}

// roundTrip checks the printer's promise for q.
func roundTrip(t testing.TB, q *Query) {
	t.Helper()
	s := q.String()
	q2, err := Parse(s)
	if err != nil {
		t.Fatalf("printed %q does not parse: %v", s, err)
	}
	if !reflect.DeepEqual(q, q2) {
		t.Fatalf("round trip changed the AST:\nprinted %q\n   got %#v\n  want %#v", s, q2, q)
	}
	if s2 := q2.String(); s2 != s {
		t.Fatalf("printing twice differs:\n%q\n%q", s, s2)
	}
	if n := canonLen(q); n != len(s) {
		t.Fatalf("canonLen = %d, len(String()) = %d for %q", n, len(s), s)
	}
	if q.Where != nil {
		// Every parsed condition is one Compose accepts, and measure agrees
		// with the printer on its length.
		sh, err := measure(q.Where, 0)
		if err != nil {
			t.Fatalf("parsed condition %q is not well-formed: %v", s, err)
		}
		if f := Format(q.Where); sh.length != len(f) {
			t.Fatalf("measure length = %d, len(Format) = %d for %q", sh.length, len(f), f)
		}
	}
}

func contains(t testing.TB, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}
