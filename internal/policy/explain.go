package policy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Explanation says why a policy decided what it did for one input: the
// decision itself and, for every rule body of the policy's own files that
// the evaluation reached, whether it held and, if not, the expression that
// failed with the values it compared. Rules of OPA's and the query kgate
// wraps around them are left out: an operator reads their own policy.
type Explanation struct {
	Decision *Decision
	// Rules are the bodies the decision rules reached, in file order.
	Rules []RuleOutcome
	// Included is whether include holds for Input.Record, and Include the
	// bodies its evaluation reached; both only when a record was given.
	Included *bool
	Include  []RuleOutcome
	// Trace is every event of the evaluations in the policy's files, one
	// line each, for a verbose report.
	Trace []string
}

// RuleOutcome is one rule body as the evaluation met it.
type RuleOutcome struct {
	Rule     string        `json:"rule"`
	Location string        `json:"location"` // file:line of the body's rule
	Held     bool          `json:"held"`
	Failed   *ExprOutcome  `json:"failed,omitempty"` // the expression that ended the body
	rule     *ast.Location // for ordering
}

// ExprOutcome is an expression that failed.
type ExprOutcome struct {
	Location string    `json:"location"`
	Expr     string    `json:"expr"` // as written in the policy
	Values   []Operand `json:"values,omitempty"`
}

// Operand is a term of a failed expression and its value when it was
// compared. Value is in Rego's syntax, "undefined" when the term had none
// (an attribute the member lacks, a rule that did not hold).
type Operand struct {
	Term  string `json:"term"`
	Value string `json:"value"`
}

// Undefined is the Value of an operand that had no value.
const Undefined = "undefined"

// Explain evaluates the decision rules (and include, when in.Record is
// set) once more with OPA's tracer, without any cache or rule index, so
// that every body of every rule reached is reported.
func (v View) Explain(ctx context.Context, in Input) (x *Explanation, err error) {
	s := v.s
	defer recovered(&err)
	d, err := s.decide(ctx, &in)
	if err != nil {
		return nil, err
	}
	x = &Explanation{Decision: d}
	input := in.value(true)
	t := s.newTracer()
	if _, err := s.decision.Eval(ctx, rego.EvalParsedInput(input),
		rego.EvalQueryTracer(t), rego.EvalRuleIndexing(false), rego.EvalEarlyExit(false)); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	x.Rules = s.outcomes(ctx, input, t)
	x.Trace = t.lines
	if in.Record == nil {
		return x, nil
	}
	ok, err := s.includes(ctx, &in)
	if err != nil {
		return nil, err
	}
	x.Included = &ok
	t = s.newTracer()
	if _, err := s.include.Eval(ctx, rego.EvalParsedInput(input),
		rego.EvalQueryTracer(t), rego.EvalRuleIndexing(false), rego.EvalEarlyExit(false)); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	x.Include = s.outcomes(ctx, input, t)
	x.Trace = append(x.Trace, t.lines...)
	return x, nil
}

// Explain is View.Explain on the version serving now.
func (e *Engine) Explain(ctx context.Context, in Input) (*Explanation, error) {
	return e.View().Explain(ctx, in)
}

// tracer records rule bodies as OPA enters them. It works while the
// evaluation runs because only then do the event's bindings hold the
// values of the body's variables.
type tracer struct {
	files map[string]bool
	runs  map[uint64]*run // by the query id of the body's evaluation
	order []*run
	lines []string
}

type run struct {
	rule    *ast.Rule
	held    bool
	failed  *ast.Expr
	plugged []*ast.Term // the failed expression's operands, variables bound
}

func (s *snapshot) newTracer() *tracer {
	return &tracer{files: s.files, runs: map[uint64]*run{}}
}

var _ topdown.QueryTracer = (*tracer)(nil)

func (t *tracer) Enabled() bool { return true }

func (t *tracer) Config() topdown.TraceConfig { return topdown.TraceConfig{PlugLocalVars: true} }

func (t *tracer) TraceEvent(e topdown.Event) {
	if e.Location == nil || !t.files[e.Location.File] || e.Op == topdown.UnifyOp || e.Op == topdown.IndexOp {
		return // unifications and index lookups print OPA's rewritten terms, not the policy's text
	}
	switch n := e.Node.(type) {
	case *ast.Rule:
		t.lines = append(t.lines, fmt.Sprintf("%-5s %s:%d %s", e.Op, e.Location.File, e.Location.Row, ruleName(n)))
		switch e.Op {
		case topdown.EnterOp:
			r := &run{rule: n}
			t.runs[e.QueryID] = r
			t.order = append(t.order, r)
		case topdown.ExitOp:
			if r := t.runs[e.QueryID]; r != nil {
				r.held = true
			}
		}
	case *ast.Expr:
		t.lines = append(t.lines, fmt.Sprintf("%-5s %s:%d %s", e.Op, e.Location.File, e.Location.Row, exprText(n)))
		if e.Op != topdown.FailOp {
			return
		}
		if r := t.runs[e.QueryID]; r != nil {
			r.failed = n
			r.plugged = r.plugged[:0]
			for _, op := range operands(n) {
				r.plugged = append(r.plugged, e.Plug(op))
			}
		}
	}
}

