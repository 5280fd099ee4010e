package kql

import (
	"strconv"
)

var opText = [...]string{
	Eq: "=", Ne: "!=", Lt: "<", Gt: ">", Le: "<=", Ge: ">=",
	In: "in", NotIn: "not in", Like: "like", NotLike: "not like",
	IsEmpty: "is empty", IsNotEmpty: "is not empty",
}

// String returns the operator as a query writes it, e.g. "not in".
func (o Op) String() string {
	if o == 0 || int(o) >= len(opText) {
		return "Op(" + strconv.Itoa(int(o)) + ")"
	}
	return opText[o]
}

// String returns the query in canonical form: keywords in lower case,
// function names in upper case, single spaces, every string double-quoted
// and escaped, and every term of an and/or in parentheses. Parsing the
// result gives back an AST equal to q.
//
// The printer never lets a malformed AST change the meaning of the text: a
// field code or function argument that is not lexically valid is written as
// a string literal, and a number or function that is not one as a string in
// parentheses, where neither is allowed, so the text fails to parse rather
// than meaning something else.
func (q *Query) String() string {
	return string(appendQuery(make([]byte, 0, canonLen(q)), q))
}

// Format returns the condition e in canonical form (see Query.String).
func Format(e Expr) string {
	return string(appendExpr(make([]byte, 0, exprLen(e)), e))
}

func appendQuery(b []byte, q *Query) []byte {
	sep := func() {
		if len(b) > 0 {
			b = append(b, ' ')
		}
	}
	if q.Where != nil {
		b = appendExpr(b, q.Where)
	}
	if len(q.OrderBy) > 0 {
		sep()
		b = append(b, "order by "...)
		for i, k := range q.OrderBy {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendField(b, k.Field)
			switch k.Dir {
			case Asc:
				b = append(b, " asc"...)
			case Desc:
				b = append(b, " desc"...)
			}
		}
	}
	if q.Limit != nil {
		sep()
		b = append(b, "limit "...)
		b = strconv.AppendInt(b, int64(*q.Limit), 10)
	}
	if q.Offset != nil {
		sep()
		b = append(b, "offset "...)
		b = strconv.AppendInt(b, int64(*q.Offset), 10)
	}
	return b
}

func appendExpr(b []byte, e Expr) []byte {
	switch e := e.(type) {
	case *Cond:
		return appendCond(b, e)
	case *And:
		return appendTerms(b, e.Terms, " and ")
	case *Or:
		return appendTerms(b, e.Terms, " or ")
	}
	return append(b, "()"...) // nil or foreign: never valid syntax
}

func appendTerms(b []byte, terms []Expr, join string) []byte {
	if len(terms) == 0 {
		return append(b, "()"...)
	}
	for i, t := range terms {
		if i > 0 {
			b = append(b, join...)
		}
		b = append(b, '(')
		b = appendExpr(b, t)
		b = append(b, ')')
	}
	return b
}

func appendCond(b []byte, c *Cond) []byte {
	b = appendField(b, c.Field)
	b = append(b, ' ')
	b = append(b, c.Op.String()...)
	switch c.Op {
	case IsEmpty, IsNotEmpty:
		return b
	case In, NotIn:
		b = append(b, " ("...)
		for i, v := range c.Values {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, v)
		}
		return append(b, ')')
	}
	b = append(b, ' ')
	if len(c.Values) == 0 {
		return append(b, "()"...)
	}
	return appendValue(b, c.Values[0])
}

// appendField writes a field code, or a string literal if it is not one.
func appendField(b []byte, f string) []byte {
	if !validField(f) {
		return appendString(b, f)
	}
	return append(b, f...)
}

func appendValue(b []byte, v Value) []byte {
	switch v.Kind {
	case String:
		return appendString(b, v.Text)
	case Number:
		if validNumber(v.Text) {
			return append(b, v.Text...)
		}
	case Func:
		if v.Call != nil && canonicalFunc(v.Call.Name) == v.Call.Name {
			return appendCall(b, v.Call)
		}
		if v.Call != nil {
			return appendInvalid(b, v.Call.Name)
		}
	}
	return appendInvalid(b, v.Text)
}

