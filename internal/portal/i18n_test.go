package portal

import (
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	texttemplate "text/template"
	"text/template/parse"
)

func TestLanguageIsTheSwitchThenTheMemberThenTheBrowser(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, cookie, member, accept, want string
	}{
		{"nothing decides: the default", "", "", "", "ja"},
		{"the browser", "", "", "en-US,en;q=0.9", "en"},
		{"the browser's best supported language", "", "", "fr-FR, de;q=0.9, en;q=0.5, ja;q=0.8", "ja"},
		{"a refused language is skipped", "", "", "en;q=0, ja;q=0.1", "ja"},
		{"the member's preference beats the browser", "", "ja-JP", "en", "ja"},
		{"the switch beats the member", "en", "ja", "ja", "en"},
		{"an unknown switch value is ignored", "xx", "en", "ja", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			who := demoMember("alice")
			who.Lang = tt.member
			hdr := []string{"Accept-Language", tt.accept}
			if tt.cookie != "" {
				hdr = append(hdr, "Cookie", langCookie+"="+tt.cookie)
			}
			w.rec.mu.Lock()
			w.rec.langs = nil
			w.rec.mu.Unlock()
			r := w.get(t, who, "/apps/budget", hdr...)
			mustContain(t, r.body, `<html lang="`+tt.want+`">`)
			if got := r.Header().Get("Content-Language"); got != tt.want {
				t.Errorf("Content-Language %q", got)
			}
			// Field labels are asked for in the page's language.
			w.rec.mu.Lock()
			langs := w.rec.langs
			w.rec.mu.Unlock()
			if len(langs) != 1 || langs[0] != tt.want {
				t.Errorf("form labels asked in %q", langs)
			}
		})
	}
}

// A list read past the member's rate (the policy's rate rule) is a 429
// page with a Retry-After, in the page's language, the gateway's message
// naming the rate included.
func TestGatewayMessagesComeInThePageLanguage(t *testing.T) {
	w := newWorldWith(t, worldOptions{policy: func(data map[string]any) {
		level := data["apps"].(map[string]any)["budget"].(map[string]any)["levels"].(map[string]any)["silver"].(map[string]any)
		level["rate"] = 1 // a record a minute: the second page would wait far beyond 30 s
	}})
	for _, tt := range []struct{ lang, title, message string }{
		{"ja", "読み取りが速すぎます", "毎分 1 件"},
		{"en", "Reading too fast", "1 records per minute"},
	} {
		var r *response
		for range 3 {
			if r = w.get(t, demoMember("bob"), "/apps/budget", "Cookie", langCookie+"="+tt.lang); r.Code != http.StatusOK {
				break
			}
		}
		if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" {
			t.Fatalf("%s: status %d, Retry-After %q; want 429 with one", tt.lang, r.Code, r.Header().Get("Retry-After"))
		}
		mustContain(t, r.body, tt.title, tt.message)
	}
}

func TestLanguageSwitch(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		form     url.Values
		header   []string
		status   int
		location string
	}{
		{"same origin by fetch metadata", url.Values{"lang": {"en"}, "return": {"/apps/budget?page=2"}}, []string{"Sec-Fetch-Site", "same-origin"}, 303, "/apps/budget?page=2"},
		{"same origin by Origin", url.Values{"lang": {"ja"}, "return": {"/"}}, []string{"Origin", "http://example.com"}, 303, "/"},
		{"return elsewhere goes home", url.Values{"lang": {"en"}, "return": {"//evil.example/x"}}, []string{"Sec-Fetch-Site", "same-origin"}, 303, "/"},
		{"absolute return goes home", url.Values{"lang": {"en"}, "return": {"https://evil.example/"}}, []string{"Sec-Fetch-Site", "same-origin"}, 303, "/"},
		{"backslash trick goes home", url.Values{"lang": {"en"}, "return": {`/\evil.example`}}, []string{"Sec-Fetch-Site", "same-origin"}, 303, "/"},
		{"cross site", url.Values{"lang": {"en"}}, []string{"Sec-Fetch-Site", "cross-site"}, 403, ""},
		{"other origin", url.Values{"lang": {"en"}}, []string{"Origin", "https://evil.example"}, 403, ""},
		{"no origin at all", url.Values{"lang": {"en"}}, nil, 403, ""},
		{"unknown language", url.Values{"lang": {"fr"}}, []string{"Sec-Fetch-Site", "same-origin"}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, "/lang", tt.form, tt.header...)
			if r.Code != tt.status {
				t.Fatalf("status %d, want %d", r.Code, tt.status)
			}
			if tt.status != http.StatusSeeOther {
				if len(r.Result().Cookies()) != 0 {
					t.Error("a refused switch set a cookie")
				}
				return
			}
			if loc := r.Header().Get("Location"); loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
			c := r.Result().Cookies()
			if len(c) != 1 || c[0].Name != langCookie || c[0].Value != tt.form.Get("lang") || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
				t.Errorf("cookies %v", c)
			}
		})
	}
	if r := w.get(t, nil, "/lang?lang=en"); r.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /lang: status %d", r.Code)
	}
}

