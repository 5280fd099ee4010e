package portal

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
)

// value is one field value ready for a template: plain strings that the
// template escapes, except HTML, which only the rich-text sanitizer
// produces. Href is checked here (http, https, mailto, tel only): as a
// string, html/template checks it again and refuses other schemes; a tel:
// URL, which html/template does not know, is a template.URL built only
// from digits and a few separators.
type value struct {
	Kind    string // text, multiline, rich, link, list, files, table, number, empty
	Text    string
	HTML    template.HTML
	Href    any // string, or template.URL for tel:
	Items   []string
	Files   []fileLink
	Table   *subtable
	Numeric bool   // aligned to the end in tables
	Class   string // a status badge's colour class
}

// Plain reports whether the value is just its text, the common case a
// list cell renders without the value template.
func (v *value) Plain() bool { return v.Kind == "text" || v.Kind == "number" }

type fileLink struct {
	Name, Size, Href string
}

// subtable is a SUBTABLE value: labels and rows of values.
type subtable struct {
	Head    []string
	Numeric []bool
	Rows    [][]value
}

// compactRunes is how much of a long text a list cell shows.
const compactRunes = 80

// renderer turns field values into values for one page.
type renderer struct {
	loc   *locale
	rich  *richText
	files func(token, name string) string // download URL of a file token; nil: files are not offered
	// inner gives the order of a subtable's fields (from the layout).
	inner map[string][]string
	// masked fields show that they are hidden, not the policy's stand-in
	// value (which is a plain value of the field's type, such as "").
	masked map[string]bool
	// status is the badge class of a process state ("" for the default
	// badge); nil draws states as text.
	status func(state string) string
	// orgField holds organization codes, shown by orgName.
	orgField string
	orgName  func(code string) string
}

// render returns the value of field fv with form property p. compact is
// for list cells and calendar entries: long texts are cut, rich text is
// shown as plain text, tables are counted rather than drawn.
func (r *renderer) render(fv kintone.FieldValue, p kintone.FieldProperty, compact bool) value {
	if r.masked[p.Code] {
		return value{Kind: "masked", Text: r.loc.T("record.masked")}
	}
	typ := p.Type
	if typ == "" {
		typ = fv.Type
	}
	raw := fv.Value
	if isNull(raw) {
		return value{Kind: "empty"}
	}
	if p.Code != "" && p.Code == r.orgField && r.orgName != nil {
		if code, ok := jsonString(raw); ok {
			return value{Kind: "text", Text: r.orgName(code)}
		}
	}
	if s, ok := jsonString(raw); ok {
		return r.scalar(typ, s, p, compact)
	}
	switch typ {
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		var items []string
		if json.Unmarshal(raw, &items) != nil {
			break
		}
		return listValue(items)
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		var ents []entity
		if json.Unmarshal(raw, &ents) != nil {
			break
		}
		names := make([]string, len(ents))
		for i, e := range ents {
			names[i] = e.display()
		}
		return listValue(names)
	case "CREATOR", "MODIFIER":
		var e entity
		if json.Unmarshal(raw, &e) != nil || e.display() == "" {
			break
		}
		if e.Code == apiTokenUser {
			// kgate's own writes: kintone names the API token's user,
			// an account of the operator's, never the member who wrote.
			return value{Kind: "text", Text: r.loc.T("record.via_portal")}
		}
		return value{Kind: "text", Text: e.display()}
	case "FILE":
		return r.fileValue(raw)
	case "SUBTABLE":
		return r.tableValue(raw, p, compact)
	}
	return value{Kind: "text", Text: string(raw)}
}

// jsonString decodes a JSON string value; most values are strings
// without escapes, which need no decoder.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; raw[len(raw)-1] == '"' && bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	return s, json.Unmarshal(raw, &s) == nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null" || s == "[]" || s == `""`
}

// entity is a user, organization or group in a record value.
type entity struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (e entity) display() string {
	if e.Name != "" {
		return e.Name
	}
	return e.Code
}

func listValue(items []string) value {
	if len(items) == 0 {
		return value{Kind: "empty"}
	}
	return value{Kind: "list", Items: items}
}

// scalar renders a value kintone sends as a string.
func (r *renderer) scalar(typ, s string, p kintone.FieldProperty, compact bool) value {
	switch typ {
	case "NUMBER":
		return r.number(s, numberFormatOf(p, p.Digit))
	case "CALC":
		switch p.Format {
		case "", "NUMBER", "NUMBER_DIGIT":
			return r.number(s, numberFormatOf(p, p.Format == "NUMBER_DIGIT"))
		case "DATE":
			return value{Kind: "text", Text: r.loc.Date(s)}
		case "DATETIME":
			return value{Kind: "text", Text: r.loc.DateTime(s)}
		}
	case "DATE":
		return value{Kind: "text", Text: r.loc.Date(s)}
	case "DATETIME", "CREATED_TIME", "UPDATED_TIME":
		return value{Kind: "text", Text: r.loc.DateTime(s)}
	case "MULTI_LINE_TEXT":
		if compact {
			return value{Kind: "text", Text: cut(s)}
		}
		return value{Kind: "multiline", Text: s}
	case "RICH_TEXT":
		if compact {
			return value{Kind: "text", Text: cut(r.rich.plain(s))}
		}
		return value{Kind: "rich", HTML: r.rich.sanitize(s)}
	case "LINK":
		if href := linkHref(s, p.Protocol); href != "" {
			v := value{Kind: "link", Text: s, Href: href}
			if strings.HasPrefix(href, "tel:") {
				v.Href = template.URL(href) // #nosec: digits and separators only, see linkHref
			}
			return v
		}
	case "STATUS":
		if r.status != nil {
			return value{Kind: "status", Text: s, Class: r.status(s)}
		}
	case "RECORD_NUMBER", "__ID__":
		return value{Kind: "text", Text: s, Numeric: true}
	}
	if compact {
		s = cut(s)
	}
	return value{Kind: "text", Text: s}
}

