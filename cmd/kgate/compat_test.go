package main

import (
	"os"
	"testing"

	"github.com/kgate/kgate/compat"
)

// runAsKgate, set in its environment, makes this package's test binary
// run as kgate itself (see TestMain).
const runAsKgate = "KGATE_TEST_BINARY_IS_KGATE"

// TestMain lets the test binary stand in for kgate: it is the same main
// package, so the Node tests start `kgate demo` from it rather than from a
// second binary built and linked for them.
func TestMain(m *testing.M) {
	if os.Getenv(runAsKgate) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestOfficialClientThroughKgate runs @kintone/rest-api-client through
// `kgate demo` with bearer tokens from the demo provider
// (compat/test/kgate-*.test.js): members of two organizations and two
// levels read and write only what policies/ allows, every refusal is
// kintone's error, and an expired token is refused; every getAll* and
// *All helper, cursors and paging return for gold, silver and staff
// exactly the records each may see, and past a policy's rate a read is
// refused with 429 KGATE_RT01 and Retry-After. Needs Node.js and npm (skipped
// without them, required under KGATE_REQUIRE_ALL=1).
func TestOfficialClientThroughKgate(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(runAsKgate, "1") // inherited by node and the demos it starts
	compat.RunNode(t, self, "test/kgate-read.test.js", "test/kgate-write.test.js", "test/kgate-token.test.js",
		"test/kgate-paging.test.js", "test/kgate-helpers.test.js", "test/kgate-rate.test.js")
}
