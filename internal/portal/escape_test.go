package portal

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kintone"
)

// Markup that would do something in a browser: elements a value must never
// create, and, inside a tag, an event-handler attribute or a javascript:,
// data: or vbscript: URL.
var (
	liveElement = regexp.MustCompile(`(?i)<(script|iframe|img|svg|style|object|embed|form|input)\b`)
	tagRE       = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	liveAttr    = regexp.MustCompile(`(?i)\son[a-z]+\s*=|(href|src|action)\s*=\s*"?\s*(javascript|data|vbscript):`)
)

// live returns the first live markup in s, "" when there is none;
// elements lists the element names that count.
func live(s string, elements *regexp.Regexp) string {
	if m := elements.FindString(s); m != "" {
		return m
	}
	for _, tag := range tagRE.FindAllString(s, -1) {
		if liveAttr.MatchString(tag) {
			return tag
		}
	}
	return ""
}

// pageElement is liveElement without the form controls the portal's own
// pages have.
var pageElement = regexp.MustCompile(`(?i)<(script|iframe|img|svg|style|object|embed)\b`)

// Template tests: each hostile value, rendered by the value template in a
// list cell and on the record page, comes out inert.
func TestHostileValuesRenderInert(t *testing.T) {
	w := newWorld(t)
	r := &renderer{loc: w.h.testLocale("en"), rich: w.h.rich, files: fileHref}
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	tests := []struct {
		name string
		prop kintone.FieldProperty
		raw  json.RawMessage
		want string // what the page shows instead
	}{
		{"script in text", kintone.FieldProperty{Type: "SINGLE_LINE_TEXT"}, str(`<script>alert(1)</script>`), `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{"attribute breaker in text", kintone.FieldProperty{Type: "SINGLE_LINE_TEXT"}, str(`"><img src=x onerror=alert(1)>`), `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`},
		{"markup in multi-line text", kintone.FieldProperty{Type: "MULTI_LINE_TEXT"}, str("</span><script>x</script>\nline"), `&lt;/span&gt;&lt;script&gt;x&lt;/script&gt;`},
		{"javascript: web link", kintone.FieldProperty{Type: "LINK", Protocol: "WEB"}, str(`javascript:alert(1)`), `javascript:alert(1)`},
		{"mixed-case javascript: link", kintone.FieldProperty{Type: "LINK", Protocol: "WEB"}, str(` JaVaScRiPt:alert(1)`), `JaVaScRiPt:alert(1)`},
		{"data: link", kintone.FieldProperty{Type: "LINK", Protocol: "WEB"}, str(`data:text/html,<script>alert(1)</script>`), `data:text/html,&lt;script&gt;`},
		{"web link that breaks out of its attribute", kintone.FieldProperty{Type: "LINK", Protocol: "WEB"}, str(`https://ok.example/"onmouseover="alert(1)`), `href="https://ok.example/%22onmouseover=%22alert%281%29"`},
		{"phone link with markup", kintone.FieldProperty{Type: "LINK", Protocol: "CALL"}, str(`<b>03</b>`), `&lt;b&gt;03&lt;/b&gt;`},
		{"phone link", kintone.FieldProperty{Type: "LINK", Protocol: "CALL"}, str(`+81 (3) 1234-5678`), `href="tel:&#43;8131234-5678"`},
		{"mail link with a header", kintone.FieldProperty{Type: "LINK", Protocol: "MAIL"}, str(`a@example.com?bcc=x@evil.example`), `a@example.com?bcc=x@evil.example`},
		{"mail link", kintone.FieldProperty{Type: "LINK", Protocol: "MAIL"}, str(`info@example.com`), `href="mailto:info@example.com"`},
		{"rich text", kintone.FieldProperty{Type: "RICH_TEXT"}, str(`<b>ok</b><script>alert(1)</script><a href="javascript:alert(2)">x</a><a href="jav&#x09;ascript:alert(3)">y</a><svg onload=alert(4)></svg><img src=x onerror=alert(5)><p style="position:fixed">z</p>`), `<b>ok</b>`},
		{"rich text link", kintone.FieldProperty{Type: "RICH_TEXT"}, str(`<a href="https://example.com/" onclick="alert(1)">go</a>`), `<a href="https://example.com/" rel="nofollow noreferrer noopener" target="_blank">go</a>`},
		{"check boxes", kintone.FieldProperty{Type: "CHECK_BOX"}, json.RawMessage(`["<script>a</script>","b"]`), `<li>&lt;script&gt;a&lt;/script&gt;</li>`},
		{"user names", kintone.FieldProperty{Type: "USER_SELECT"}, json.RawMessage(`[{"code":"u","name":"<img src=x onerror=alert(1)>"}]`), `&lt;img src=x onerror=alert(1)&gt;`},
		{"file name", kintone.FieldProperty{Type: "FILE"}, json.RawMessage(`[{"fileKey":"tok\"en","name":"\"><script>alert(1)</script>.html","size":"10"}]`), `download="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;.html"`},
		{"table cell", kintone.FieldProperty{Type: "SUBTABLE", Code: "t", Fields: map[string]kintone.FieldProperty{"c": {Type: "SINGLE_LINE_TEXT", Code: "c", Label: "<i>Label</i>"}}},
			json.RawMessage(`[{"id":"1","value":{"c":{"type":"SINGLE_LINE_TEXT","value":"<script>x</script>"}}}]`), `<td>&lt;script&gt;x&lt;/script&gt;</td>`},
		{"a mask where a number was", kintone.FieldProperty{Type: "NUMBER", Unit: "<b>¥</b>"}, str(`<script>***</script>`), `&lt;script&gt;***&lt;/script&gt;`},
		{"a number's unit", kintone.FieldProperty{Type: "NUMBER", Unit: "<b>¥</b>", UnitPosition: "BEFORE"}, str(`12`), `&lt;b&gt;¥&lt;/b&gt;12`},
	}
	tmpl := w.h.pages["record"].t
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, compact := range []bool{false, true} {
				v := r.render(kintone.FieldValue{Type: tt.prop.Type, Value: tt.raw}, tt.prop, compact)
				var b bytes.Buffer
				if err := tmpl.ExecuteTemplate(&b, "value", v); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				if m := live(out, liveElement); m != "" {
					t.Errorf("compact=%v: live markup %q in %s", compact, m, out)
				}
				if !compact && !strings.Contains(out, tt.want) {
					t.Errorf("got %s\nwant it to contain %s", out, tt.want)
				}
			}
		})
	}
}

