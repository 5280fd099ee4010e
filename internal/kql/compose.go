package kql

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ComposeOptions are the caller's hooks and caps for Compose.
type ComposeOptions struct {
	// CheckField, if set, is called once for each distinct field the user's
	// condition uses (in first-use order) and then for each order by key not
	// already seen; its first error is returned. kgate uses it to refuse
	// fields the member may not read, so no hidden field can be probed.
	CheckField func(code string) error
	// MaxOffset caps the user's offset; 0 (or anything above 10,000) means
	// kintone's 10,000. A larger offset is GAIA_QU02.
	MaxOffset int
}

// Compose joins a row rule and a user's query at the root of the AST: the
// result's condition is And{rowRule, user.Where} (or whichever of the two is
// not nil), and it keeps the user's order by, limit and offset. Because the
// join happens in the AST and the printer parenthesises every term, nothing
// the user writes can reach outside its own term.
//
// rowRule nil means no row rule; user nil means an empty query. Compose
// never mutates its inputs, but the result shares their sub-conditions, so
// treat ASTs as immutable.
//
// Errors the user caused are *Error: those of CheckField (returned as is),
// GAIA_QU01/GAIA_QU02 for limit and offset, and CB_VA01 when the composed
// query would nest deeper than MaxDepth or print longer than MaxQueryBytes.
// Any other error means an input AST is malformed (a nil term, an empty
// and/or, an invalid field code, value or function) and is the caller's bug.
func Compose(rowRule Expr, user *Query, opts ComposeOptions) (*Query, error) {
	if user == nil {
		user = &Query{}
	}
	var ruleShape, userShape shape
	var err error
	if rowRule != nil {
		if ruleShape, err = measure(rowRule, 0); err != nil {
			return nil, errors.New("kql: malformed row rule: " + err.Error())
		}
	}
	if user.Where != nil {
		if userShape, err = measure(user.Where, 0); err != nil {
			return nil, errors.New("kql: malformed user condition: " + err.Error())
		}
	}
	for _, k := range user.OrderBy {
		if !validField(k.Field) || k.Dir > Desc {
			return nil, errors.New("kql: malformed order by key " + strconv.Quote(k.Field))
		}
	}
	if opts.CheckField != nil {
		if err := checkFields(user, opts.CheckField); err != nil {
			return nil, err
		}
	}
	// the user's limit is kintone's own (1..500, 100 when absent): pages are
	// never cut here, reads are bounded by the member's rate instead
	if err := checkRange(user, kintoneMaxLimit, capOr(opts.MaxOffset, kintoneMaxOffset)); err != nil {
		return nil, err
	}

	c := new(composed)
	out := &c.q
	switch {
	case rowRule == nil:
		out.Where = user.Where
	case user.Where == nil:
		out.Where = rowRule
	default:
		c.terms = [2]Expr{rowRule, user.Where}
		c.and.Terms = c.terms[:]
		out.Where = &c.and
		if max(ruleShape.depth, userShape.depth)+1 > MaxDepth {
			return nil, invalid(text{
				en: "the condition is nested too deeply: at most " + strconv.Itoa(MaxDepth-1) + " levels are allowed",
				ja: "条件の入れ子が深すぎます。" + strconv.Itoa(MaxDepth-1) + " 段までです",
			})
		}
	}
	if len(user.OrderBy) > 0 {
		out.OrderBy = append([]SortKey(nil), user.OrderBy...)
	}
	if user.Limit != nil {
		c.limit = *user.Limit
		out.Limit = &c.limit
	}
	if user.Offset != nil {
		c.offset = *user.Offset
		out.Offset = &c.offset
	}
	whereLen := ruleShape.length + userShape.length
	if rowRule != nil && user.Where != nil {
		whereLen += len("() and ()")
	}
	if optionsLen(out, whereLen) > MaxQueryBytes {
		return nil, invalid(text{
			en: "the query with the access rule added is too long: at most " + grouped(MaxQueryBytes) + " bytes are allowed",
			ja: "アクセス条件を加えたクエリが長すぎます。" + grouped(MaxQueryBytes) + " バイトまでです",
		})
	}
	return out, nil
}

// composed holds the nodes Compose creates, in one allocation.
type composed struct {
	q             Query
	and           And
	terms         [2]Expr
	limit, offset int
}

func capOr(n, kintone int) int {
	if n <= 0 || n > kintone {
		return kintone
	}
	return n
}

// checkFields calls check for each distinct field of the user's condition,
// then for each order by key not seen there.
func checkFields(user *Query, check func(string) error) error {
	var buf [16]string
	fs, seen := buf[:0], map[string]bool(nil)
	if user.Where != nil {
		fs, seen = addFields(fs, seen, user.Where)
	}
	for _, k := range user.OrderBy {
		fs, seen = addField(fs, seen, k.Field)
	}
	for _, f := range fs {
		if err := check(f); err != nil {
			return err
		}
	}
	return nil
}

