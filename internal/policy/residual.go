package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// The row rule's tree is read from the partial evaluation itself, not from
// OPA's UCAST output: UCAST passes through JSON and carries every number as
// a float64, so a threshold such as 1000.00000000000000001 arrives as 1000
// and kintone would let through records the policy refuses. The residual
// keeps each value as the policy wrote it. OPA's compile package still
// runs first, as the judge of the linq fragment (its error messages name
// the rule and the construct); this reader then accepts exactly that
// fragment and refuses anything else.

// residualOps maps the builtins of the linq fragment to tree operators.
var residualOps = map[string]string{
	ast.Equality.Name:      "eq",
	ast.NotEqual.Name:      "ne",
	ast.LessThan.Name:      "lt",
	ast.LessThanEq.Name:    "lte",
	ast.GreaterThan.Name:   "gt",
	ast.GreaterThanEq.Name: "gte",
	ast.Member.Name:        "in",
}

// mirroredOps is the operator that holds with the operands swapped.
var mirroredOps = map[string]string{"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}

// errSupport: rules partial evaluation could not inline cannot become a
// kintone condition (the fragment check refuses them first).
var errSupport = errors.New("include needs rules that partial evaluation could not inline (a default rule, a multi-value rule or an else)")

// fromResidual turns a partial evaluation of include into a compiled rule:
// no query is "never", an empty query is "always", and otherwise an or of
// ands of comparisons between one input.record field and a known value.
func fromResidual(pq *rego.PartialQueries) (*compiled, error) {
	if len(pq.Support) > 0 {
		return nil, errSupport
	}
	if len(pq.Queries) == 0 {
		return &compiled{never: true}, nil
	}
	ors := make([]unode, 0, len(pq.Queries))
	for _, body := range pq.Queries {
		if len(body) == 0 {
			return &compiled{always: true}, nil
		}
		ands := make([]unode, 0, len(body))
		for _, expr := range body {
			leaf, err := residualLeaf(expr)
			if err != nil {
				return nil, fmt.Errorf("%v: %w", expr, err)
			}
			ands = append(ands, leaf)
		}
		ors = append(ors, group("and", ands))
	}
	root := group("or", ors)
	return &compiled{root: root, fields: root.fields()}, nil
}

func group(op string, kids []unode) unode {
	if len(kids) == 1 {
		return kids[0]
	}
	return unode{op: op, kids: kids}
}

// residualLeaf reads one expression: a call of a fragment builtin with a
// field of input.record on one side and a known value on the other.
func residualLeaf(expr *ast.Expr) (unode, error) {
	if expr.Negated || len(expr.With) > 0 || !expr.IsCall() || len(expr.Operands()) != 2 {
		return unode{}, errors.New("not a comparison of a record field with a value")
	}
	name := expr.Operator().String()
	op, ok := residualOps[name]
	if !ok {
		return unode{}, fmt.Errorf("%s is outside the fragment kgate translates", name)
	}
	left, right := expr.Operand(0), expr.Operand(1)
	for _, t := range []*ast.Term{left, right} {
		if err := odd(t); err != nil {
			return unode{}, err
		}
	}
	field, isField := recordField(left)
	value := right
	if !isField {
		if op == "in" {
			return unode{}, errors.New("in needs the record field on its left")
		}
		if field, isField = recordField(right); !isField {
			return unode{}, errors.New("no field of input.record in the comparison")
		}
		value = left
		if m, ok := mirroredOps[op]; ok {
			op = m
		}
	}
	if !ast.IsConstant(value.Value) {
		return unode{}, errors.New("the value compared with the field is not known before the record is")
	}
	v, err := ast.ValueToInterface(value.Value, nil)
	if err != nil {
		return unode{}, err
	}
	return unode{op: op, field: field, value: v}, nil
}

// recordField names input.record.<code> the way the translator expects
// ("record.<code>").
func recordField(t *ast.Term) (string, bool) {
	ref, ok := t.Value.(ast.Ref)
	if !ok || len(ref) != 3 || !ref.HasPrefix(recordRef) {
		return "", false
	}
	code, ok := ref[2].Value.(ast.String)
	if !ok || code == "" {
		return "", false
	}
	return recordPrefix + string(code), true
}

var recordRef = ast.MustParseRef("input.record")

// odd explains a reference into input.record that is not one field: the
// reader would otherwise only say that no field was found.
func odd(t *ast.Term) error {
	ref, ok := t.Value.(ast.Ref)
	if !ok || !ref.HasPrefix(recordRef) {
		return nil
	}
	switch {
	case len(ref) != 3:
		return fmt.Errorf("%v is not one field of input.record", ref)
	case ref[2].IsGround() && !isString(ref[2]):
		return fmt.Errorf("%v: field codes are strings", ref)
	case !ref[2].IsGround():
		return fmt.Errorf("%v: the rule iterates over the fields of input.record", ref)
	}
	return nil
}

func isString(t *ast.Term) bool {
	_, ok := t.Value.(ast.String)
	return ok
}

// unode is one node of a row rule's tree: an and/or of comparisons, each
// between one field of input.record and a known value, as the residual of
// partial evaluation holds them.
type unode struct {
	op    string  // and, or | eq, ne, lt, lte, gt, gte, in
	field string  // field nodes: "record.<code>"
	value any     // field nodes: string, json.Number, bool, nil, []any or map[string]any
	kids  []unode // compound nodes
}

// fields returns the record fields the tree reads, sorted, without
// duplicates. It lists every field of the residual, also those the
// translation later simplifies away: a full evaluation of include reads
// them, so the gateway must fetch them for the re-check.
func (n *unode) fields() []string {
	var out []string
	var walk func(*unode)
	walk = func(n *unode) {
		if n.kids == nil {
			out = append(out, strings.TrimPrefix(n.field, recordPrefix))
			return
		}
		for i := range n.kids {
			walk(&n.kids[i])
		}
	}
	walk(n)
	slices.Sort(out)
	return slices.Compact(out)
}

// recordPrefix is how UCAST names a field of input.record.
const recordPrefix = "record."
