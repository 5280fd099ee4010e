package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kql"
)

// A translated condition is "always", "never" or a KQL expression. Branches
// that the field types decide on their own (a value that is not an option
// of a drop-down, a comparison with the empty value) become always/never and
// are simplified away, so the query kintone gets is as small as the policy
// allows.
type tv struct {
	always, never bool
	e             kql.Expr
}

var (
	tvAlways = tv{always: true}
	tvNever  = tv{never: true}
)

func tvExpr(e kql.Expr) tv { return tv{e: e} }

// tAnd joins terms with and: never wins, always drops out.
func tAnd(ts []tv) tv {
	var es []kql.Expr
	for _, t := range ts {
		switch {
		case t.never:
			return tvNever
		case t.always:
		default:
			if a, ok := t.e.(*kql.And); ok {
				es = append(es, a.Terms...)
			} else {
				es = append(es, t.e)
			}
		}
	}
	switch len(es) {
	case 0:
		return tvAlways
	case 1:
		return tvExpr(es[0])
	}
	return tvExpr(&kql.And{Terms: es})
}

// tOr joins terms with or: always wins, never drops out.
func tOr(ts []tv) tv {
	var es []kql.Expr
	for _, t := range ts {
		switch {
		case t.always:
			return tvAlways
		case t.never:
		default:
			if o, ok := t.e.(*kql.Or); ok {
				es = append(es, o.Terms...)
			} else {
				es = append(es, t.e)
			}
		}
	}
	switch len(es) {
	case 0:
		return tvNever
	case 1:
		return tvExpr(es[0])
	}
	return tvExpr(&kql.Or{Terms: es})
}

// TranslationError is a row rule that cannot become a kintone query for this
// app: the policy left the fragment kgate supports, named a field the form
// does not have, or compared a field with a value of the wrong type.
type TranslationError struct {
	Field string // the record field concerned, "" for the rule as a whole
	Msg   string
}

func (e *TranslationError) Error() string {
	if e.Field == "" {
		return "row rule: " + e.Msg
	}
	return "row rule: field " + strconv.Quote(e.Field) + ": " + e.Msg
}

