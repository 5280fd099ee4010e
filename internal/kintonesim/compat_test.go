package kintonesim

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kgate/kgate/internal/testenv"
)

// TestOfficialClient runs compat/ — @kintone/rest-api-client against
// `kgate sim` — when Node.js and npm are present (required under
// KGATE_REQUIRE_ALL=1). It builds kgate once and installs the pinned client
// with npm ci when node_modules is missing.
func TestOfficialClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kgate and runs Node: not in -short")
	}
	node := testenv.LookPath(t, "node")
	npm := testenv.LookPath(t, "npm")
	dir, err := filepath.Abs("../../compat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@kintone", "rest-api-client")); err != nil {
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	bin := filepath.Join(t.TempDir(), "kgate")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/kgate")
	build.Dir = filepath.Dir(dir)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(node, "--test", "test/")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KGATE_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
