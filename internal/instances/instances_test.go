package instances

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/kgate/kgate/internal/testbrowser"
)

// Three kgate processes behind Caddy's round robin, sharing one Redis,
// serve one site: a member logged in through the front is served by each
// of them, and what one instance hands out — a form, a file token, a
// comment — holds on every other, when one of them is killed under load,
// and after it is restarted. Without Redis sessions are refused with 503
// and come back with it; a back-channel logout delivered to one instance
// ends the session on all of them.
func TestThreeInstancesBehindOneBalancer(t *testing.T) {
	c := startCluster(t)
	alice := c.login("u-alice")
	record, token := alice.recordWithFile("")

	t.Run("requests spread across the instances", func(t *testing.T) {
		seen := map[string]int{}
		for range 12 {
			p := alice.api("", "GET", "/k/v1/records.json?app=2&query="+url.QueryEscape("limit 1"), "")
			if p.Status != 200 {
				t.Fatalf("%d %s", p.Status, p.Body)
			}
			seen[p.Header.Get("X-Kgate-Instance")]++
		}
		if seen["a"] == 0 || seen["b"] == 0 || seen["c"] == 0 || len(seen) != 3 {
			t.Fatalf("answers by instance %v, want some from each of a, b and c", seen)
		}
	})

	t.Run("a form rendered by one instance submits on another", func(t *testing.T) {
		action, form := alice.commentForm("a", record)
		form.Set("text", "sent through b")
		if p := alice.submit("b", action, form); p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "notice=commented") {
			t.Fatalf("posting a's form to b: %d → %q\n%.500s", p.Status, p.Location, p.Body)
		}
		action, forged := alice.commentForm("a", record)
		forged.Set("text", "with a token of no key")
		forged.Set("_token", strings.Repeat("A", len(forged.Get("_token"))))
		if p := alice.submit("b", action, forged); p.Status != http.StatusForbidden {
			t.Fatalf("a form with a forged token: %d, want 403", p.Status)
		}
	})

	t.Run("a form sent twice through two instances is written once", func(t *testing.T) {
		action, form := alice.commentForm("a", record)
		form.Set("text", "sent twice, through b and c")
		first, again := alice.submit("b", action, form), alice.submit("c", action, form)
		if first.Status != http.StatusSeeOther || again.Status != http.StatusSeeOther || again.Location != first.Location {
			t.Fatalf("the two submissions: %d → %q and %d → %q, want the second sent where the first went",
				first.Status, first.Location, again.Status, again.Location)
		}
		p := alice.api("a", "GET", "/k/v1/record/comments.json?app=2&record="+record, "")
		if n := strings.Count(string(p.Body), "sent twice, through b and c"); p.Status != 200 || n != 1 {
			t.Fatalf("the record has %d such comments (%d), want 1", n, p.Status)
		}
	})

	t.Run("a file token made by one instance downloads on another", func(t *testing.T) {
		_, fromA := alice.recordWithFile("a")
		for _, on := range []string{"b", "c"} {
			alice.download(on, fromA)
		}
	})

	t.Run("a comment posted through one instance is deleted by its author through another", func(t *testing.T) {
		cid := alice.comment("a", record, "posted through a")
		bob := c.login("u-bob")
		if p := bob.api("b", "DELETE", "/k/v1/record/comment.json", fmt.Sprintf(`{"app":2,"record":%s,"comment":%s}`, record, cid)); p.Status == 200 {
			t.Fatal("bob deleted alice's comment")
		}
		if p := alice.api("b", "DELETE", "/k/v1/record/comment.json", fmt.Sprintf(`{"app":2,"record":%s,"comment":%s}`, record, cid)); p.Status != 200 {
			t.Fatalf("alice deleting through b her comment posted through a: %d %s", p.Status, p.Body)
		}
	})

	t.Run("an instance killed under load loses no session and no token", func(t *testing.T) {
		cid := alice.comment("c", record, "posted through c before it is killed")
		_, fromC := alice.recordWithFile("c")
		const workers = 4
		var ok, failed, lost atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, err := alice.quietly("/k/v1/records.json?app=2&query=" + url.QueryEscape("limit 5"))
					switch {
					case err == nil && status == 200:
						ok.Add(1)
					case err == nil && (status == http.StatusUnauthorized || status == http.StatusFound):
						lost.Add(1)
					default:
						failed.Add(1)
					}
				}
			})
		}
		waitFor(t, func() bool { return ok.Load() >= 40 })
		c.kill(c.kgate["c"])
		atKill := ok.Load()
		waitFor(t, func() bool { return ok.Load() >= atKill+120 })
		close(stop)
		wg.Wait()
		t.Logf("under load, c killed: %d requests answered, %d failed, %d without their session", ok.Load(), failed.Load(), lost.Load())
		if lost.Load() != 0 {
			t.Fatalf("%d requests lost the session", lost.Load())
		}
		// Only a request c was answering when it died can fail: the
		// balancer tries every other GET again on the next instance.
		if failed.Load() > workers {
			t.Fatalf("%d requests failed, more than the %d in flight when c died", failed.Load(), workers)
		}
		alice.download("a", fromC)

		c.start(c.kgate["c"])
		c.waitReady(c.kgate["c"].url)
		alice.download("c", fromC)
		if p := alice.api("c", "DELETE", "/k/v1/record/comment.json", fmt.Sprintf(`{"app":2,"record":%s,"comment":%s}`, record, cid)); p.Status != 200 {
			t.Fatalf("deleting through the restarted c a comment posted through c before: %d %s", p.Status, p.Body)
		}
	})

	t.Run("without Redis sessions are refused with 503 and come back with it", func(t *testing.T) {
		c.redis.Kill()
		p := alice.api("", "GET", "/k/v1/records.json?app=2", "")
		var e struct{ Code string }
		json.Unmarshal([]byte(p.Body), &e)
		if p.Status != http.StatusServiceUnavailable || e.Code != "KGATE_ID01" || p.Header.Get("Retry-After") == "" {
			t.Fatalf("the API without Redis: %d %s (Retry-After %q), want 503 KGATE_ID01", p.Status, p.Body, p.Header.Get("Retry-After"))
		}
		if p := alice.page("", "/apps/budget"); p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("a page without Redis: %d %s, want the 503 page", p.Status, p.Header.Get("Content-Type"))
		}
		for name, p := range c.kgate {
			if !p.running() {
				t.Fatalf("instance %s ended without Redis", name)
			}
		}
		c.redis.Start()
		waitFor(t, func() bool {
			return alice.api("", "GET", "/k/v1/records.json?app=2&query="+url.QueryEscape("limit 1"), "").Status == 200
		})
		alice.download("b", token)
	})

	t.Run("a back-channel logout delivered to one instance ends the session on all", func(t *testing.T) {
		bob := c.login("u-bob")
		if err := c.op.Logout(t.Context(), "u-alice"); err != nil { // the provider delivers it to a
			t.Fatal(err)
		}
		for _, on := range []string{"b", "c"} {
			if p := alice.api(on, "GET", "/k/v1/records.json?app=2", ""); p.Status != http.StatusUnauthorized {
				t.Fatalf("alice's API call on %s after the logout: %d", on, p.Status)
			}
		}
		if p := alice.page("", "/apps/budget"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/kgate/login?") {
			t.Fatalf("alice's page after the logout: %d → %q, want login", p.Status, p.Location)
		}
		if p := bob.api("", "GET", "/k/v1/records.json?app=2", ""); p.Status != 200 {
			t.Fatalf("bob, not logged out: %d", p.Status)
		}
	})
}

