package policy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions tune RunTests.
type TestOptions struct {
	Coverage bool   // also measure which lines the tests reach
	Run      string // only tests whose name matches this regular expression
}

// TestReport is the outcome of a policy directory's Rego tests.
type TestReport struct {
	Version  string
	Results  []TestResult
	Coverage *cover.Report // nil unless TestOptions.Coverage
}

// TestResult is one test rule's outcome.
type TestResult struct {
	Name     string // package-qualified rule name, e.g. data.kgate_test.test_gold_reads
	Location string // file:line of the test
	Outcome  string // PASS, FAIL, ERROR or SKIP
	Err      error  // set when Outcome is ERROR
	Cases    []Case // the cases of a parameterized test (test_x[name]), sorted
	Duration time.Duration
}

// Case is one case of a parameterized test.
type Case struct {
	Name   string // the case's key; nested keys joined with "/"
	Passed bool
}

// count adds the test to the tallies the way `opa test` does: each case of
// a parameterized test counts once.
func (t *TestResult) count(pass, fail *int) {
	if len(t.Cases) == 0 || t.Outcome == "ERROR" {
		if t.Outcome == "PASS" {
			*pass++
		} else if t.Outcome != "SKIP" {
			*fail++
		}
		return
	}
	for _, c := range t.Cases {
		if c.Passed {
			*pass++
		} else {
			*fail++
		}
	}
}

func (t *TestResult) failedCases() []string {
	var out []string
	for _, c := range t.Cases {
		if !c.Passed {
			out = append(out, c.Name)
		}
	}
	return out
}

// Passed reports whether every test that ran passed (skipped tests do not
// count against it).
func (r *TestReport) Passed() bool {
	for _, t := range r.Results {
		if t.Outcome == "FAIL" || t.Outcome == "ERROR" {
			return false
		}
	}
	return true
}

// Err returns an error listing the failing tests, or nil when all passed.
func (r *TestReport) Err() error {
	var bad []string
	for _, t := range r.Results {
		switch t.Outcome {
		case "FAIL":
			line := t.Location + ": " + t.Name + " failed"
			if failed := t.failedCases(); len(failed) > 0 {
				line += " (cases: " + strings.Join(failed, ", ") + ")"
			}
			bad = append(bad, line)
		case "ERROR":
			bad = append(bad, fmt.Sprintf("%s: %s: %v", t.Location, t.Name, t.Err))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("policy tests failed:\n  %s", strings.Join(bad, "\n  "))
}

// Write prints the report in the spirit of `opa test`: failures always,
// every test with verbose, a summary line, and coverage per file when
// measured.
func (r *TestReport) Write(w io.Writer, verbose bool) {
	var pass, fail, errs, skip int
	for _, t := range r.Results {
		switch t.Outcome {
		case "ERROR":
			errs++
		case "SKIP":
			skip++
		default:
			t.count(&pass, &fail)
		}
		if verbose || (t.Outcome != "PASS" && t.Outcome != "SKIP") {
			fmt.Fprintf(w, "%s: %s: %s (%s)\n", t.Location, t.Name, t.Outcome, t.Duration.Round(time.Microsecond))
			if t.Err != nil {
				fmt.Fprintf(w, "  %v\n", t.Err)
			}
			for _, c := range t.Cases {
				if verbose || !c.Passed {
					fmt.Fprintf(w, "  %s: %s\n", c.Name, map[bool]string{true: "PASS", false: "FAIL"}[c.Passed])
				}
			}
		}
	}
	fmt.Fprintln(w, strings.Repeat("-", 72))
	fmt.Fprintf(w, "version %s: PASS %d/%d", r.Version, pass, pass+fail+errs)
	if fail > 0 {
		fmt.Fprintf(w, ", FAIL %d", fail)
	}
	if errs > 0 {
		fmt.Fprintf(w, ", ERROR %d", errs)
	}
	if skip > 0 {
		fmt.Fprintf(w, ", SKIP %d", skip)
	}
	fmt.Fprintln(w)
	if r.Coverage == nil {
		return
	}
	files := make([]string, 0, len(r.Coverage.Files))
	for f := range r.Coverage.Files {
		files = append(files, f)
	}
	slices.Sort(files)
	fmt.Fprintln(w, "coverage:")
	for _, f := range files {
		fr := r.Coverage.Files[f]
		fmt.Fprintf(w, "  %6.2f%%  %s", fr.Coverage, f)
		if verbose && len(fr.NotCovered) > 0 {
			var rs []string
			for _, rg := range fr.NotCovered {
				if rg.Start.Row == rg.End.Row {
					rs = append(rs, fmt.Sprint(rg.Start.Row))
				} else {
					rs = append(rs, fmt.Sprintf("%d-%d", rg.Start.Row, rg.End.Row))
				}
			}
			fmt.Fprintf(w, "  (not covered: %s)", strings.Join(rs, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  %6.2f%%  total\n", r.Coverage.Coverage)
}

// RunTests runs the Rego tests of a policy directory as `opa test DIR`
// would: the same files, data.json at the root of data, rules named test_*
// (todo_test_* skipped).
func RunTests(ctx context.Context, dir string, opts TestOptions) (*TestReport, error) {
	b, err := readBundle(dir)
	if err != nil {
		return nil, err
	}
	return runTests(ctx, b, opts)
}

// testTimeout bounds one Rego test. OPA's own default (5 s) is meant for a
// developer's terminal; kgate runs the tests before it activates a policy,
// often while a busy host starts up, and a slow machine must not make a
// good policy fail to load. A test that loops still ends.
const testTimeout = time.Minute

func runTests(ctx context.Context, b *bundle, opts TestOptions) (*TestReport, error) {
	runner := tester.NewRunner().
		SetStore(b.store()).
		SetModules(b.modules).
		CapturePrintOutput(false).
		SetTimeout(testTimeout).
		Filter(opts.Run)
	var cov *cover.Cover
	if opts.Coverage {
		cov = cover.New()
		runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, err
	}
	rep := &TestReport{Version: b.version}
	for res := range ch {
		rep.Results = append(rep.Results, testResult(res))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Results, func(a, b TestResult) int {
		return cmp.Or(strings.Compare(a.Location, b.Location), strings.Compare(a.Name, b.Name))
	})
	if cov != nil {
		r := cov.Report(b.modules)
		rep.Coverage = &r
	}
	return rep, nil
}

func testResult(res *tester.Result) TestResult {
	t := TestResult{
		Name:     res.Package + "." + res.Name,
		Duration: res.Duration,
	}
	if res.Location != nil {
		t.Location = fmt.Sprintf("%s:%d", res.Location.File, res.Location.Row)
	}
	switch {
	case res.Skip:
		t.Outcome = "SKIP"
	case res.Error != nil:
		t.Outcome, t.Err = "ERROR", res.Error
	case res.Fail:
		t.Outcome = "FAIL"
	default:
		t.Outcome = "PASS"
	}
	for path, sub := range res.SubResults.Iter {
		if len(sub.SubResults) == 0 {
			t.Cases = append(t.Cases, Case{Name: strings.Join(path, "/"), Passed: !sub.Fail})
		}
	}
	return t
}

// errNoTests is logged, not returned: a directory without tests activates,
// but an operator should know that nothing guards it.
var errNoTests = errors.New("the policy directory has no Rego tests")
