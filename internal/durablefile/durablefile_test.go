package durablefile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesTheFileWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "entry.json")
	for _, body := range []string{`{"n":1}`, `{"n":2,"longer":true}`, `{}`} {
		if err := Write(dir, path, []byte(body)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Fatalf("after writing %s the file holds %q (%v)", body, got, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestAFailedWriteLeavesTheOldFileAndNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "entry.json")
	if err := Write(dir, path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go makes the rename fail.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, blocked, []byte("new")); err == nil {
		t.Fatal("a write over a non-empty directory succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("the other file holds %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("want entry.json and blocked only, got %v", entries)
	}
}

func TestWriteRefusesAMissingTemporaryDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing"), filepath.Join(dir, "f"), []byte("x")); err == nil {
		t.Fatal("a write with no temporary directory succeeded")
	}
}
