package gateway

import (
	"context"
	"net/http"
	"sync"

	"github.com/kgate/kgate/identity"
)

// CommentAuthors remembers who posted which comment through kgate: a
// member may delete their own comments and no one else's, and kintone
// cannot tell them apart (it sees every one as the API token's). Keys name
// a comment of a record of an app; authors are opaque strings.
type CommentAuthors interface {
	// Remember records that author posted the comment key.
	Remember(ctx context.Context, key, author string) error
	// Author returns who posted the comment key, "" when nobody is known.
	Author(ctx context.Context, key string) (string, error)
	// Forget drops the comment key once it is deleted.
	Forget(ctx context.Context, key string) error
}

func commentKey(app, record, comment string) string { return app + "/" + record + "/" + comment }

// author names a member as CommentAuthors keeps them.
func author(id *identity.Identity) string { return id.Issuer + "\x00" + id.Subject }

// storeUnavailable answers a request that needs what kgate keeps in its
// shared store while the store cannot be reached.
func storeUnavailable(lang string) error {
	return ownError(http.StatusServiceUnavailable, "KGATE_ST01", lang,
		"一時的に処理できません。しばらくしてから再試行してください。",
		"kgate cannot complete this right now. Please try again in a moment.")
}

// MemoryCommentAuthorsSize bounds how many comments the default
// CommentAuthors remembers.
const MemoryCommentAuthorsSize = 100_000

// MemoryCommentAuthors keeps the most recent authors in this process: a
// comment posted through another instance, or before a restart, is nobody's.
type MemoryCommentAuthors struct {
	mu      sync.Mutex
	max     int
	authors map[string]string
	order   []string // keys in the order they were added, oldest first
}

// NewMemoryCommentAuthors remembers the most recent max comments.
func NewMemoryCommentAuthors(max int) *MemoryCommentAuthors {
	return &MemoryCommentAuthors{max: max, authors: map[string]string{}}
}

func (m *MemoryCommentAuthors) Remember(_ context.Context, key, author string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.order) >= m.max {
		drop := m.order[:len(m.order)-m.max+1]
		for _, k := range drop {
			delete(m.authors, k)
		}
		m.order = append(m.order[:0], m.order[len(drop):]...)
	}
	m.authors[key] = author
	m.order = append(m.order, key)
	return nil
}

func (m *MemoryCommentAuthors) Author(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.authors[key], nil
}

func (m *MemoryCommentAuthors) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.authors, key)
	return nil
}

var _ CommentAuthors = (*MemoryCommentAuthors)(nil)
