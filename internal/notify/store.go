package notify

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/durablefile"
)

// store keeps the changes waiting for digests where a restart, and in
// Redis every instance, finds them. A member's changes are claimed by one
// flush at a time and leave the store only through done, once their digest
// is in the outbox.
type store interface {
	// add holds p for member within the bounds; past them it counts p.
	add(ctx context.Context, member string, p pending) error
	// members lists those with changes waiting.
	members(ctx context.Context) ([]string, error)
	// claim takes member's changes for one flush, or nil when there are
	// none or another flush holds them.
	claim(ctx context.Context, member string) (*queue, error)
	// done removes what claim gave (not what was added since) and ends
	// the claim; release ends it and keeps them.
	done(ctx context.Context, member string, q *queue) error
	release(ctx context.Context, member string, q *queue) error
	close() error
}

// key is the entry p takes in its member's queue: a further edit of a
// record already waiting needs no second entry (the digest shows the
// record as it is then); each comment is its own.
func (p pending) key() string {
	if p.Comment != "" {
		return p.App + "/" + p.Record + "/c/" + p.Comment
	}
	return p.App + "/" + p.Record
}

// dirStore keeps each member's queue in a file of its own under dir,
// written to a temporary file, synced and renamed in, so a queue is whole
// or as it was after a crash. One process owns a directory (instances that
// share digests share Redis); notifiers of one process on the same
// directory (a config reload) share one dirStore, so a claim holds.
type dirStore struct {
	dir              string
	mu               sync.Mutex
	perMember, total int
	count            int
	m                map[string]*queue
	claimed          map[string]bool
	refs             int
}

var dirStores = struct {
	sync.Mutex
	m map[string]*dirStore
}{m: map[string]*dirStore{}}

// openDirStore opens dir, reading the queues a previous run left, or
// shares the one this process has open.
func openDirStore(dir string, perMember, total int) (*dirStore, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dirStores.Lock()
	defer dirStores.Unlock()
	if s := dirStores.m[dir]; s != nil {
		s.refs++
		return s, nil
	}
	s := &dirStore{dir: dir, perMember: perMember, total: total, m: map[string]*queue{}, claimed: map[string]bool{}, refs: 1}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("notify: digest directory: %w", err)
	}
	dirStores.m[dir] = s
	return s, nil
}

func (s *dirStore) load() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	files, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		name, ok := strings.CutSuffix(f.Name(), ".json")
		member, herr := hex.DecodeString(name)
		if !ok || herr != nil {
			os.Remove(filepath.Join(s.dir, f.Name())) // a write a crash cut short
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, f.Name()))
		var q queue
		if err != nil || json.Unmarshal(b, &q) != nil {
			return fmt.Errorf("%s is not a digest queue", f.Name())
		}
		s.m[string(member)] = &q
		s.count += len(q.Items)
	}
	return nil
}

func (s *dirStore) add(_ context.Context, member string, p pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.m[member]
	if q == nil {
		q = &queue{}
		s.m[member] = q
	}
	if i := slices.IndexFunc(q.Items, func(it pending) bool { return it.key() == p.key() }); i >= 0 {
		q.Items[i] = p
	} else if len(q.Items) >= s.perMember || s.count >= s.total {
		q.More++
	} else {
		q.Items = append(q.Items, p)
		s.count++
	}
	return s.write(member, q)
}

func (s *dirStore) members(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for member := range s.m {
		out = append(out, member)
	}
	return out, nil
}

func (s *dirStore) claim(_ context.Context, member string) (*queue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.m[member]
	if q == nil || s.claimed[member] {
		return nil, nil
	}
	s.claimed[member] = true
	return &queue{Items: slices.Clone(q.Items), More: q.More}, nil
}

func (s *dirStore) done(_ context.Context, member string, sent *queue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claimed, member)
	q := s.m[member]
	if q == nil {
		return nil
	}
	n := len(q.Items)
	q.Items = slices.DeleteFunc(q.Items, func(it pending) bool { return slices.Contains(sent.Items, it) })
	s.count -= n - len(q.Items)
	q.More = max(q.More-sent.More, 0)
	return s.write(member, q)
}

func (s *dirStore) release(_ context.Context, member string, _ *queue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claimed, member)
	return nil
}

// write stores member's queue, or removes its file when it is empty.
// Called with s.mu held.
func (s *dirStore) write(member string, q *queue) error {
	path := filepath.Join(s.dir, hex.EncodeToString([]byte(member))+".json")
	if len(q.Items) == 0 && q.More == 0 {
		delete(s.m, member)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return durablefile.SyncDir(s.dir)
	}
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	if err := durablefile.Write(s.dir, path, b); err != nil {
		return fmt.Errorf("notify: storing a digest entry: %w", err)
	}
	return nil
}

func (s *dirStore) close() error {
	dirStores.Lock()
	defer dirStores.Unlock()
	if s.refs--; s.refs == 0 {
		delete(dirStores.m, s.dir)
	}
	return nil
}

// digestLease is how long a flush holds a member's changes in Redis; an
// instance that dies mid-flush leaves a claim that runs out, and the
// changes go in a later digest.
const digestLease = 10 * time.Minute
