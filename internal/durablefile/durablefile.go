// Package durablefile writes a file so that, once Write returns, a crash
// or a power cut leaves either the old file or the whole new one, and the
// directory entry survives too. kgate's file-backed queues (mail, waiting
// digests) depend on this for "a restart loses nothing".
package durablefile

import (
	"os"
	"path/filepath"
)

// Write stores b at path: into a temporary file in tmpDir (on the same
// file system as path, so the rename is atomic), synced, renamed over
// path, and path's directory synced.
func Write(tmpDir, path string, b []byte) error {
	f, err := os.CreateTemp(tmpDir, filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes dir's entries (a file renamed in, or removed) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