func TestThePageOffersTheSwitchInEachLanguagesOwnName(t *testing.T) {
	w := newWorld(t)
	r := w.get(t, demoMember("alice"), "/apps/budget?page=1&sort=title", "Accept-Language", "en")
	mustContain(t, r.body,
		`<form class="lang-switch" method="post" action="/lang">`,
		`<input type="hidden" name="return" value="/apps/budget?page=1&amp;sort=title">`,
		`<button type="submit" name="lang" value="ja" lang="ja" aria-pressed="false">日本語</button>`,
		`<button type="submit" name="lang" value="en" lang="en" aria-pressed="true">English</button>`)
}

func TestNumbersDatesAndSizesAreLocalized(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		lang string
		fn   func(*locale) string
		want string
	}{
		{"en", func(l *locale) string { return l.Date("2026-04-01") }, "Apr 1, 2026"},
		{"ja", func(l *locale) string { return l.Date("2026-04-01") }, "2026年4月1日"},
		{"en", func(l *locale) string { return l.DateTime("2026-03-31T15:30:00Z") }, "Apr 1, 2026 00:30"},
		{"ja", func(l *locale) string { return l.DateTime("2026-03-31T15:30:00Z") }, "2026年4月1日 00:30"},
		{"ja", func(l *locale) string { return l.Date("not a date") }, "not a date"},
		{"ja", func(l *locale) string { return l.layout("fmt.day", mustDay("2026-04-01")) }, "4月1日(水)"},
		{"en", func(l *locale) string { return l.layout("fmt.day", mustDay("2026-04-01")) }, "Wed, Apr 1"},
		{"en", func(l *locale) string { return l.Size(98) }, "98 bytes"},
		{"en", func(l *locale) string { return l.Size(1536) }, "1.5 KB"},
		{"ja", func(l *locale) string { return l.Size(5 << 20) }, "5.0 MB"},
		{"en", func(l *locale) string { return l.Int(1234567) }, "1,234,567"},
		{"en", func(l *locale) string { return l.N("list.count", 1, "1", "1") }, "Showing the only record."},
		{"ja", func(l *locale) string { return l.N("table.rows", 1) }, "1 行"},
	} {
		l := w.h.testLocale(tt.lang)
		if got := tt.fn(l); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.lang, got, tt.want)
		}
	}
}

func TestNumbersKeepTheFieldsScaleGroupingAndUnit(t *testing.T) {
	w := newWorld(t)
	l := w.h.testLocale("en")
	tests := []struct {
		v    string
		f    numberFormat
		want string
	}{
		{"1234567", numberFormat{scale: -1}, "1234567"},
		{"1234567", numberFormat{scale: -1, digits: true}, "1,234,567"},
		{"-1234567.5", numberFormat{scale: -1, digits: true}, "-1,234,567.5"},
		{"1234.5678", numberFormat{scale: 2, digits: true}, "1,234.57"},
		{"2.5", numberFormat{scale: 0}, "3"},
		{"-2.5", numberFormat{scale: 0}, "-3"},
		{"3", numberFormat{scale: 2}, "3.00"},
		{"0.10", numberFormat{scale: -1}, "0.1"},
		{"200000", numberFormat{scale: -1, digits: true, unit: "¥", before: true}, "¥200,000"},
		{"12", numberFormat{scale: -1, unit: " kg"}, "12 kg"},
		{"***", numberFormat{scale: 2, unit: "¥", before: true}, "***"},
		{"", numberFormat{scale: 2}, ""},
	}
	for _, tt := range tests {
		if got := l.Number(tt.v, tt.f); got != tt.want {
			t.Errorf("Number(%q, %+v) = %q, want %q", tt.v, tt.f, got, tt.want)
		}
	}
}

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	cats, err := loadCatalogs("")
	if err != nil {
		t.Fatal(err)
	}
	has := func(c catalog, k string) bool {
		if _, ok := c[k]; ok {
			return true
		}
		// A language without a singular uses its plural.
		if base, ok := strings.CutSuffix(k, ".one"); ok {
			_, ok := c[base+".other"]
			return ok
		}
		return false
	}
	for _, a := range langs {
		for _, b := range langs {
			for k := range cats[a] {
				if !has(cats[b], k) {
					t.Errorf("%s has %q, %s does not", a, k, b)
				}
			}
		}
	}
}

