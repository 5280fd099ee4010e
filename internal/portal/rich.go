package portal

import (
	"html"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// richText sanitizes the HTML kintone holds in rich-text fields, app
// descriptions and form labels. It keeps structure and emphasis and drops
// everything that can run code, load something or restyle the page:
// scripts, event handlers, styles, classes, ids (which could clobber the
// page's own), images, frames and forms. Links keep only absolute http,
// https, mailto and tel URLs and open nothing with the page's privileges.
type richText struct {
	html  *bluemonday.Policy
	strip *bluemonday.Policy
}

func newRichText() *richText {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "div", "span", "b", "strong", "i", "em", "u", "s", "strike", "del", "ins",
		"sub", "sup", "small", "mark", "code", "pre", "blockquote", "hr",
		"ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
		"table", "caption", "thead", "tbody", "tfoot", "tr")
	p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[1-9][0-9]?$`)).OnElements("td", "th")
	p.AllowElements("td", "th")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto", "tel")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AddSpaceWhenStrippingTag(true)
	return &richText{html: p, strip: bluemonday.StrictPolicy().AddSpaceWhenStrippingTag(true)}
}

// sanitize returns s as HTML that is safe to put in a page.
func (r *richText) sanitize(s string) template.HTML {
	return template.HTML(r.html.Sanitize(s)) // #nosec: the sanitizer's output is the one trusted HTML source
}

// plain returns the text of s without any markup, for list cells and
// titles; the template escapes it again.
func (r *richText) plain(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(r.strip.Sanitize(s))), " ")
}
