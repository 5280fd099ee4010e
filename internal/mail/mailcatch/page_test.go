package mailcatch

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestThePageSpeaksBothLanguagesWithTheSameKeys(t *testing.T) {
	for key := range messages["ja"] {
		if messages["en"][key] == "" {
			t.Errorf("%q has no English", key)
		}
	}
	for key := range messages["en"] {
		if messages["ja"][key] == "" {
			t.Errorf("%q has no Japanese", key)
		}
	}
}

// pageOf is a page over the given mails, as caught.
func pageOf(mails ...Mail) http.Handler {
	c := &Catcher{changed: make(chan struct{})}
	for _, m := range mails {
		c.add(m)
	}
	return c.Handler("/demo/mail")
}

func get(t *testing.T, h http.Handler, path, acceptLang string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if acceptLang != "" {
		r.Header.Set("Accept-Language", acceptLang)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func caught(to, subject, text string) Mail {
	raw := "From: =?UTF-8?B?44Od44O844K/44Or?= <portal@operator.example>\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nContent-Language: ja\r\n\r\n" + text
	m := parse([]byte(raw))
	m.To, m.At = []string{to}, time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC)
	return m
}

func TestThePageListsMailNewestFirstAndShowsEach(t *testing.T) {
	h := pageOf(
		caught("alice@acme.example", "=?UTF-8?B?5om/6KqN?=", "Open https://portal.example/invite?t=a&b=c. Then javascript:alert(1) <b>bold</b>\n"),
		caught("bob@acme.example", "<script>x</script>", "hi\n"),
	)
	for _, tc := range []struct {
		name, path, acceptLang string
		status                 int
		want, wantNot          []string
	}{
		{"the list in Japanese by default", "/demo/mail", "", 200,
			[]string{`<html lang="ja">`, "2 通（新しい順）", "宛先", "bob@acme.example", "alice@acme.example", `href="/demo/mail/1?lang=ja">承認</a>`, "2026/12/04"},
			[]string{"<script>x"}},
		{"the list in English when the browser asks", "/demo/mail", "en-US,en;q=0.9", 200,
			[]string{`<html lang="en">`, "2 mails, newest first", "&lt;script&gt;x&lt;/script&gt;", "4 Dec 2026"}, nil},
		{"?lang= wins over the browser", "/demo/mail?lang=ja", "en", 200, []string{`<html lang="ja">`}, nil},
		{"a mail with its links", "/demo/mail/1?lang=en", "", 200,
			[]string{"<h1>承認</h1>", "ポータル &lt;portal@operator.example&gt;", "alice@acme.example", `<pre lang="ja">`,
				`<a href="https://portal.example/invite?t=a&amp;b=c">https://portal.example/invite?t=a&amp;b=c</a>.`,
				"javascript:alert(1) &lt;b&gt;bold&lt;/b&gt;"},
			[]string{`href="javascript`, "<b>bold"}},
		{"a mail that does not exist", "/demo/mail/3", "en", 404, []string{"There is no such mail."}, nil},
		{"a mail number that is none", "/demo/mail/x", "ja", 404, []string{"そのメールはありません。"}, nil},
		{"a path beside the page", "/demo/mailx", "", 404, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, h, tc.path, tc.acceptLang)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q:\n%s", w, body)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("the page has %q", w)
				}
			}
		})
	}
	_, body := get(t, h, "/demo/mail", "en")
	if i, j := strings.Index(body, "bob@acme.example"), strings.Index(body, "alice@acme.example"); i > j {
		t.Error("the older mail is listed first")
	}
	_, empty := get(t, pageOf(), "/demo/mail", "en")
	if !strings.Contains(empty, "No mail yet.") || strings.Contains(empty, "<table") {
		t.Errorf("the empty page: %s", empty)
	}
}

func TestLinksAreOnlyHTTP(t *testing.T) {
	got := links("see https://a.example/x, and http://b.example/y。 not ftp://c.example or javascript:alert(1)")
	var urls []string
	for _, s := range got {
		if s.URL != "" {
			urls = append(urls, s.URL)
		}
	}
	if !slices.Equal(urls, []string{"https://a.example/x", "http://b.example/y"}) {
		t.Fatalf("links %v", urls)
	}
	var text strings.Builder
	for _, s := range got {
		text.WriteString(s.Text)
	}
	if text.String() != "see https://a.example/x, and http://b.example/y。 not ftp://c.example or javascript:alert(1)" {
		t.Fatalf("the text changed: %q", text.String())
	}
}
