package caddymodule

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/internal/gateway"
)

// What instances behind one site share. Sessions in Redis (session_store)
// are how several kgate instances serve one site; the comment authors live
// in the same Redis then, and the keys of file tokens and portal forms must
// come from the configuration. Without Redis everything is this process's.

// fileKeys decodes the file token keys. An empty previous key (an unset
// environment variable) is none; an empty current key is a mistake.
func (h *Handler) fileKeys(repl *caddy.Replacer) ([][]byte, error) {
	if len(h.FileKeys) == 0 {
		return nil, nil
	}
	var keys [][]byte
	for i, k := range h.FileKeys {
		k = repl.ReplaceKnown(k, "")
		if k == "" {
			if i == 0 {
				return nil, errors.New("kgate: file_key is empty after replacing placeholders (is the environment variable set?)")
			}
			continue
		}
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			if b, err = base64.RawURLEncoding.DecodeString(k); err != nil {
				return nil, fmt.Errorf("kgate: file_key %d is not base64 (make one with `openssl rand -base64 32`)", i+1)
			}
		}
		if len(b) < gateway.MinTokenKeyLen {
			return nil, fmt.Errorf("kgate: file_key %d is %d bytes, want at least %d (make one with `openssl rand -base64 32`)", i+1, len(b), gateway.MinTokenKeyLen)
		}
		keys = append(keys, b)
	}
	return keys, nil
}

// checkSharedKeys refuses a configuration whose instances would refuse
// each other's tokens and forms. Sessions in Redis are how several
// instances serve one site; their keys must then come from the
// configuration, not from each process's random ones.
func (h *Handler) checkSharedKeys(repl *caddy.Replacer) error {
	if !h.sharedSessions(repl) {
		return nil
	}
	const why = "kgate: sessions are shared through Redis (session_store), so several instances may serve this site, "
	if len(h.FileKeys) == 0 {
		return errors.New(why + "but file_key is not set: a file or upload token made by one instance would not open on another, nor after a restart. " +
			"Add `file_key {env.KGATE_FILE_KEY}` to the kgate block (make a key with `openssl rand -base64 32`)")
	}
	if h.Portal != nil && repl.ReplaceKnown(h.Portal.FormKey, "") == "" {
		return errors.New(why + "but the portal has no form_key: a form rendered by one instance would be refused by another. " +
			"Add `form_key {env.KGATE_FORM_KEY}` to the portal block (make a key with `openssl rand -base64 32`)")
	}
	return nil
}

// sharedSessions reports whether sessions live in Redis, which is how
// several instances serve one site.
func (h *Handler) sharedSessions(repl *caddy.Replacer) bool {
	if h.OIDC == nil {
		return false
	}
	spec := repl.ReplaceKnown(h.OIDC.SessionStore, "")
	return spec != "" && spec != "memory"
}

// redisClient is the client of the Redis in session_store, made once per
// provisioning; nil without one.
func (h *Handler) redisClient(repl *caddy.Replacer) (*redis.Client, error) {
	if h.redis != nil || !h.sharedSessions(repl) {
		return h.redis, nil
	}
	opts, err := redis.ParseURL(repl.ReplaceKnown(h.OIDC.SessionStore, ""))
	if err != nil {
		return nil, fmt.Errorf("oidc: session_store %q is neither memory nor a redis:// URL: %w", h.OIDC.SessionStore, err)
	}
	h.redis = redis.NewClient(opts)
	return h.redis, nil
}

// memoryAuthors keeps the comment authors of a single instance across
// config reloads, one set per kintone domain.
var memoryAuthors = caddy.NewUsagePool()

type pooledAuthors struct{ *gateway.MemoryCommentAuthors }

func (pooledAuthors) Destruct() error { return nil }

// commentAuthors is where who posted which comment is kept: in Redis with
// the sessions, else in this process.
func (h *Handler) commentAuthors(repl *caddy.Replacer) (gateway.CommentAuthors, error) {
	client, err := h.redisClient(repl)
	if err != nil {
		return nil, err
	}
	if client != nil {
		return gateway.NewRedisCommentAuthors(client, "kgate:comment:"), nil
	}
	v, _, err := memoryAuthors.LoadOrNew(h.Kintone.URL, func() (caddy.Destructor, error) {
		return pooledAuthors{gateway.NewMemoryCommentAuthors(gateway.MemoryCommentAuthorsSize)}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledAuthors).MemoryCommentAuthors, nil
}
