package kql

// Query is a whole kintone query: an optional condition followed by the
// options, in kintone's fixed clause order.
type Query struct {
	Where   Expr // nil when the query has no condition
	OrderBy []SortKey
	Limit   *int // nil when absent
	Offset  *int // nil when absent
}

// SortKey is one key of an order by clause.
type SortKey struct {
	Field string
	Dir   Direction
}

// Direction of a sort key. kintone accepts a key without one, so the AST
// keeps the difference and the printer writes back what it was given.
type Direction uint8

const (
	DirNone Direction = iota
	Asc
	Desc
)

// Expr is a condition: *And, *Or or *Cond.
type Expr interface{ isExpr() }

// And holds two or more conditions that must all hold.
type And struct{ Terms []Expr }

// Or holds two or more conditions of which one must hold.
type Or struct{ Terms []Expr }

// Cond is one predicate on one field.
//
// Field is the code as written: a field code, "$id", or "related.field" for
// a field of a related-records table.
type Cond struct {
	Field  string
	Op     Op
	Values []Value // one for comparisons and like, one or more for in, none for is empty
}

func (*And) isExpr()  {}
func (*Or) isExpr()   {}
func (*Cond) isExpr() {}

// Op is a comparison operator.
type Op uint8

const (
	Eq Op = iota + 1
	Ne
	Lt
	Gt
	Le
	Ge
	In
	NotIn
	Like
	NotLike
	IsEmpty
	IsNotEmpty
)

// ValueKind tells how a value was written.
type ValueKind uint8

const (
	String ValueKind = iota + 1 // a double-quoted literal
	Number                      // a bare number
	Func                        // a function call such as TODAY()
)

// Value is one operand. kintone accepts numbers both bare and quoted; the
// AST keeps which, and type rules read a quoted number as a number where
// the field is numeric.
type Value struct {
	Kind ValueKind
	Text string // the unescaped string, or the number as written
	Call *Call  // set when Kind is Func
}

// Call is a function call. Name is the canonical upper-case name. Arguments
// stay as written (an integer or a bare symbol such as DAYS, LAST or MONDAY),
// except that the parser upper-cases the ASCII letters of symbols; their
// meaning depends on the function and Check validates it.
type Call struct {
	Name string
	Args []string
}