// Handler tests: the demo world's hostile records on every page that
// shows them.
func TestHostileRecordsAreInertOnEveryPage(t *testing.T) {
	w := newWorld(t)
	for _, path := range []string{
		"/apps/schedule", "/apps/schedule?q=" + "%3Cscript%3E", "/apps/schedule/records/20", "/apps/schedule/records/21",
		"/apps/schedule/calendar", "/apps/schedule/calendar?view=week&date=2026-11-19",
		"/apps/documents", "/apps/documents/records/17",
	} {
		r := w.get(t, demoMember("alice"), path, "Accept-Language", "en")
		if r.Code != http.StatusOK {
			t.Errorf("%s: status %d", path, r.Code)
			continue
		}
		main := between(r.body, "<main", "</main>")
		if m := live(main, pageElement); m != "" {
			t.Errorf("%s: live markup %q", path, m)
		}
		mustNotContain(t, r.body, evilTitle, evilLocation, evilNotes, `"`+evilURL, "tel:javascript")
	}
	r := w.get(t, demoMember("alice"), "/apps/schedule/records/21", "Accept-Language", "en")
	mustContain(t, r.body, `<a href="https://example.com/ok?a=1&amp;b=2" rel="noopener noreferrer nofollow">`,
		`href="tel:&#43;81-3-1234-5678"`, `href="mailto:info@example.com"`, `<span class="multiline">line one`+"\n"+`line two</span>`)
}
