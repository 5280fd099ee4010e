package policy

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The default policies must pass their own tests with kgate's runner (the
// same files `opa test policies/` reads) and keep their coverage.
func TestDefaultPoliciesPassTheirRegoTestsWithCoverage(t *testing.T) {
	rep, err := RunTests(context.Background(), defaultPolicies, TestOptions{Coverage: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	var pass, fail int
	for _, r := range rep.Results {
		r.count(&pass, &fail)
	}
	if pass < 100 || fail != 0 {
		t.Fatalf("%d cases passed, %d failed; the suite should have over 100 cases", pass, fail)
	}
	if c := rep.Coverage.Files["kgate.rego"].Coverage; c < 90 {
		t.Fatalf("kgate.rego coverage %.1f%%, want at least 90%%", c)
	}
}

func TestRunTestsReportsEachOutcome(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"p.rego": "package kgate\nallow if input.user.level == \"gold\"\nrate := 1 if input.x\nrate := 2 if input.x\n",
		"p_test.rego": `package kgate_test
import data.kgate
test_pass if kgate.allow with input as {"user": {"level": "gold"}}
test_fail if kgate.allow with input as {"user": {"level": "silver"}}
test_error if kgate.rate with input as {"x": true}
todo_test_later if false
test_cases[c] if {
	some c, level in {"a": "gold", "b": "bronze"}
	kgate.allow with input as {"user": {"level": level}}
}
`,
	})
	rep, err := RunTests(context.Background(), dir, TestOptions{Coverage: true})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range rep.Results {
		outcomes[strings.TrimPrefix(r.Name, "data.kgate_test.")] = r.Outcome
	}
	want := map[string]string{"test_pass": "PASS", "test_fail": "FAIL", "test_error": "ERROR", "todo_test_later": "SKIP", "test_cases": "FAIL"}
	for name, o := range want {
		if outcomes[name] != o {
			t.Errorf("%s: %s, want %s", name, outcomes[name], o)
		}
	}
	if rep.Passed() {
		t.Error("Passed with failures")
	}
	var out bytes.Buffer
	rep.Write(&out, true)
	for _, s := range []string{"PASS 2/5, FAIL 2, ERROR 1, SKIP 1", "b: FAIL", "a: PASS", "p.rego", "not covered"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, out.String())
		}
	}
	err = rep.Err()
	if err == nil || !strings.Contains(err.Error(), "test_fail") || !strings.Contains(err.Error(), "cases: b") ||
		!strings.Contains(err.Error(), "eval_conflict_error") {
		t.Fatalf("Err: %v", err)
	}
}