// number is a numeric value; one that is not a number is shown as it is.
func (r *renderer) number(s string, f numberFormat) value {
	if _, ok := decimal(s, -1); !ok {
		return value{Kind: "text", Text: s}
	}
	return value{Kind: "number", Text: r.loc.Number(s, f), Numeric: true}
}

func numberFormatOf(p kintone.FieldProperty, digits bool) numberFormat {
	scale := -1
	if n, err := strconv.Atoi(p.DisplayScale); err == nil && n >= 0 && n <= 10 {
		scale = n
	}
	return numberFormat{scale: scale, digits: digits, unit: p.Unit, before: p.UnitPosition == "BEFORE"}
}

// cut shortens s to compactRunes characters on one line.
func cut(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= compactRunes {
		return s
	}
	rs := []rune(s)
	return string(rs[:compactRunes-1]) + "…"
}

// linkHref is the href of a LINK value: a web address only when it is an
// absolute http(s) URL, a phone number or an e-mail address as tel: and
// mailto: URLs; "" for anything else, which is then shown as text.
func linkHref(s, protocol string) string {
	s = strings.TrimSpace(s)
	switch protocol {
	case "CALL":
		for _, c := range s {
			if !strings.ContainsRune("0123456789+-() .#*", c) {
				return ""
			}
		}
		if s == "" {
			return ""
		}
		return "tel:" + strings.Map(func(c rune) rune {
			if c == ' ' || c == '(' || c == ')' {
				return -1
			}
			return c
		}, s)
	case "MAIL":
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || strings.ContainsAny(a.Address, "?&") {
			return ""
		}
		return "mailto:" + a.Address
	default:
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ""
		}
		return u.String()
	}
}

// kintone's FILE value, with kgate's token in place of the file key.
type fileValue struct {
	ContentType string `json:"contentType"`
	FileKey     string `json:"fileKey"`
	Name        string `json:"name"`
	Size        string `json:"size"`
}

func (r *renderer) fileValue(raw json.RawMessage) value {
	var fs []fileValue
	if json.Unmarshal(raw, &fs) != nil {
		return value{Kind: "text", Text: string(raw)}
	}
	if len(fs) == 0 {
		return value{Kind: "empty"}
	}
	v := value{Kind: "files"}
	for _, f := range fs {
		link := fileLink{Name: f.Name}
		if n, err := strconv.ParseInt(f.Size, 10, 64); err == nil {
			link.Size = r.loc.Size(n)
		}
		if f.FileKey != "" && r.files != nil {
			link.Href = r.files(f.FileKey, f.Name)
		}
		v.Files = append(v.Files, link)
	}
	return v
}

// kintone's SUBTABLE value.
type tableRow struct {
	ID    string         `json:"id"`
	Value kintone.Record `json:"value"`
}

func (r *renderer) tableValue(raw json.RawMessage, p kintone.FieldProperty, compact bool) value {
	var rows []tableRow
	if json.Unmarshal(raw, &rows) != nil {
		return value{Kind: "text", Text: string(raw)}
	}
	if len(rows) == 0 {
		return value{Kind: "empty"}
	}
	if compact {
		return value{Kind: "text", Text: r.loc.N("table.rows", len(rows)), Numeric: true}
	}
	codes := r.innerOrder(p)
	t := &subtable{}
	for _, c := range codes {
		ip := p.Fields[c]
		t.Head = append(t.Head, ip.Label)
		t.Numeric = append(t.Numeric, ip.Type == "NUMBER" || ip.Type == "CALC")
	}
	for _, row := range rows {
		cells := make([]value, len(codes))
		for i, c := range codes {
			cells[i] = r.render(row.Value[c], p.Fields[c], false)
		}
		t.Rows = append(t.Rows, cells)
	}
	return value{Kind: "table", Table: t}
}

// innerOrder is the order of a subtable's readable fields: the layout's,
// then any others by label.
func (r *renderer) innerOrder(p kintone.FieldProperty) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range r.inner[p.Code] {
		if _, ok := p.Fields[c]; ok && !seen[c] {
			out, seen[c] = append(out, c), true
		}
	}
	var rest []string
	for c := range p.Fields {
		if !seen[c] {
			rest = append(rest, c)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return p.Fields[rest[i]].Label < p.Fields[rest[j]].Label })
	return append(out, rest...)
}

// textOf is a value as one line of plain text, for headings and titles.
func textOf(v value) string {
	switch v.Kind {
	case "list":
		return strings.Join(v.Items, ", ")
	}
	return v.Text
}
