package policy

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watch reloads the directory when something in it changes. Events are
// debounced (an editor's save or a checkout is many events), and the new
// version is built on the watcher's goroutine, never on a request's.
func (e *Engine) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	if err := addDirs(w, e.opts.Dir); err != nil {
		w.Close()
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.stopped = make(chan struct{})
	go func() {
		defer close(e.stopped)
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) {
					_ = addDirs(w, ev.Name) // a new subdirectory: watch it too
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				timer.Reset(e.opts.Debounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				e.log.Error("policy: watching the directory", zap.String("dir", e.opts.Dir), zap.Error(err))
			case <-timer.C:
				_ = e.Reload(ctx) // logged and kept by Reload
			}
		}
	}()
	return nil
}

// addDirs watches root and every directory below it, skipping hidden ones
// as readBundle does (except at the root).
func addDirs(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(path)
	})
}
