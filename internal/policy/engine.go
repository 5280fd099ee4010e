package policy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/kql"
)

// Options configure an Engine.
type Options struct {
	// Dir is the policy directory: *.rego files (Rego v1) and an optional
	// data.json at its top.
	Dir string
	// Package is the Rego package that holds the rules kgate reads;
	// "kgate" (data.kgate) when empty.
	Package string
	// Logger receives reload outcomes and policy errors; none when nil.
	Logger *zap.Logger
	// Watch reloads the directory when its files change.
	Watch bool
	// Debounce is how long the directory must stay quiet before a reload;
	// 100ms when zero.
	Debounce time.Duration
	// CacheSize caps the compiled row rules kept per policy version; 4096
	// when zero.
	CacheSize int
	// Schemas optionally gives the form fields of apps (by app ID) so that
	// the load-time probes also translate each row rule into KQL. Without
	// it the probes check compilation only.
	Schemas map[string]map[string]kql.Field
	// OnReload, when set, is called after each reload attempt with the
	// version then serving and the attempt's error (nil on success).
	OnReload func(version string, err error)
}

// Engine evaluates one policy directory. It holds one immutable snapshot
// per policy version and swaps it atomically on reload, so requests in
// flight finish on the version they started with and never see a half-built
// one. All methods are safe for concurrent use.
type Engine struct {
	opts Options
	log  *zap.Logger
	cur  atomic.Pointer[snapshot]

	mu        sync.Mutex // serializes reloads and guards reloadErr
	reloadErr error

	stop    context.CancelFunc
	stopped chan struct{}
}

// Open loads the directory, runs its Rego tests, checks the row rules
// against the probe identities of data.json and prepares every query. It
// fails if anything is invalid or any test fails; nothing is served from a
// directory that did not pass.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Dir == "" {
		return nil, errors.New("policy: no policy directory")
	}
	if opts.Package == "" {
		opts.Package = "kgate"
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 100 * time.Millisecond
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 4096
	}
	e := &Engine{opts: opts, log: opts.Logger}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	s, err := build(ctx, &e.opts, e.log)
	if err != nil {
		return nil, err
	}
	e.cur.Store(s)
	e.log.Info("policy loaded", zap.String("dir", opts.Dir), zap.String("version", s.version))
	if opts.Watch {
		if err := e.watch(); err != nil {
			return nil, fmt.Errorf("policy: watch %s: %w", opts.Dir, err)
		}
	}
	return e, nil
}

// Close stops watching the directory. The engine keeps answering with the
// version it had.
func (e *Engine) Close() error {
	if e.stop != nil {
		e.stop()
		<-e.stopped
		e.stop = nil
	}
	return nil
}

// Version names the policy version serving now: a short hash of the
// directory's files, the same on every machine and across restarts.
func (e *Engine) Version() string { return e.cur.Load().version }

// View is one policy version, held for as long as the caller keeps it. A
// request that decides, compiles its row rule and re-checks records through
// one View sees a single version from start to end, even if the directory
// reloads in between; the Engine's own methods each use the version serving
// at the moment of the call.
type View struct{ s *snapshot }

// View returns the version serving now.
func (e *Engine) View() View { return View{e.cur.Load()} }

// Version names the view's policy version.
func (v View) Version() string { return v.s.version }

// ReloadError is the error of the last reload attempt, nil when it
// succeeded (or none was made). A health check reports it: the engine is
// still serving, but not what is on disk.
func (e *Engine) ReloadError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadErr
}

// Reload reads the directory again and activates it if it passes every
// check. On any error the version serving now stays, and the error is
// returned, logged and kept for ReloadError.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.cur.Load()
	s, err := build(ctx, &e.opts, e.log)
	switch {
	case err != nil:
		e.log.Error("policy reload failed; the previous version keeps serving",
			zap.String("dir", e.opts.Dir), zap.String("version", old.version), zap.Error(err))
	case s.version == old.version:
		// same files again (an editor's save, a touched file): nothing to swap
	default:
		e.cur.Store(s)
		e.log.Info("policy reloaded", zap.String("dir", e.opts.Dir),
			zap.String("from", old.version), zap.String("version", s.version))
	}
	e.reloadErr = err
	if e.opts.OnReload != nil {
		e.opts.OnReload(e.cur.Load().version, err)
	}
	return err
}

// policyRef is data.<package> as a reference, refusing anything that is not
// a plain dotted package name.
func policyRef(pkg string) (ast.Ref, error) {
	ref, err := ast.ParseRef("data." + pkg)
	if err != nil {
		return nil, fmt.Errorf("policy: invalid package %q", pkg)
	}
	for _, t := range ref[1:] {
		if _, ok := t.Value.(ast.String); !ok {
			return nil, fmt.Errorf("policy: invalid package %q", pkg)
		}
	}
	return ref, nil
}

// recovered turns a panic inside OPA into an error, so that one bad
// evaluation denies one request instead of ending the process.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("policy: evaluation panicked: %v", r)
	}
}
