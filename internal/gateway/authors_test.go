package gateway_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/testenv"
	"github.com/kgate/kgate/internal/testworld"
)

// instance is another kgate over e's world — another process behind the
// same site, or this one restarted — remembering comment authors in
// authors.
func (e *wenv) instance(t *testing.T, authors gateway.CommentAuthors) *gateway.Gateway {
	t.Helper()
	eng, err := policy.Open(e.ctx, policy.Options{Dir: e.world.PolicyDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	client, err := kintone.NewClient(kintone.Config{BaseURL: e.world.URL})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Client: client, Policy: eng, Apps: testworld.WriteApps(), CommentAuthors: authors})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// redisAuthors is an instance's own connection to the shared Redis.
func redisAuthors(t *testing.T, rs *testenv.Redis) gateway.CommentAuthors {
	c := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { c.Close() })
	return gateway.NewRedisCommentAuthors(c, "kgate-test:comment:")
}

func (e *wenv) post(t *testing.T, gw *gateway.Gateway, id *identity.Identity, text string) string {
	t.Helper()
	cid, err := gw.AddComment(e.ctx, id, gateway.AddCommentRequest{App: budget, Record: "1", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return cid
}

func (e *wenv) remove(gw *gateway.Gateway, id *identity.Identity, comment string) error {
	return gw.DeleteComment(e.ctx, id, gateway.DeleteCommentRequest{App: budget, Record: "1", Comment: comment})
}

// commentIDs are record 1's comments as kintone holds them.
func (e *wenv) commentIDs(t *testing.T) []string {
	t.Helper()
	list, err := e.gw.ListComments(e.ctx, sam, gateway.CommentsRequest{App: budget, Record: "1"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list.Comments {
		ids = append(ids, c.ID)
	}
	return ids
}

// With Redis, who posted a comment is known to every instance and after a
// restart: the author deletes it through any of them, and nobody else can.
func TestCommentAuthorsInRedisAreSharedByInstancesAndOutliveARestart(t *testing.T) {
	rs := testenv.StartRedis(t)
	e := newWriteEnv(t, func(_ *kintone.Config, gc *gateway.Config) { gc.CommentAuthors = redisAuthors(t, rs) })
	a, b := e.gw, e.instance(t, redisAuthors(t, rs))

	posted := e.post(t, a, bob, "posted through A")
	refusal(t, e.remove(b, alice, posted), "GAIA_RE03", http.StatusBadRequest)
	if err := e.remove(b, bob, posted); err != nil {
		t.Fatalf("bob deletes through B what he posted through A: %v", err)
	}
	if slices.Contains(e.commentIDs(t), posted) {
		t.Fatal("the comment is still in kintone")
	}

	kept := e.post(t, a, bob, "posted before a restart")
	restarted := e.instance(t, redisAuthors(t, rs))
	refusal(t, e.remove(restarted, alice, kept), "GAIA_RE03", http.StatusBadRequest)
	if err := e.remove(restarted, bob, kept); err != nil {
		t.Fatalf("bob deletes after a restart what he posted before: %v", err)
	}
}

// While Redis cannot be reached a deletion is answered 503 and changes
// nothing; once Redis is back, it goes through.
func TestACommentIsNotDeletedWhileItsAuthorCannotBeLookedUp(t *testing.T) {
	rs := testenv.StartRedis(t)
	e := newWriteEnv(t, func(_ *kintone.Config, gc *gateway.Config) { gc.CommentAuthors = redisAuthors(t, rs) })
	cid := e.post(t, e.gw, bob, "posted while Redis is up")
	rs.Kill()
	refusal(t, e.remove(e.gw, bob, cid), "KGATE_ST01", http.StatusServiceUnavailable)
	if !slices.Contains(e.commentIDs(t), cid) {
		t.Fatal("the comment was deleted while its author could not be looked up")
	}
	rs.Start()
	if err := e.remove(e.gw, bob, cid); err != nil {
		t.Fatalf("after Redis is back: %v", err)
	}
}

// Without Redis the authors live in the instance's memory: the documented
// single-instance setup, where another instance knows nobody's comments.
func TestCommentAuthorsInMemoryAreTheInstancesOwn(t *testing.T) {
	e := newWriteEnv(t)
	cid := e.post(t, e.gw, bob, "posted through A")
	other := e.instance(t, gateway.NewMemoryCommentAuthors(10))
	refusal(t, e.remove(other, bob, cid), "GAIA_RE03", http.StatusBadRequest)
	if err := e.remove(e.gw, bob, cid); err != nil {
		t.Fatal(err)
	}
}

// The memory keeps the most recent comments and forgets the oldest.
func TestMemoryCommentAuthorsKeepTheMostRecent(t *testing.T) {
	m := gateway.NewMemoryCommentAuthors(2)
	ctx := t.Context()
	for _, k := range []string{"1", "2", "3"} {
		m.Remember(ctx, k, "bob")
	}
	for k, want := range map[string]string{"1": "", "2": "bob", "3": "bob"} {
		if got, _ := m.Author(ctx, k); got != want {
			t.Errorf("author of %s = %q, want %q", k, got, want)
		}
	}
}
