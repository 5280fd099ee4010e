// Package testenv decides what a test does when a tool it needs (Chromium,
// Node.js, redis-server) is missing: skip with a message on a developer's
// machine, fail under KGATE_REQUIRE_ALL=1, which CI sets after installing
// everything, so that CI never skips silently. It also starts the
// redis-server a test needs (StartRedis).
package testenv

import (
	"os"
	"os/exec"
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