// appendInvalid writes s as a string in parentheses, which is never a value.
func appendInvalid(b []byte, s string) []byte {
	b = append(b, '(')
	return append(appendString(b, s), ')')
}

func appendCall(b []byte, c *Call) []byte {
	b = append(b, c.Name...)
	b = append(b, '(')
	for i, a := range c.Args {
		if i > 0 {
			b = append(b, ", "...)
		}
		if validArg(a) {
			b = append(b, a...)
		} else {
			b = appendString(b, a)
		}
	}
	return append(b, ')')
}

// appendString writes s as a double-quoted literal, escaping \ " TAB LF CR.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	from := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		default:
			continue
		}
		b = append(b, s[from:i]...)
		b = append(b, esc...)
		from = i + 1
	}
	b = append(b, s[from:]...)
	return append(b, '"')
}

// canonLen returns len(q.String()) without building the string.
func canonLen(q *Query) int {
	if q.Where == nil {
		return optionsLen(q, 0)
	}
	return optionsLen(q, exprLen(q.Where))
}

// optionsLen returns the printed length of q with a condition of whereLen
// bytes (0 for none) in place of q.Where.
func optionsLen(q *Query, whereLen int) int {
	n := whereLen
	parts := 0
	if whereLen > 0 {
		parts++
	}
	if len(q.OrderBy) > 0 {
		n += len("order by ")
		for i, k := range q.OrderBy {
			if i > 0 {
				n += 2
			}
			n += fieldLen(k.Field)
			switch k.Dir {
			case Asc:
				n += len(" asc")
			case Desc:
				n += len(" desc")
			}
		}
		parts++
	}
	if q.Limit != nil {
		n += len("limit ") + intLen(*q.Limit)
		parts++
	}
	if q.Offset != nil {
		n += len("offset ") + intLen(*q.Offset)
		parts++
	}
	if parts > 1 {
		n += parts - 1
	}
	return n
}

func exprLen(e Expr) int {
	switch e := e.(type) {
	case *Cond:
		return condLen(e)
	case *And:
		return termsLen(e.Terms, len(" and "))
	case *Or:
		return termsLen(e.Terms, len(" or "))
	}
	return 2
}

func termsLen(terms []Expr, join int) int {
	if len(terms) == 0 {
		return 2
	}
	n := (len(terms) - 1) * join
	for _, t := range terms {
		n += 2 + exprLen(t)
	}
	return n
}

func condLen(c *Cond) int {
	n := fieldLen(c.Field) + 1 + len(c.Op.String())
	switch c.Op {
	case IsEmpty, IsNotEmpty:
		return n
	case In, NotIn:
		n += 3 // " (" and ")"
		for i, v := range c.Values {
			if i > 0 {
				n += 2
			}
			n += valueLen(v)
		}
		return n
	}
	if len(c.Values) == 0 {
		return n + 3
	}
	return n + 1 + valueLen(c.Values[0])
}

func fieldLen(f string) int {
	if !validField(f) {
		return stringLen(f)
	}
	return len(f)
}

func valueLen(v Value) int {
	switch v.Kind {
	case String:
		return stringLen(v.Text)
	case Number:
		if validNumber(v.Text) {
			return len(v.Text)
		}
	case Func:
		if v.Call == nil {
			return stringLen(v.Text) + 2
		}
		c := v.Call
		if canonicalFunc(c.Name) != c.Name {
			return stringLen(c.Name) + 2
		}
		n := len(c.Name) + 2
		for i, a := range c.Args {
			if i > 0 {
				n += 2
			}
			if validArg(a) {
				n += len(a)
			} else {
				n += stringLen(a)
			}
		}
		return n
	}
	return stringLen(v.Text) + 2
}

func stringLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\\', '\t', '\n', '\r':
			n++
		}
	}
	return n
}

func intLen(n int) int {
	var buf [24]byte
	return len(strconv.AppendInt(buf[:0], int64(n), 10))
}