func terr(field, format string, args ...any) error {
	return &TranslationError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// translate turns a parsed UCAST tree into a KQL condition for an app whose
// form has the given fields (keyed by field code).
func translate(n *unode, fields map[string]kql.Field) (tv, error) {
	if n.kids != nil {
		ts := make([]tv, len(n.kids))
		for i := range n.kids {
			t, err := translate(&n.kids[i], fields)
			if err != nil {
				return tv{}, err
			}
			ts[i] = t
		}
		if n.op == "and" {
			return tAnd(ts), nil
		}
		return tOr(ts), nil
	}
	code, ok := strings.CutPrefix(n.field, recordPrefix)
	if !ok || code == "" {
		return tv{}, terr("", "%q is not a field of input.record", n.field)
	}
	f, err := lookup(code, fields)
	if err != nil {
		return tv{}, err
	}
	k, ok := kinds[f.Type]
	if !ok {
		return tv{}, terr(code, "a %s field cannot appear in a row rule (only single-valued fields can: text, number, drop-down, radio button, status, date and time, record number, $id, creator, modifier)", f.Type)
	}
	return k.leaf(code, f, n.op, n.value)
}

// lookup allowlists a field code against the app's form. The code comes
// from the policy, and with a dynamic key (input.record[x]) from whatever x
// held, so nothing that is not a field of this form goes any further.
func lookup(code string, fields map[string]kql.Field) (kql.Field, error) {
	if strings.HasPrefix(code, "__local") {
		// a variable partial evaluation could not resolve, not a field
		return kql.Field{}, terr(code, "the rule iterates over the fields of input.record")
	}
	if f, ok := fields[code]; ok && f.Code == code {
		if f.InSubtable {
			return kql.Field{}, terr(code, "fields inside a table cannot appear in a row rule")
		}
		return f, nil
	}
	if code == "$id" {
		return kql.Field{Code: "$id", Type: "__ID__"}, nil
	}
	return kql.Field{}, terr(code, "no such field in the app's form")
}

// kind is how one group of field types translates. Flatten gives each group
// one Go type in input.record; the flattened empty value (empty) is what an
// unset field reads as in Rego ("" for strings, null for numbers).
type kind struct {
	number   bool // values are numbers (else strings)
	nullable bool // the field can be unset
	ordered  bool // < <= > >= are meaningful in both Rego and kintone
	natIn    bool // kintone has in (...) for the type
	eqIn     bool // = and != are written in (v) and not in (v)
	bare     bool // string values are printed as numbers (record number)
	check    func(code string, f kql.Field, s string) (ok bool, err error)
	empty    func(code string) kql.Expr // the test for the unset value
	nonEmpty func(code string) kql.Expr
}

var kinds = func() map[string]*kind {
	text := &kind{natIn: true, nullable: true,
		empty: eqEmpty, nonEmpty: neEmpty}
	choice := &kind{natIn: true, eqIn: true, nullable: true, check: checkOption,
		empty: inEmpty, nonEmpty: notInEmpty}
	user := &kind{natIn: true, eqIn: true}
	number := &kind{number: true, nullable: true, ordered: true, natIn: true,
		empty: eqEmpty, nonEmpty: neEmpty}
	id := &kind{number: true, ordered: true, natIn: true}
	recno := &kind{natIn: true, bare: true, check: checkRecordNumber}
	date := &kind{nullable: true, ordered: true, check: checkLayout("2006-01-02"),
		empty: eqEmpty, nonEmpty: neEmpty}
	tm := &kind{nullable: true, ordered: true, check: checkLayout("15:04"),
		empty: eqEmpty, nonEmpty: neEmpty}
	datetime := &kind{nullable: true, ordered: true, check: checkDatetime,
		empty: eqEmpty, nonEmpty: neEmpty}
	stamp := &kind{ordered: true, check: checkDatetime}
	return map[string]*kind{
		"SINGLE_LINE_TEXT": text, "LINK": text,
		"DROP_DOWN": choice, "RADIO_BUTTON": choice, "STATUS": choice,
		"CREATOR": user, "MODIFIER": user,
		"NUMBER": number, "CALC": number,
		"__ID__":        id,
		"RECORD_NUMBER": recno,
		"DATE":          date, "TIME": tm, "DATETIME": datetime,
		"CREATED_TIME": stamp, "UPDATED_TIME": stamp,
	}
}()

func eqEmpty(code string) kql.Expr {
	return &kql.Cond{Field: code, Op: kql.Eq, Values: []kql.Value{{Kind: kql.String}}}
}
func neEmpty(code string) kql.Expr {
	return &kql.Cond{Field: code, Op: kql.Ne, Values: []kql.Value{{Kind: kql.String}}}
}
func inEmpty(code string) kql.Expr {
	return &kql.Cond{Field: code, Op: kql.In, Values: []kql.Value{{Kind: kql.String}}}
}
func notInEmpty(code string) kql.Expr {
	return &kql.Cond{Field: code, Op: kql.NotIn, Values: []kql.Value{{Kind: kql.String}}}
}

// leaf translates one comparison "field op value".
func (k *kind) leaf(code string, f kql.Field, op string, v any) (tv, error) {
	switch op {
	case "lt", "lte", "gt", "gte":
		if !k.ordered {
			return tv{}, terr(code, "kintone cannot compare a %s field with <, <=, > or >=", f.Type)
		}
	case "in":
		return k.in(code, f, v)
	}
	val, isEmpty, ok, err := k.value(code, f, v)
	if err != nil {
		return tv{}, err
	}
	if !ok {
		// a value the field can never hold: equal to nothing, different from all
		switch op {
		case "eq":
			return tvNever, nil
		case "ne":
			return tvAlways, nil
		}
		return tv{}, terr(code, "cannot compare with %v", v)
	}
	if isEmpty {
		return k.withEmpty(code, op), nil
	}
	cond := func(o kql.Op) tv {
		if k.eqIn {
			switch o {
			case kql.Eq:
				o = kql.In
			case kql.Ne:
				o = kql.NotIn
			}
		}
		return tvExpr(&kql.Cond{Field: code, Op: o, Values: []kql.Value{val}})
	}
	// The unset value reads as "" or null, which Rego orders before every
	// other value of the field, so it satisfies != < <= as well. The
	// explicit emptiness test makes the query say the same whatever kintone
	// does with unset values in those operators.
	orEmpty := func(t tv) tv {
		if !k.nullable {
			return t
		}
		return tOr([]tv{t, tvExpr(k.empty(code))})
	}
	switch op {
	case "eq":
		return cond(kql.Eq), nil
	case "ne":
		return orEmpty(cond(kql.Ne)), nil
	case "lt":
		return orEmpty(cond(kql.Lt)), nil
	case "lte":
		return orEmpty(cond(kql.Le)), nil
	case "gt":
		return cond(kql.Gt), nil
	case "gte":
		return cond(kql.Ge), nil
	}
	return tv{}, terr(code, "unsupported operator %q", op)
}

// withEmpty is a comparison with the flattened empty value itself ("" or
// null), which orders before every other value of the field in Rego.
func (k *kind) withEmpty(code, op string) tv {
	if !k.nullable {
		switch op {
		case "eq", "lt", "lte":
			return tvNever
		}
		return tvAlways
	}
	switch op {
	case "eq", "lte":
		return tvExpr(k.empty(code))
	case "ne", "gt":
		return tvExpr(k.nonEmpty(code))
	case "lt":
		return tvNever
	}
	return tvAlways // gte
}

// in translates "field in [v1, v2, ...]": an or of equalities, written as
// one in (...) where kintone has it.
func (k *kind) in(code string, f kql.Field, v any) (tv, error) {
	list, ok := v.([]any)
	if !ok {
		return tv{}, terr(code, "in needs a collection, got %T", v)
	}
	var ts []tv
	var vals []kql.Value
	for _, e := range list {
		val, isEmpty, ok, err := k.value(code, f, e)
		switch {
		case err != nil:
			return tv{}, err
		case !ok:
			continue
		case isEmpty && k.eqIn && k.nullable:
			// in ("") is kintone's own test for an unset choice
			if !slices.Contains(vals, kql.Value{Kind: kql.String}) {
				vals = append(vals, kql.Value{Kind: kql.String})
			}
		case isEmpty:
			ts = append(ts, k.withEmpty(code, "eq"))
		case !slices.Contains(vals, val):
			vals = append(vals, val)
		}
	}
	if len(vals) > 0 {
		if k.natIn {
			ts = append(ts, tvExpr(&kql.Cond{Field: code, Op: kql.In, Values: vals}))
		} else {
			for _, val := range vals {
				ts = append(ts, tvExpr(&kql.Cond{Field: code, Op: kql.Eq, Values: []kql.Value{val}}))
			}
		}
	}
	return tOr(ts), nil
}

// value checks a rule value against the field's kind and converts it.
// isEmpty: the value is the flattened empty value. ok=false: a value of the
// right type that the field can never hold (not an option).
func (k *kind) value(code string, f kql.Field, v any) (val kql.Value, isEmpty, ok bool, err error) {
	if k.number {
		switch x := v.(type) {
		case nil:
			return kql.Value{}, true, true, nil
		case json.Number:
			s, err := numberText(code, x)
			return kql.Value{Kind: kql.Number, Text: s}, false, true, err
		}
		return kql.Value{}, false, false, terr(code, "%s values are numbers in input.record, the rule compares with %s", f.Type, typeName(v))
	}
	s, isString := v.(string)
	if !isString {
		hint := ""
		if v == nil {
			hint = ` (an unset field reads as "" in input.record)`
		}
		return kql.Value{}, false, false, terr(code, "%s values are strings in input.record, the rule compares with %s%s", f.Type, typeName(v), hint)
	}
	if s == "" {
		return kql.Value{}, true, true, nil
	}
	if k.check != nil {
		ok, err := k.check(code, f, s)
		if err != nil || !ok {
			return kql.Value{}, false, false, err
		}
	}
	if k.bare {
		return kql.Value{Kind: kql.Number, Text: s}, false, true, nil
	}
	return kql.Value{Kind: kql.String, Text: s}, false, true, nil
}

// numberText prints a number as kintone reads it: the policy's own digits,
// exactly, as a plain decimal (an exponent is written out), so that the
// kintone condition draws the line where the policy does.
func numberText(code string, x json.Number) (string, error) {
	s, ok := decimal(string(x))
	if !ok || len(s) > maxNumberText {
		return "", terr(code, "%s is not a number kintone can compare exactly", x)
	}
	return string(s), nil
}

// maxNumberText bounds a number written out in a condition: kintone's
// precision ends far before it, and 1e999 would otherwise become a
// thousand digits.
const maxNumberText = 80

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// checkOption: kintone refuses a query value that is not an option
// (GAIA_IQ10), and Rego finds it equal to nothing; such a branch is decided
// here. Without options (a STATUS field described without its states) every
// value is taken as possible.
func checkOption(_ string, f kql.Field, s string) (bool, error) {
	return len(f.Options) == 0 || slices.Contains(f.Options, s), nil
}

// checkRecordNumber: Flatten gives record numbers as digit strings without
// the app code, which kintone compares as numbers. Only plain digits mean
// the same in both.
func checkRecordNumber(code string, _ kql.Field, s string) (bool, error) {
	if len(s) > 15 || !digits(s) || (len(s) > 1 && s[0] == '0') {
		return false, terr(code, "record numbers are compared as digit strings like \"12\", got %q", s)
	}
	return true, nil
}

// checkLayout validates a date or time value: string order equals time
// order only for values in exactly this form.
func checkLayout(layout string) func(string, kql.Field, string) (bool, error) {
	return func(code string, f kql.Field, s string) (bool, error) {
		if t, err := time.Parse(layout, s); err != nil || t.Format(layout) != s {
			return false, terr(code, "%s values must look like %q, got %q", f.Type, layout, s)
		}
		return true, nil
	}
}

// checkDatetime: kintone returns date-times in UTC with zero seconds, and
// compares them as instants. Only values in that same form order the same
// way as strings in Rego.
func checkDatetime(code string, f kql.Field, s string) (bool, error) {
	const layout = "2006-01-02T15:04:05Z"
	if t, err := time.Parse(layout, s); err != nil || t.Format(layout) != s || t.Second() != 0 {
		return false, terr(code, "%s values must be UTC minutes like \"2024-01-02T03:04:00Z\", got %q", f.Type, s)
	}
	return true, nil
}
