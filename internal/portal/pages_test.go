package portal

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kintonesim"
)

// Budget titles of each organization in the demo seed.
var (
	acmeBudget     = []string{"Spring campaign flyers / 春のキャンペーンチラシ", "展示会ブース出展", "Web ads Q2"}
	bluebirdBudget = []string{"Office supplies for campaign / キャンペーン用備品", "Trade show booth / 展示会ブース出展"}
	cosmoBudget    = []string{`Product samples / 試供品</td><td data-label="Organization">cosmo`, `<td data-label="Title">キャンペーン用備品</td>`}
)

func TestHomeShowsTheMemberAndOnlyTheAppsTheyMayRead(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		who       string
		want, not []string
	}{
		{"alice", []string{"Alice Sato", "Acme Trading", "Gold", `href="/apps/budget"`, `href="/apps/documents"`, `href="/apps/schedule"`}, []string{`href="/apps/members"`}},
		{"dave", []string{"Dave Ito", "Bluebird Logistics", "Silver", `href="/apps/budget"`}, []string{`href="/apps/members"`}},
		{"sam", []string{"Sam Yamada", "staff", `href="/apps/members"`, `href="/apps/budget"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			r := w.get(t, demoMember(tt.who), "/", "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d", r.Code)
			}
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, tt.not...)
			// The logout button is a POST form to auth's endpoint.
			mustContain(t, r.body, `<form method="post" action="/kgate/logout" class="logout">`)
		})
	}
}

func TestHomeDescriptionsAreSanitizedOrConfigured(t *testing.T) {
	w := newWorld(t, func(c *Config) {
		c.Apps["survey"] = AppSettings{Name: Text{En: "Tell us <how> we did"}, Description: Text{En: `<b>plain</b> text`}}
	})
	r := w.get(t, demoMember("alice"), "/", "Accept-Language", "en")
	mustContain(t, r.body, "Tell us &lt;how&gt; we did", "&lt;b&gt;plain&lt;/b&gt; text", "Documents shared with partners.")
}

func TestListShowsOnlyTheMembersRecordsAndColumns(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		who       string
		want, not []string
	}{
		{"alice", acmeBudget, append(append([]string{"Internal note"}, bluebirdBudget...), cosmoBudget...)},
		{"bob", acmeBudget, append(append([]string{"Internal note"}, bluebirdBudget...), cosmoBudget...)},
		{"dave", bluebirdBudget, append([]string{"Internal note", "Spring campaign flyers / 春のキャンペーンチラシ"}, cosmoBudget...)},
		{"sam", append(append(append([]string{}, acmeBudget...), bluebirdBudget...), cosmoBudget...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.who, func(t *testing.T) {
			r := w.get(t, demoMember(tt.who), "/apps/budget?size=50", "Accept-Language", "en")
			if r.Code != http.StatusOK {
				t.Fatalf("status %d: %s", r.Code, r.body)
			}
			mustContain(t, r.body, tt.want...)
			mustNotContain(t, r.body, tt.not...)
		})
	}
}

func TestListOfASilverMemberShowsTheMask(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/budget/records/3", "Accept-Language", "en")
	mustContain(t, r.body, `<dt>Approved amount</dt><dd><span class="masked">(hidden)</span></dd>`)
	r = w.get(t, demoMember("alice"), "/apps/budget/records/3", "Accept-Language", "en")
	mustContain(t, r.body, "<dt>Approved amount</dt><dd class=\"num\">¥135,000</dd>")
}

func TestListColumnsAreConfigurableButNeverWiden(t *testing.T) {
	w := newWorld(t, func(c *Config) {
		c.Apps["budget"] = AppSettings{Columns: []string{"amount", "internal_note", "title"}}
	})
	r := w.get(t, demoMember("alice"), "/apps/budget", "Accept-Language", "en")
	head := between(r.body, "<thead>", "</thead>")
	if !regexp.MustCompile(`>Amount<.*>Title<`).MatchString(head) {
		t.Errorf("columns not in the configured order: %s", head)
	}
	mustNotContain(t, head, "Internal note", "Category")
	r = w.get(t, demoMember("sam"), "/apps/budget", "Accept-Language", "en")
	mustContain(t, between(r.body, "<thead>", "</thead>"), "Internal note")
}

func TestRecordShowsEveryReadableFieldForItsType(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget/records/1", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body,
		"<h1>Spring campaign flyers / 春のキャンペーンチラシ</h1>",
		`<span class="badge">Draft</span>`,
		`<dd class="num">¥200,000</dd>`, // NUMBER with its unit before and digit separators
		`<span class="multiline">Increase awareness among our customers.`,
		`<table class="subtable">`, "Design / デザイン", `<td class="num">¥120,000</td>`, // subtable
		`download="quote-flyers.txt">quote-flyers.txt</a> <span class="size">(98 bytes)</span>`,
		"Oct 6, 2026 10:00", // CREATED_TIME in Asia/Tokyo
	)
	mustNotContain(t, r.body, "Internal note", "demo-file-budget-quote")
	if !regexp.MustCompile(`href="/files/[A-Za-z0-9_-]{40,}\?name=quote-flyers.txt"`).MatchString(r.body) {
		t.Error("the attachment does not link to the portal's download route with a file token")
	}
	r = w.get(t, demoMember("sam"), "/apps/budget/records/1", "Accept-Language", "en")
	mustContain(t, r.body, "Internal note")
}

func TestRecordOfAnotherOrganizationIsNotFound(t *testing.T) {
	w := newWorld(t)
	for _, path := range []string{"/apps/budget/records/1", "/apps/budget/records/999", "/apps/budget/records/abc"} {
		r := w.get(t, demoMember("dave"), path, "Accept-Language", "en")
		want := http.StatusNotFound
		if strings.HasSuffix(path, "abc") {
			want = http.StatusBadRequest
		}
		if r.Code != want {
			t.Errorf("%s: status %d, want %d", path, r.Code, want)
		}
		mustNotContain(t, r.body, "Spring campaign flyers")
	}
}

func TestRecordShowsCommentsOnlyWhenAllowed(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/budget/records/2", "Accept-Language", "en")
	mustContain(t, r.body, `<section class="card comments" id="comments"`, "Received. We will review it this week.", `<span class="author">via the portal</span>`)
	// documents has no comment.read: no comments section at all.
	r = w.get(t, demoMember("bob"), "/apps/documents/records/1", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustNotContain(t, r.body, `id="comments"`)
}

func TestRecordDateTimesFollowTheMembersTimeZone(t *testing.T) {
	w := newWorld(t)
	tokyo := w.get(t, demoMember("alice"), "/apps/schedule/records/1", "Accept-Language", "en")
	mustContain(t, tokyo.body, "Nov 18, 2026 15:00")
	ny := demoMember("alice")
	ny.TimeZone = "America/New_York"
	r := w.get(t, ny, "/apps/schedule/records/1", "Accept-Language", "en")
	mustContain(t, r.body, "Nov 18, 2026 01:00", "America/New_York")
}

func TestRecordRendersRichTextSafely(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("bob"), "/apps/documents/records/17", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, "<p>Hi <b>there</b></p>", `<a href="https://example.com/ok" rel="nofollow noreferrer noopener" target="_blank">good</a>`)
	rich := between(r.body, `<div class="rich">`, "</div>")
	mustNotContain(t, r.body, "onclick", "alert(", "javascript:", "<iframe", "<style", "evil.example", `<input name="p"`)
	mustNotContain(t, rich, "<img", "<form", "<script")
}

// between returns the part of s from the first a to the next b.
func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	j := strings.Index(s[i:], b)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j]
}

func TestRecordCommentsArePagedNewestFirst(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget/records/1", "Accept-Language", "en")
	comments := between(r.body, `id="comments"`, "</section>")
	mustContain(t, comments, "&lt;script&gt;alert(&#34;comment&#34;)&lt;/script&gt;", "Comment number 3",
		`<a href="/apps/budget/records/1?comments=10#comments">Older comments</a>`)
	mustNotContain(t, comments, "Comment number 2<", "<script>", "Newer comments")
	if strings.Index(comments, "Comment number 11") > strings.Index(comments, "Comment number 10") {
		t.Error("comments are not newest first")
	}
	r = w.get(t, demoMember("alice"), "/apps/budget/records/1?comments=10", "Accept-Language", "en")
	comments = between(r.body, `id="comments"`, "</section>")
	mustContain(t, comments, "Comment number 2<", "Comment number 1<", `<a href="/apps/budget/records/1#comments">Newer comments</a>`)
	mustNotContain(t, comments, "Older comments", "Comment number 3<")
	if r := w.get(t, demoMember("alice"), "/apps/budget/records/1?comments=-1", "Accept-Language", "en"); r.Code != http.StatusBadRequest {
		t.Errorf("negative comment offset: status %d", r.Code)
	}
}

func TestRecordStillShowsWhenCommentsFail(t *testing.T) {
	w := newWorld(t)
	w.sim.InjectFault(kintonesim.Fault{Path: "/k/v1/record/comments.json", Status: 500, Times: -1})
	r := w.get(t, demoMember("alice"), "/apps/budget/records/1", "Accept-Language", "en")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d", r.Code)
	}
	mustContain(t, r.body, "Spring campaign flyers", "The comments could not be loaded just now.")
}

func TestHeadAnswersWithoutABody(t *testing.T) {
	w := newWorld(t)
	r := w.do(t, demoMember("alice"), httptest.NewRequest(http.MethodHead, "/apps/budget", nil))
	if r.Code != http.StatusOK || r.body != "" || r.Header().Get("Content-Length") == "0" {
		t.Errorf("status %d, %d bytes, Content-Length %q", r.Code, len(r.body), r.Header().Get("Content-Length"))
	}
}
