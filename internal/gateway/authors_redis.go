package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// CommentAuthorsTTL is how long RedisCommentAuthors remembers who posted a
// comment: a member can delete their comment through kgate for a year.
const CommentAuthorsTTL = 365 * 24 * time.Hour

// RedisCommentAuthors keeps comment authors in Redis, shared by every kgate
// instance and kept across restarts: a comment posted through one instance
// can be deleted by its author through any other. Each is a string key
// under prefix that expires after CommentAuthorsTTL.
type RedisCommentAuthors struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisCommentAuthors keeps authors on client under keys starting with
// prefix (for example "kgate:comment:").
func NewRedisCommentAuthors(client redis.UniversalClient, prefix string) *RedisCommentAuthors {
	return &RedisCommentAuthors{client: client, prefix: prefix}
}

func (r *RedisCommentAuthors) Remember(ctx context.Context, key, author string) error {
	return r.client.Set(ctx, r.prefix+key, author, CommentAuthorsTTL).Err()
}

func (r *RedisCommentAuthors) Author(ctx context.Context, key string) (string, error) {
	v, err := r.client.Get(ctx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

func (r *RedisCommentAuthors) Forget(ctx context.Context, key string) error {
	return r.client.Del(ctx, r.prefix+key).Err()
}

var _ CommentAuthors = (*RedisCommentAuthors)(nil)
