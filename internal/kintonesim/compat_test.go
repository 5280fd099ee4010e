package kintonesim

import (
	"testing"

	"github.com/kgate/kgate/compat"
)

// TestOfficialClient runs compat/test/sim.test.js — @kintone/rest-api-client
// against `kgate sim` — when Node.js and npm are present (required under
// KGATE_REQUIRE_ALL=1). compat.RunNode builds kgate for it and installs
// the pinned client with npm ci when node_modules is missing.
func TestOfficialClient(t *testing.T) {
	compat.RunNode(t, "", "test/sim.test.js")
}