// operands are the terms of an expression worth showing: the arguments
// of a call or the term itself, but not constants, which the expression's
// text already shows.
func operands(x *ast.Expr) []*ast.Term {
	var terms []*ast.Term
	switch t := x.Terms.(type) {
	case *ast.Term:
		terms = []*ast.Term{t}
	case []*ast.Term:
		if len(t) > 1 {
			terms = t[1:]
		}
	case *ast.SomeDecl:
		// some x in xs: the collection is what can be empty or undefined
		for _, sym := range t.Symbols {
			if call, ok := sym.Value.(ast.Call); ok && len(call) > 1 {
				terms = append(terms, call[len(call)-1])
			}
		}
	}
	out := terms[:0:0]
	for _, t := range terms {
		if ast.IsConstant(t.Value) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// outcomes folds the runs of each body into one outcome: a body held if
// any of its runs held; otherwise the first run's failure says why.
func (s *snapshot) outcomes(ctx context.Context, input ast.Value, t *tracer) []RuleOutcome {
	byBody := map[*ast.Rule]int{}
	var out []RuleOutcome
	for _, r := range t.order {
		i, seen := byBody[r.rule]
		if !seen {
			i = len(out)
			byBody[r.rule] = i
			loc := r.rule.Location
			out = append(out, RuleOutcome{Rule: ruleName(r.rule), Location: fmt.Sprintf("%s:%d", loc.File, loc.Row), rule: loc})
		}
		o := &out[i]
		switch {
		case r.held:
			o.Held, o.Failed = true, nil
		case !o.Held && o.Failed == nil && r.failed != nil:
			o.Failed = s.failure(ctx, input, r)
		}
	}
	slices.SortStableFunc(out, func(a, b RuleOutcome) int {
		return cmp.Or(strings.Compare(a.rule.File, b.rule.File), cmp.Compare(a.rule.Row, b.rule.Row), cmp.Compare(a.rule.Col, b.rule.Col))
	})
	return out
}

func (s *snapshot) failure(ctx context.Context, input ast.Value, r *run) *ExprOutcome {
	loc := r.failed.Location
	f := &ExprOutcome{Expr: exprText(r.failed)}
	if loc != nil {
		f.Location = fmt.Sprintf("%s:%d", loc.File, loc.Row)
	}
	for i, op := range operands(r.failed) {
		if i >= len(r.plugged) {
			break
		}
		val, ok := s.value(ctx, input, r.plugged[i])
		if !ok {
			continue // a variable the failure left unbound: nothing to show
		}
		f.Values = append(f.Values, Operand{Term: termText(op), Value: val})
	}
	return f
}

// value evaluates a term whose variables are bound, in the same data and
// input: Undefined when it has no value, false when it cannot be
// evaluated on its own.
func (s *snapshot) value(ctx context.Context, input ast.Value, t *ast.Term) (string, bool) {
	if !evaluable(t) {
		return "", false
	}
	q := ast.NewBody(ast.Equality.Expr(ast.VarTerm("__kgate_explain__"), t))
	rs, err := rego.New(rego.Compiler(s.compiler), rego.Store(s.store),
		rego.ParsedQuery(q), rego.ParsedInput(input)).Eval(ctx)
	if err != nil {
		return "", false
	}
	if len(rs) == 0 {
		return Undefined, true
	}
	v, err := ast.InterfaceToValue(rs[0].Bindings["__kgate_explain__"])
	if err != nil {
		return "", false
	}
	return v.String(), true
}

// evaluable reports whether t has no variables left but the roots of
// input and data references.
func evaluable(t *ast.Term) bool {
	ok := true
	ast.WalkVars(t, func(v ast.Var) bool {
		if !v.Equal(ast.InputRootDocument.Value) && !v.Equal(ast.DefaultRootDocument.Value) {
			ok = false
		}
		return !ok
	})
	return ok
}

// ruleName is the rule's name without the variable part of its head:
// "presets" for presets[field] := value.
func ruleName(r *ast.Rule) string { return r.Head.Ref().GroundPrefix().String() }

// exprText is the expression as the policy's author wrote it.
func exprText(x *ast.Expr) string {
	if x.Location != nil && len(x.Location.Text) > 0 {
		return string(x.Location.Text)
	}
	return x.String()
}

func termText(t *ast.Term) string {
	if t.Location != nil && len(t.Location.Text) > 0 {
		return string(t.Location.Text)
	}
	return t.String()
}

// Why is the short answer: every body of allow, and the bodies of the
// rules a failed allow body found undefined (level, when the member has
// no level the app knows), since they are where the answer lies.
func (x *Explanation) Why() []RuleOutcome {
	return why(x.Rules, "allow")
}

// WhyExcluded is Why for include on the record: its bodies and the
// undefined rules they read.
func (x *Explanation) WhyExcluded() []RuleOutcome {
	return why(x.Include, "include")
}

func why(all []RuleOutcome, rule string) []RuleOutcome {
	held := map[string]bool{}
	for _, o := range all {
		if o.Held {
			held[o.Rule] = true
		}
	}
	follow := map[string]bool{}
	for _, o := range all {
		if o.Rule != rule || o.Failed == nil {
			continue
		}
		for _, v := range o.Failed.Values {
			if v.Value == Undefined {
				name, _, _ := strings.Cut(v.Term, ".")
				name, _, _ = strings.Cut(name, "[")
				if name != rule && !held[name] {
					follow[name] = true
				}
			}
		}
	}
	var out []RuleOutcome
	for _, o := range all {
		if o.Rule == rule || follow[o.Rule] {
			out = append(out, o)
		}
	}
	return out
}
