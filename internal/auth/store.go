package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned by a SessionStore for a key that was never
// created, has expired or was deleted.
var ErrNotFound = errors.New("auth: no such record")

// ErrExists is returned by SessionStore.Create when the key is taken.
var ErrExists = errors.New("auth: record exists")

// SessionStore keeps the server side of sessions: whether a session is still
// alive (logout and revocation delete it, so a copied cookie dies with it),
// its refresh token and ID token, and the one-time marks of used login
// states. Values are opaque: auth encrypts them before they reach the store,
// so a store never sees a token in clear. Several kgate instances sharing
// one store accept each other's sessions and see each other's logouts.
type SessionStore interface {
	// Create stores value under key until expires, or returns ErrExists.
	Create(ctx context.Context, key string, value []byte, expires time.Time) error
	// Get returns the value, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Update replaces the value of an existing key, keeping its expiry. It
	// returns ErrNotFound for a key that is gone: a deleted session is never
	// brought back by a late write.
	Update(ctx context.Context, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Indexes are sets of strings (session ids under a subject or a
	// provider's session id), so that back-channel logout finds every
	// session to end, whichever instance started it.

	// AddToIndex adds member to the set key and keeps the set at least
	// until expires: a later expiry extends it, an earlier one does not
	// shorten it.
	AddToIndex(ctx context.Context, key, member string, expires time.Time) error
	// IndexMembers returns the members of the set key (none when it does
	// not exist or has expired).
	IndexMembers(ctx context.Context, key string) ([]string, error)
	// RemoveFromIndex removes member from the set key.
	RemoveFromIndex(ctx context.Context, key, member string) error
}

// MemoryStore is a SessionStore for one kgate instance. Expired entries are
// swept as new ones are created, so its size follows the live sessions.
type MemoryStore struct {
	mu      sync.Mutex
	m       map[string]memEntry
	sets    map[string]*memSet
	creates int
	now     func() time.Time
}

type memSet struct {
	members map[string]struct{}
	expires time.Time
}

type memEntry struct {
	value   []byte
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: make(map[string]memEntry), sets: make(map[string]*memSet), now: time.Now}
}

func (s *MemoryStore) Create(_ context.Context, key string, value []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.creates++; s.creates%1024 == 0 {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		for k, set := range s.sets {
			if !now.Before(set.expires) {
				delete(s.sets, k)
			}
		}
	}
	if e, ok := s.m[key]; ok && now.Before(e.expires) {
		return ErrExists
	}
	s.m[key] = memEntry{value: clone(value), expires: expires}
	return nil
}

func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.expires) {
		return nil, ErrNotFound
	}
	return clone(e.value), nil
}

func (s *MemoryStore) Update(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !s.now().Before(e.expires) {
		return ErrNotFound
	}
	e.value = clone(value)
	s.m[key] = e
	return nil
}

func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *MemoryStore) AddToIndex(_ context.Context, key, member string, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.liveSet(key)
	if set == nil {
		set = &memSet{members: map[string]struct{}{}}
		s.sets[key] = set
	}
	set.members[member] = struct{}{}
	if expires.After(set.expires) {
		set.expires = expires
	}
	return nil
}

func (s *MemoryStore) IndexMembers(_ context.Context, key string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.liveSet(key)
	if set == nil {
		return nil, nil
	}
	out := make([]string, 0, len(set.members))
	for m := range set.members {
		out = append(out, m)
	}
	return out, nil
}

func (s *MemoryStore) RemoveFromIndex(_ context.Context, key, member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if set := s.liveSet(key); set != nil {
		delete(set.members, member)
		if len(set.members) == 0 {
			delete(s.sets, key)
		}
	}
	return nil
}

// liveSet returns the unexpired set key; the caller holds the lock.
func (s *MemoryStore) liveSet(key string) *memSet {
	set := s.sets[key]
	if set == nil || !s.now().Before(set.expires) {
		delete(s.sets, key)
		return nil
	}
	return set
}

// Len reports how many entries the store holds, expired ones included until
// they are swept.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
