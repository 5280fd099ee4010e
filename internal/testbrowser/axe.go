package testbrowser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kgate/kgate/internal/testenv"
)

// Axe runs axe-core on the page ctx shows and fails t with every
// violation: rule, impact, help text and the elements at fault. The
// script comes from compat/node_modules (installed by `npm ci` in compat/,
// which .ci/run does); without it the test is skipped, or fails under
// KGATE_REQUIRE_ALL=1. Rules are axe's defaults (WCAG 2.x A and AA and
// best practices), so a page passes only with nothing to report.
func Axe(t testing.TB, ctx context.Context) {
	t.Helper()
	script := axeScript(t)
	if script == "" {
		return
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](script)); err != nil {
			t.Fatalf("axe: loading axe-core: %v", err)
		}
	}
	run := `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	url, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
	for _, v := range axeViolations(t, raw) {
		t.Errorf("axe on %s: %s", url, v)
	}
}

// axeViolation is the part of axe-core's result a failing test reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n\t%v %s", n.Target, n.HTML)
	}
	return b.String()
}

func axeViolations(t testing.TB, raw string) []axeViolation {
	t.Helper()
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe: reading its result: %v", err)
	}
	return vs
}

var axeOnce struct {
	sync.Once
	script string
	err    error
}

// axeScript reads axe.min.js once per test binary.
func axeScript(t testing.TB) string {
	t.Helper()
	axeOnce.Do(func() {
		var root string
		if root, axeOnce.err = testenv.ModuleRoot(); axeOnce.err != nil {
			return
		}
		var b []byte
		b, axeOnce.err = os.ReadFile(filepath.Join(root, "compat", "node_modules", "axe-core", "axe.min.js"))
		axeOnce.script = string(b)
	})
	if axeOnce.err != nil {
		testenv.Missing(t, "axe-core is not installed ("+axeOnce.err.Error()+"); run `npm ci` in compat/")
		return ""
	}
	return axeOnce.script
}
