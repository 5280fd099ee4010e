package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/durablefile"
)

// dirQueue keeps each envelope in a file of its own under dir/queue,
// written to dir/tmp, synced, and renamed in, with the directory synced,
// so an envelope is either whole or absent after a crash. A file per
// message, rather than an append journal, makes removal one unlink and
// needs no compaction; a damaged file costs only its own message; and at
// the queue's bound (ten thousand by default) a directory listing at
// start is cheap. Delivered envelopes are removed; refused ones move to
// dir/failed.
//
// One process owns a directory: instances that share a queue share Redis
// instead. Within the process, outboxes on the same directory (a config
// reload makes a new one before the old one stops) share one dirQueue,
// so a message is claimed once.
type dirQueue struct {
	dir      string
	mu       sync.Mutex
	due      map[string]time.Time // queued, not claimed
	claimed  map[string]bool
	reserved int // pushes under way, counted against the bound
	refs     int
}

var dirQueues = struct {
	sync.Mutex
	m map[string]*dirQueue
}{m: map[string]*dirQueue{}}

// openDirQueue opens dir's queue, making the directories it needs, or
// shares the one this process has open.
func openDirQueue(dir string) (*dirQueue, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dirQueues.Lock()
	defer dirQueues.Unlock()
	if q := dirQueues.m[dir]; q != nil {
		q.refs++
		return q, nil
	}
	q := &dirQueue{dir: dir, due: map[string]time.Time{}, claimed: map[string]bool{}, refs: 1}
	if err := q.load(); err != nil {
		return nil, err
	}
	dirQueues.m[dir] = q
	return q, nil
}

// load makes the directories and reads what is queued. Files left in tmp
// were never queued (their Enqueue did not return) and are removed.
func (q *dirQueue) load() error {
	for _, sub := range []string{"queue", "tmp", "failed"} {
		if err := os.MkdirAll(filepath.Join(q.dir, sub), 0o700); err != nil {
			return fmt.Errorf("mail: queue_dir: %w", err)
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(q.dir, "tmp"))
	for _, f := range tmp {
		os.Remove(filepath.Join(q.dir, "tmp", f.Name()))
	}
	files, err := os.ReadDir(filepath.Join(q.dir, "queue"))
	if err != nil {
		return fmt.Errorf("mail: queue_dir: %w", err)
	}
	for _, f := range files {
		id, ok := strings.CutSuffix(f.Name(), ".json")
		if !ok {
			continue
		}
		e, err := q.read(id)
		if err != nil {
			// Unreadable: set aside, not lost and not retried.
			os.Rename(q.path("queue", id), q.path("failed", id))
			continue
		}
		q.due[id] = e.Due
	}
	return nil
}

func (q *dirQueue) path(sub, id string) string { return filepath.Join(q.dir, sub, id+".json") }

func (q *dirQueue) read(id string) (*envelope, error) {
	b, err := os.ReadFile(q.path("queue", id))
	if err != nil {
		return nil, err
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil || e.ID != id {
		return nil, fmt.Errorf("mail: %s is not a queued message", q.path("queue", id))
	}
	return &e, nil
}

// write stores e as dir/sub/ID.json atomically and durably.
func (q *dirQueue) write(sub string, e *envelope) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return durablefile.Write(filepath.Join(q.dir, "tmp"), q.path(sub, e.ID), b)
}

func (q *dirQueue) push(_ context.Context, e *envelope, max int) error {
	q.mu.Lock()
	if q.refs == 0 {
		q.mu.Unlock()
		return errors.New("mail: the outbox is stopped")
	}
	if len(q.due)+len(q.claimed)+q.reserved >= max {
		q.mu.Unlock()
		return ErrFull
	}
	q.reserved++
	q.mu.Unlock()
	err := q.write("queue", e)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reserved--
	if err != nil {
		return fmt.Errorf("mail: storing the message: %w", err)
	}
	q.due[e.ID] = e.Due
	return nil
}

func (q *dirQueue) claim(_ context.Context, now time.Time) (*envelope, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		id, at := q.earliest()
		if id == "" || at.After(now) {
			return nil, nil
		}
		delete(q.due, id)
		e, err := q.read(id)
		if err != nil {
			os.Rename(q.path("queue", id), q.path("failed", id))
			continue
		}
		q.claimed[id] = true
		return e, nil
	}
}

// earliest is the queued envelope due first; ties go to the older id,
// which starts with its enqueue time.
func (q *dirQueue) earliest() (string, time.Time) {
	var id string
	var at time.Time
	for i, t := range q.due {
		if id == "" || t.Before(at) || t.Equal(at) && i < id {
			id, at = i, t
		}
	}
	return id, at
}

func (q *dirQueue) next(context.Context) (time.Time, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	id, at := q.earliest()
	return at, id != "", nil
}

func (q *dirQueue) retry(_ context.Context, e *envelope, at time.Time) error {
	e.Due = at
	err := q.write("queue", e)
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.claimed, e.ID)
	q.due[e.ID] = at // on a failed write the old file is still queued
	return err
}

func (q *dirQueue) done(_ context.Context, e *envelope) error {
	err := os.Remove(q.path("queue", e.ID))
	if err == nil {
		err = durablefile.SyncDir(filepath.Join(q.dir, "queue"))
	}
	q.mu.Lock()
	delete(q.claimed, e.ID)
	q.mu.Unlock()
	return err
}

func (q *dirQueue) failed(ctx context.Context, e *envelope) error {
	if err := q.write("failed", e); err != nil {
		q.retry(ctx, e, time.Now().Add(time.Hour))
		return err
	}
	return q.done(ctx, e)
}

func (q *dirQueue) size(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.due) + len(q.claimed), nil
}

func (q *dirQueue) close() error {
	dirQueues.Lock()
	defer dirQueues.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.refs--; q.refs == 0 {
		delete(dirQueues.m, q.dir)
	}
	return nil
}