// Fields returns the distinct field codes e uses, in order of first use.
func Fields(e Expr) []string {
	if e == nil {
		return nil
	}
	fs, _ := addFields(nil, nil, e)
	return fs
}

// addFields adds the distinct field codes of e to list, in order of first
// use; see addField.
func addFields(list []string, seen map[string]bool, e Expr) ([]string, map[string]bool) {
	switch e := e.(type) {
	case *And:
		for _, t := range e.Terms {
			list, seen = addFields(list, seen, t)
		}
	case *Or:
		for _, t := range e.Terms {
			list, seen = addFields(list, seen, t)
		}
	case *Cond:
		if e != nil {
			list, seen = addField(list, seen, e.Field)
		}
	}
	return list, seen
}

// fieldScan is how long a field list is scanned for duplicates before
// addField switches to a map, so a hostile query naming thousands of fields
// costs linear time.
const fieldScan = 32

// addField appends f to list unless it is there. seen is nil while list is
// short, then the set of codes in list.
func addField(list []string, seen map[string]bool, f string) ([]string, map[string]bool) {
	if seen != nil {
		if !seen[f] {
			seen[f] = true
			list = append(list, f)
		}
		return list, seen
	}
	for _, g := range list {
		if g == f {
			return list, nil
		}
	}
	list = append(list, f)
	if len(list) > fieldScan {
		seen = make(map[string]bool, 2*len(list))
		for _, g := range list {
			seen[g] = true
		}
	}
	return list, seen
}

// shape is what Compose needs to know about a condition: its and/or depth
// and the length of its canonical text.
type shape struct{ depth, length int }

// measure checks that e is a condition the parser could have produced (up
// to the number of terms of an and/or, which may be one) and returns its
// shape. It stops at MaxDepth+1 levels, so a cyclic or absurdly deep AST
// cannot exhaust the stack.
func measure(e Expr, level int) (shape, error) {
	if level > MaxDepth {
		return shape{}, errors.New("nested deeper than MaxDepth")
	}
	var terms []Expr
	join := len(" and ")
	switch e := e.(type) {
	case *And:
		if e == nil {
			return shape{}, errors.New("nil *And")
		}
		terms = e.Terms
	case *Or:
		if e == nil {
			return shape{}, errors.New("nil *Or")
		}
		terms, join = e.Terms, len(" or ")
	case *Cond:
		if err := wellFormedCond(e); err != nil {
			return shape{}, err
		}
		return shape{length: condLen(e)}, nil
	default:
		return shape{}, errors.New("nil or unknown condition")
	}
	if len(terms) == 0 {
		return shape{}, errors.New("and/or without terms")
	}
	s := shape{length: (len(terms) - 1) * join}
	for _, t := range terms {
		ts, err := measure(t, level+1)
		if err != nil {
			return shape{}, err
		}
		s.depth = max(s.depth, ts.depth)
		s.length += 2 + ts.length
	}
	s.depth++
	return s, nil
}

func wellFormedCond(c *Cond) error {
	if c == nil {
		return errors.New("nil *Cond")
	}
	if !validField(c.Field) {
		return errors.New("invalid field code " + strconv.Quote(c.Field))
	}
	n := len(c.Values)
	switch c.Op {
	case Eq, Ne, Lt, Gt, Le, Ge:
		if n != 1 {
			return errors.New(c.Op.String() + " takes one value")
		}
	case In, NotIn:
		if n == 0 {
			return errors.New(c.Op.String() + " takes one or more values")
		}
	case Like, NotLike:
		if n != 1 || c.Values[0].Kind != String {
			return errors.New(c.Op.String() + " takes one string")
		}
	case IsEmpty, IsNotEmpty:
		if n != 0 {
			return errors.New(c.Op.String() + " takes no value")
		}
	default:
		return errors.New("unknown operator " + c.Op.String())
	}
	for _, v := range c.Values {
		if err := wellFormedValue(v); err != nil {
			return err
		}
	}
	return nil
}

func wellFormedValue(v Value) error {
	switch v.Kind {
	case String:
		if !utf8.ValidString(v.Text) {
			return errors.New("string value is not valid UTF-8")
		}
		for i := 0; i < len(v.Text); i++ {
			if c := v.Text[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
				return errors.New("string value holds a control character")
			}
		}
		return nil
	case Number:
		if !validNumber(v.Text) {
			return errors.New("invalid number " + strconv.Quote(v.Text))
		}
		return nil
	case Func:
		if v.Call == nil || canonicalFunc(v.Call.Name) != v.Call.Name {
			return errors.New("unknown function")
		}
		for _, a := range v.Call.Args {
			if !validArg(a) {
				return errors.New("invalid function argument " + strconv.Quote(a))
			}
		}
		return nil
	}
	return errors.New("unknown value kind")
}