// Every message key the code and the templates use is in every catalogue.
func TestEveryUsedKeyIsInTheCatalogues(t *testing.T) {
	cats, err := loadCatalogs("")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	keyRE := regexp.MustCompile(`\.(?:T|N|layout)\(?\s*"([a-z0-9_.]+)"`)
	problemRE := regexp.MustCompile(`&problem\{"([a-z0-9_.]+)"`)
	for _, dir := range []string{".", "templates"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || !(strings.HasSuffix(f, ".go") || strings.HasSuffix(f, ".html")) {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, re := range []*regexp.Regexp{keyRE, problemRE} {
				for _, m := range re.FindAllStringSubmatch(string(b), -1) {
					used[m[1]] = true
				}
			}
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	for k := range used {
		for _, lang := range langs {
			_, ok := cats[lang][k]
			_, other := cats[lang][k+".other"]
			if !ok && !other && !strings.HasSuffix(k, ".") {
				t.Errorf("%s: key %q is used but missing", lang, k)
			}
		}
	}
	// Keys built at run time.
	for _, lang := range langs {
		for _, k := range []string{"weekday.0", "weekday.6", "weekday.long.0", "weekday.long.6", "error.generic.title",
			"error.403.title", "error.503.text", "lang.name", "num.group"} {
			if _, ok := cats[lang][k]; !ok {
				t.Errorf("%s: key %q is missing", lang, k)
			}
		}
	}
}

// No words in templates: every text node and every human-facing attribute
// comes from the catalogues, and nothing inline can run or restyle.
func TestTemplatesHoldNoTextAndNothingInline(t *testing.T) {
	letter := regexp.MustCompile(`\p{L}`)
	tag := regexp.MustCompile(`<[^>]*>`)
	attr := regexp.MustCompile(`(?i)\b(aria-label|title|alt|placeholder)="[^"{]*\p{L}`)
	inline := regexp.MustCompile(`(?i)<script>|<script[^>]*>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	err := fs.WalkDir(templatesFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, _ := fs.ReadFile(templatesFS, path)
		if m := inline.FindString(string(src)); m != "" {
			t.Errorf("%s: inline script, style or handler %q", path, m)
		}
		set, err := texttemplate.New(path).Parse(string(src))
		if err != nil {
			return err
		}
		for _, tmpl := range set.Templates() {
			// The template's markup with every action as one placeholder
			// character, branches in order: tags split by actions come
			// out whole.
			var b strings.Builder
			flatten(tmpl.Tree.Root, &b)
			text := b.String()
			if m := attr.FindString(text); m != "" {
				t.Errorf("%s: attribute text %q", path, m)
			}
			if words := tag.ReplaceAllString(text, ""); letter.MatchString(words) {
				t.Errorf("%s (%s): text %q", path, tmpl.Name(), letter.FindString(words))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flatten writes a template's text with each action as "\x00".
func flatten(n parse.Node, b *strings.Builder) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			flatten(c, b)
		}
	case *parse.TextNode:
		b.Write(n.Text)
	case *parse.IfNode:
		flatten(n.List, b)
		flatten(n.ElseList, b)
	case *parse.RangeNode:
		flatten(n.List, b)
		flatten(n.ElseList, b)
	case *parse.WithNode:
		flatten(n.List, b)
		flatten(n.ElseList, b)
	default:
		b.WriteByte(0)
	}
}

// testLocale is a locale for lang in the default zone.
func (h *Handler) testLocale(lang string) *locale {
	return &locale{Lang: lang, TZName: h.tz.String(), cat: h.cats[lang], tz: h.tz}
}
