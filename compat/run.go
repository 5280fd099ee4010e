// Package compat runs the Node.js tests in this directory — the official
// kintone client, @kintone/rest-api-client, against kgate — from Go tests,
// so `go test` covers them wherever Node.js is installed. The JavaScript
// lives in test/; see README.md.
package compat

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kgate/kgate/internal/testenv"
)

// RunNode runs `node --test` on files (paths relative to this directory,
// such as "test/sim.test.js") with KGATE_BIN set to kgate, the kgate
// binary the tests start; "" builds one for the test. It skips in -short
// mode and when node or npm is missing (fails instead under
// KGATE_REQUIRE_ALL=1), and installs the pinned client with `npm ci` when
// node_modules lacks it. The Node output is logged; a failing Node test
// fails t with it.
func RunNode(t *testing.T, kgate string, files ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts kgate and runs Node: not in -short")
	}
	node := testenv.LookPath(t, "node")
	npm := testenv.LookPath(t, "npm")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "compat")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@kintone", "rest-api-client")); err != nil {
		run(t, dir, nil, npm, "ci", "--no-audit", "--no-fund")
	}
	if kgate == "" {
		kgate = filepath.Join(t.TempDir(), "kgate")
		// go test puts its own go first on the PATH of the tests it runs.
		run(t, filepath.Dir(dir), nil, testenv.LookPath(t, "go"), "build", "-o", kgate, "./cmd/kgate")
	}
	out := run(t, dir, []string{"KGATE_BIN=" + kgate}, node, append([]string{"--test"}, files...)...)
	t.Logf("%s", out)
}

func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return out
}
