package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModuleRootIsKgatesCheckout(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module github.com/kgate/kgate\n") {
		t.Fatalf("%s/go.mod is not kgate's (%v)", root, err)
	}
	if !strings.HasPrefix(must(os.Getwd()), root+string(filepath.Separator)) {
		t.Errorf("the root %s is not above the test's directory", root)
	}
}

func TestModuleRootOutsideACheckoutIsAnError(t *testing.T) {
	t.Chdir(t.TempDir())
	if root, err := ModuleRoot(); err == nil {
		t.Fatalf("found a checkout at %s in an empty temporary directory", root)
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
