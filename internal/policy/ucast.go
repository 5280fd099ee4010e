package policy

import (
	"fmt"
	"slices"
	"strings"
)

// unode is one node of the UCAST tree that OPA's compile package returns
// (as map[string]any). Parsing it into this shape first means the
// translator works on checked data: every node has a known operator, every
// field node a field name and a value.
type unode struct {
	op    string  // and, or | eq, ne, lt, lte, gt, gte, in
	field string  // field nodes: "record.<code>" as OPA wrote it
	value any     // field nodes: string, float64, bool, nil or []any
	kids  []unode // compound nodes
}

// parseUCAST checks and converts OPA's UCAST map. The linq variant emits
// only the operators accepted here; anything else is refused rather than
// guessed at.
func parseUCAST(m map[string]any) (unode, error) {
	typ, _ := m["type"].(string)
	op, _ := m["operator"].(string)
	switch typ {
	case "compound":
		if op != "and" && op != "or" {
			return unode{}, fmt.Errorf("unsupported compound operator %q", op)
		}
		vs, ok := m["value"].([]any)
		if !ok || len(vs) == 0 {
			return unode{}, fmt.Errorf("compound %q without operands", op)
		}
		n := unode{op: op, kids: make([]unode, len(vs))}
		for i, v := range vs {
			vm, ok := v.(map[string]any)
			if !ok {
				return unode{}, fmt.Errorf("compound %q operand is %T", op, v)
			}
			k, err := parseUCAST(vm)
			if err != nil {
				return unode{}, err
			}
			n.kids[i] = k
		}
		return n, nil
	case "field":
		switch op {
		case "eq", "ne", "lt", "lte", "gt", "gte", "in":
		default:
			return unode{}, fmt.Errorf("unsupported field operator %q", op)
		}
		f, ok := m["field"].(string)
		if !ok {
			return unode{}, fmt.Errorf("field node without a field name")
		}
		v, ok := m["value"]
		if !ok {
			return unode{}, fmt.Errorf("field node %q without a value", f)
		}
		if _, ok := v.(map[string]any); ok {
			// {field: ...} is a field-to-field comparison, objects are not values
			return unode{}, fmt.Errorf("%s: comparing with an object or another field is not supported", f)
		}
		return unode{op: op, field: f, value: v}, nil
	}
	return unode{}, fmt.Errorf("unsupported UCAST node type %q", typ)
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
