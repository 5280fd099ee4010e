// Package testenv decides what a test does when a tool it needs (Chromium,
// Node.js, redis-server) is missing: skip with a message on a developer's
// machine, fail under KGATE_REQUIRE_ALL=1, which CI sets after installing
// everything, so that CI never skips silently. It also starts the
// redis-server a test needs (StartRedis).
package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireAll reports whether every optional test dependency must be present.
func RequireAll() bool { return os.Getenv("KGATE_REQUIRE_ALL") == "1" }

// LookPath returns the path of the first of names found on PATH. When none
// is found the test is skipped, or fails under KGATE_REQUIRE_ALL=1.
func LookPath(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, names[0]+" not found on PATH")
	return ""
}

// Missing skips the test with why, or fails it under KGATE_REQUIRE_ALL=1.
func Missing(t testing.TB, why string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("KGATE_REQUIRE_ALL=1 but %s", why)
	}
	t.Skipf("skipped: %s (set up by .ci/run)", why)
}

// ModuleRoot is kgate's checkout: the directory of go.mod at or above the
// working directory (a test runs in its package's directory; the bench
// programs are run from inside the checkout). Tests find compat/,
// examples/ and policies/ from it.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside kgate's checkout: no go.mod above " + dir)
		}
		dir = parent
	}
}
