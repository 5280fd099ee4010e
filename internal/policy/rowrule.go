package policy

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/rego"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/kql"
)

// RowRule is the policy's include rule for one identity, app and action,
// as a kintone condition.
type RowRule struct {
	// Never: no record is included; the gateway answers empty without
	// calling kintone.
	Never bool
	// Cond is the condition to AND with the user's query; nil (with Never
	// false) when every record is included.
	Cond kql.Expr
	// Fields are the record fields the rule reads. A full evaluation of
	// include reads them too, so the gateway fetches them for the re-check.
	Fields []string
	// Version is the policy version the rule came from.
	Version string
}

// cacheKey identifies a compiled row rule: the same identity attributes,
// app and action under the same policy version always compile the same.
type cacheKey struct {
	appID, alias, action, statusAction, assignee string
	user                                         [32]byte
	version                                      string
}

// compiled is a cached compilation: the residual as UCAST (translation into
// KQL is cheap and depends on the form, so it runs per call), or its error.
type compiled struct {
	never, always bool
	root          unode
	fields        []string
	err           error
}

// RowRule compiles include with input.record unknown into a KQL condition
// over the app's form fields (keyed by code). A rule that cannot be
// compiled or translated is an error, never a silent allow: the RowRule
// returned with the error says Never.
func (e *Engine) RowRule(ctx context.Context, in Input, fields map[string]kql.Field) (*RowRule, error) {
	return e.View().RowRule(ctx, in, fields)
}

// RowRule is Engine.RowRule on this view's version.
func (v View) RowRule(ctx context.Context, in Input, fields map[string]kql.Field) (rr *RowRule, err error) {
	s := v.s
	defer func() {
		if err != nil {
			s.log.Error("policy row rule failed; denied", zap.String("app", in.App.ID),
				zap.String("action", in.Action), zap.String("status_action", in.StatusAction), zap.Error(err))
			rr = &RowRule{Never: true, Version: s.version}
		}
	}()
	c, err := s.compiled(ctx, &in)
	if err != nil {
		return nil, err
	}
	return s.rowRuleFrom(c, fields)
}

func (s *snapshot) rowRuleFrom(c *compiled, fields map[string]kql.Field) (rr *RowRule, err error) {
	defer recovered(&err)
	switch {
	case c.err != nil:
		return nil, c.err
	case c.never:
		return &RowRule{Never: true, Version: s.version}, nil
	case c.always:
		return &RowRule{Version: s.version}, nil
	}
	t, err := translate(&c.root, fields)
	if err != nil {
		return nil, err
	}
	if t.never || t.always {
		return &RowRule{Never: t.never, Fields: c.fields, Version: s.version}, nil
	}
	// The translation should only ever produce what kintone accepts for the
	// field types; if not, it is a bug here, and kintone must not see it.
	if err := kql.Check(&kql.Query{Where: t.e}, fields); err != nil {
		return nil, fmt.Errorf("policy: translated row rule %s is invalid: %w", kql.Format(t.e), err)
	}
	return &RowRule{Cond: t.e, Fields: c.fields, Version: s.version}, nil
}

// compiled returns the cached compilation for in, compiling on a miss.
func (s *snapshot) compiled(ctx context.Context, in *Input) (*compiled, error) {
	user, err := in.User.hash()
	if err != nil {
		return nil, fmt.Errorf("policy: user: %w", err)
	}
	key := cacheKey{in.App.ID, in.App.Alias, in.Action, in.StatusAction, in.Assignee, user, s.version}
	if c, ok := s.cache.get(key); ok {
		return c, nil
	}
	c, err := s.compile(ctx, in)
	if err != nil {
		return nil, err // the context ended or the input could not be built: not cached
	}
	s.cache.put(key, c)
	return c, nil
}

// compile runs OPA's filter compilation (partial evaluation and the linq
// fragment check) for one input, then reads the rule's tree from the
// residual with every value exact (see residual.go). Errors of the policy
// are returned inside compiled so that they are cached like results.
func (s *snapshot) compile(ctx context.Context, in *Input) (c *compiled, err error) {
	defer recovered(&err)
	s.compiles.Add(1)
	input := in.value(false)
	if _, err := s.rowRule.Compile(ctx, rego.EvalParsedInput(input)); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &compiled{err: fmt.Errorf("policy: include does not compile: %w", err)}, nil
	}
	pq, err := s.residual.Partial(ctx,
		rego.EvalParsedInput(input),
		rego.EvalRuleIndexing(false),
		rego.EvalNondeterministicBuiltins(true),
	)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return &compiled{err: fmt.Errorf("policy: include: %w", err)}, nil
	}
	c, err = fromResidual(pq)
	if err != nil {
		return &compiled{err: fmt.Errorf("policy: include: %w", err)}, nil
	}
	return c, nil
}
