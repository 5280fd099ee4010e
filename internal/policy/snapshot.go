package policy

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/rego/compile"
	"github.com/open-policy-agent/opa/v1/storage"
	"go.uber.org/zap"
)

// snapshot is one activated policy version: everything prepared once, used
// read-only by any number of requests, plus the row-rule cache that lives
// and dies with it.
type snapshot struct {
	version     string
	decision    rego.PreparedEvalQuery    // every decision rule in one evaluation
	include     rego.PreparedEvalQuery    // include with a known record
	rowRule     *compile.Prepared         // include with input.record unknown → UCAST
	residual    rego.PreparedPartialQuery // the same partial evaluation, read directly
	cache       *lru[cacheKey, *compiled]
	decisions   *lru[cacheKey, cachedDecision]
	verdicts    *lru[includeKey, cachedVerdict]
	compiles    atomic.Int64 // filter compilations run, for tests of the cache
	evaluations atomic.Int64 // decision evaluations run, for tests of the cache
	inclusions  atomic.Int64 // include evaluations run, for tests of the cache
	log         *zap.Logger

	// what Explain needs to trace and to evaluate the terms it reports
	compiler *ast.Compiler
	store    storage.Store
	files    map[string]bool // the policy's own .rego files, tests left out
}

// The rules kgate reads, in the order the README's policy table lists them.
var decisionRules = []string{"allow", "readable", "writable", "presets", "masks", "rate", "export", "reasons", "mentions"}

// build reads, compiles, tests, prepares and probes a policy directory. It
// runs off the request path (at Open and on reload) and returns a snapshot
// only if every step passed.
func build(ctx context.Context, opts *Options, log *zap.Logger) (*snapshot, error) {
	pkg, err := policyRef(opts.Package)
	if err != nil {
		return nil, err
	}
	b, err := readBundle(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	fail := func(err error) (*snapshot, error) {
		return nil, fmt.Errorf("policy %s (version %s): %w", opts.Dir, b.version, err)
	}
	c, err := b.compile()
	if err != nil {
		return fail(err)
	}
	if err := retiredLimit(b, pkg); err != nil {
		return fail(err)
	}
	rep, err := runTests(ctx, b, TestOptions{})
	if err != nil {
		return fail(fmt.Errorf("running the Rego tests: %w", err))
	}
	if err := rep.Err(); err != nil {
		return fail(err)
	}
	if len(rep.Results) == 0 {
		log.Warn(errNoTests.Error(), zap.String("dir", opts.Dir), zap.String("version", b.version))
	}
	s, err := prepare(ctx, b, c, pkg, opts, log)
	if err != nil {
		return fail(err)
	}
	if err := s.probe(ctx, b.data, opts.Schemas); err != nil {
		return fail(err)
	}
	return s, nil
}

func prepare(ctx context.Context, b *bundle, c *ast.Compiler, pkg ast.Ref, opts *Options, log *zap.Logger) (*snapshot, error) {
	store := b.store()
	common := []func(*rego.Rego){rego.Compiler(c), rego.Store(store)}
	s := &snapshot{
		version:   b.version,
		cache:     newLRU[cacheKey, *compiled](opts.CacheSize),
		decisions: newLRU[cacheKey, cachedDecision](opts.CacheSize),
		verdicts:  newLRU[includeKey, cachedVerdict](4 * opts.CacheSize),
		log:       log.With(zap.String("policy_version", b.version)),
		compiler:  c,
		store:     store,
		files:     map[string]bool{},
	}
	for rel := range b.modules {
		if !strings.HasSuffix(rel, "_test.rego") {
			s.files[rel] = true
		}
	}

	body := ast.Body{}
	for _, r := range decisionRules {
		// [x | x := data.pkg.rule]: always defined, empty when the rule is
		body.Append(ast.Assign.Expr(ast.VarTerm(r), ast.ArrayComprehensionTerm(
			ast.VarTerm("x"),
			ast.NewBody(ast.Assign.Expr(ast.VarTerm("x"), ast.RefTerm(pkg.Append(ast.StringTerm(r))...))),
		)))
	}
	var err error
	if s.decision, err = rego.New(append(common, rego.ParsedQuery(body))...).PrepareForEval(ctx); err != nil {
		return nil, fmt.Errorf("preparing the decision query: %w", err)
	}

	include := ast.RefTerm(pkg.Append(ast.StringTerm("include"))...)
	if s.include, err = rego.New(append(common,
		rego.ParsedQuery(ast.NewBody(ast.Assign.Expr(ast.VarTerm("x"), include))),
	)...).PrepareForEval(ctx); err != nil {
		return nil, fmt.Errorf("preparing include: %w", err)
	}

	query := ast.NewBody(ast.NewExpr(include))
	unknown := ast.MustParseTerm("input.record")
	if s.rowRule, err = compile.New(
		compile.ParsedQuery(query),
		compile.ParsedUnknowns(unknown),
		compile.Target("ucast", "linq"),
		compile.Rego(common...),
	).Prepare(ctx); err != nil {
		return nil, fmt.Errorf("preparing the row rule: %w", err)
	}
	if s.residual, err = rego.New(append(common,
		rego.ParsedQuery(query),
		rego.ParsedUnknowns([]*ast.Term{unknown}),
		rego.NondeterministicBuiltins(true),
	)...).PrepareForPartial(ctx); err != nil {
		return nil, fmt.Errorf("preparing the row rule: %w", err)
	}
	return s, nil
}
