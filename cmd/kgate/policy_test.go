package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyTestPassesTheDefaultPoliciesWithCoverage(t *testing.T) {
	var out bytes.Buffer
	if err := policyTest(context.Background(), &out, "../../policies", false, true, ""); err != nil {
		t.Fatalf("policy test: %v\n%s", err, out.String())
	}
	for _, want := range []string{"PASS ", "coverage:", "kgate.rego", "total"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("output reports a failure:\n%s", out.String())
	}
}

func TestPolicyTestFailsAndNamesTheFailingTest(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "p.rego", "package kgate\n\nallow if input.user.level == \"gold\"\n")
	write(t, dir, "p_test.rego", `package kgate_test

import data.kgate

test_gold_allowed if kgate.allow with input as {"user": {"level": "gold"}}

test_silver_allowed if kgate.allow with input as {"user": {"level": "silver"}}

test_cases[name] if {
	some name, level in {"gold": "gold", "bronze": "bronze"}
	kgate.allow with input as {"user": {"level": level}}
}
`)
	var out bytes.Buffer
	err := policyTest(context.Background(), &out, dir, true, false, "")
	if !errors.Is(err, errPolicyTestsFailed) {
		t.Fatalf("got %v, want errPolicyTestsFailed\n%s", err, out.String())
	}
	for _, want := range []string{
		"p_test.rego:7: data.kgate_test.test_silver_allowed: FAIL",
		"p_test.rego:5: data.kgate_test.test_gold_allowed: PASS",
		"bronze: FAIL",
		"PASS 2/4, FAIL 2",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPolicyTestRunFilters(t *testing.T) {
	var out bytes.Buffer
	if err := policyTest(context.Background(), &out, "../../policies", true, false, "test_masks"); err != nil {
		t.Fatalf("policy test: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "test_allow") || !strings.Contains(out.String(), "test_masks") {
		t.Fatalf("--run did not filter:\n%s", out.String())
	}
}

func TestPolicyTestRefusesADirectoryWithoutTests(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "p.rego", "package kgate\n\nallow := true\n")
	if err := policyTest(context.Background(), &bytes.Buffer{}, dir, false, false, ""); !errors.Is(err, errPolicyTestsFailed) {
		t.Fatalf("got %v, want errPolicyTestsFailed", err)
	}
}

func TestPolicyTestReportsParseErrorsWithTheirLocation(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "broken.rego", "package kgate\n\nallow if {\n")
	err := policyTest(context.Background(), &bytes.Buffer{}, dir, false, false, "")
	if err == nil || !strings.Contains(err.Error(), "broken.rego:") {
		t.Fatalf("got %v, want an error naming broken.rego", err)
	}
}

func write(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyActivatesRunsTheProbes(t *testing.T) {
	var out bytes.Buffer
	if err := policyActivates(context.Background(), &out, "../../policies", "kgate"); err != nil {
		t.Fatalf("default policies: %v", err)
	}
	if !strings.Contains(out.String(), "activates") {
		t.Fatalf("output %q", out.String())
	}
	dir := t.TempDir()
	write(t, dir, "p.rego", "package kgate\n\ninclude if startswith(input.record.title, \"a\")\n")
	write(t, dir, "data.json", `{"probes": {"apps": [{"id": "1"}], "actions": ["read"]}}`)
	err := policyActivates(context.Background(), &bytes.Buffer{}, dir, "kgate")
	if err == nil || !strings.Contains(err.Error(), "startswith") {
		t.Fatalf("got %v, want the probe's compile error", err)
	}
}