// waitFor polls cond until it holds; it fails the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the condition did not come true within a minute")
		}
	}
}

// recordWithFile returns a budget record of the member's with an attached
// file and that file's token, as the instance (or the front) made it.
func (m *member) recordWithFile(instance string) (record, token string) {
	m.c.t.Helper()
	q := url.Values{"app": {"2"}, "query": {"limit 100"}, "fields[0]": {"$id"}, "fields[1]": {"attachment"}}
	p := m.api(instance, "GET", "/k/v1/records.json?"+q.Encode(), "")
	var out struct {
		Records []struct {
			ID         struct{ Value string } `json:"$id"`
			Attachment struct {
				Value []struct{ FileKey string }
			}
		}
	}
	if err := json.Unmarshal([]byte(p.Body), &out); err != nil || p.Status != 200 {
		m.c.t.Fatalf("records: %d %.300s", p.Status, p.Body)
	}
	for _, r := range out.Records {
		if len(r.Attachment.Value) > 0 {
			return r.ID.Value, r.Attachment.Value[0].FileKey
		}
	}
	m.c.t.Fatal("the member has no budget record with a file")
	return "", ""
}

// download fetches the file named by token through instance.
func (m *member) download(instance, token string) {
	m.c.t.Helper()
	p := m.api(instance, "GET", "/k/v1/file.json?fileKey="+url.QueryEscape(token), "")
	if p.Status != 200 || !strings.Contains(p.Body, "Spring campaign flyers") {
		m.c.t.Fatalf("downloading through %s: %d %.200s", instance, p.Status, p.Body)
	}
}

// comment posts a comment on record through instance and returns its id.
func (m *member) comment(instance, record, text string) string {
	m.c.t.Helper()
	p := m.api(instance, "POST", "/k/v1/record/comment.json", fmt.Sprintf(`{"app":2,"record":%s,"comment":{"text":%q}}`, record, text))
	var out struct{ ID string }
	if json.Unmarshal([]byte(p.Body), &out); p.Status != 200 || out.ID == "" {
		m.c.t.Fatalf("posting a comment through %s: %d %s", instance, p.Status, p.Body)
	}
	return out.ID
}

// submit posts form to action on instance, as a browser submits a form.
func (m *member) submit(instance, action string, form url.Values) testbrowser.Page {
	m.c.t.Helper()
	return m.via(instance, http.MethodPost, action, "application/x-www-form-urlencoded", []byte(form.Encode()), false)
}

// commentForm reads the comment form of record's page as instance renders
// it: its action and its fields.
func (m *member) commentForm(instance, record string) (string, url.Values) {
	m.c.t.Helper()
	p := m.page(instance, "/apps/budget/records/"+record)
	if p.Status != 200 {
		m.c.t.Fatalf("the record page on %s: %d", instance, p.Status)
	}
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		m.c.t.Fatal(err)
	}
	var action string
	var form url.Values
	var walk func(n *html.Node, in url.Values)
	walk = func(n *html.Node, in url.Values) {
		if n.Type == html.ElementNode && n.Data == "form" && strings.HasSuffix(attr(n, "action"), "/comments") {
			action, form = attr(n, "action"), url.Values{}
			in = form
		}
		if n.Type == html.ElementNode && n.Data == "input" && in != nil {
			in.Set(attr(n, "name"), attr(n, "value"))
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, in)
		}
	}
	walk(doc, nil)
	if form == nil || form.Get("_token") == "" {
		m.c.t.Fatalf("no comment form with a token on the record page of %s", instance)
	}
	return action, form
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
