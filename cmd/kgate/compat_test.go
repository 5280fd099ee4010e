package main

import (
	"testing"

	"github.com/kgate/kgate/compat"
)

// TestOfficialClientThroughKgate runs @kintone/rest-api-client through
// `kgate demo` with bearer tokens from the demo provider (compat/test/kgate-*.test.js):
// reads and writes of members of two organizations and two levels see and
// change only what policies/ allows, and every refusal is kintone's error.
// Needs Node.js and npm (skipped without them, required under
// KGATE_REQUIRE_ALL=1).
func TestOfficialClientThroughKgate(t *testing.T) {
	compat.RunNode(t, "test/kgate-read.test.js", "test/kgate-write.test.js", "test/kgate-token.test.js")
}
