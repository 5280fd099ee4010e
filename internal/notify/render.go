package notify

import (
	"encoding/json"
	"html"
	"regexp"
	"slices"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
)

// change is one change to one record as one member may see it: everything
// in it comes from the member's own view of the record (gateway.NoticeFor)
// and the form's labels as the member may read them.
type change struct {
	event    string // added, edited, status, comment (see events)
	mention  bool   // the comment names the member
	app      string // the app's name
	record   string // the record id
	title    string // the record's title as the member sees it, "" for none
	link     string
	comment  string // the comment's text, "" when there is none or the member may not read it
	fields   []line // the member's readable fields in form order
	reviewed bool   // set by the digest: the record is shown as it is now
}

// line is one field of a record in an e-mail.
type line struct{ label, value string }

// view is a member's record with the labels of the fields they may read.
type view struct {
	record map[string]kintone.FieldValue
	props  map[string]kintone.FieldProperty
	masked map[string]bool
}

// lines renders the fields of v in order, then any readable field order
// does not name, skipping kintone's $id and $revision.
func (v view) lines(lang string, order []string) []line {
	var out []line
	seen := map[string]bool{"$id": true, "$revision": true}
	add := func(code string) {
		if seen[code] {
			return
		}
		seen[code] = true
		fv, ok := v.record[code]
		p, known := v.props[code]
		if !ok || !known {
			return
		}
		out = append(out, line{label: p.Label, value: v.value(lang, code, fv, p)})
	}
	for _, code := range order {
		add(code)
	}
	var rest []string
	for code := range v.record {
		if !seen[code] {
			rest = append(rest, code)
		}
	}
	slices.Sort(rest)
	for _, code := range rest {
		add(code)
	}
	return out
}

// value renders one field's value as plain text. A masked field says it
// is hidden: the mask stands in for the value so that clients keep the
// type, but a person should not read it as the value.
func (v view) value(lang, code string, fv kintone.FieldValue, p kintone.FieldProperty) string {
	if v.masked[code] {
		return text(lang, "masked")
	}
	if p.Type == "SUBTABLE" {
		var rows []struct {
			Value map[string]kintone.FieldValue `json:"value"`
		}
		json.Unmarshal(fv.Value, &rows)
		return v.table(lang, rows, p)
	}
	s := plain(fv.Type, fv.Value)
	if s == "" {
		return text(lang, "empty")
	}
	return s
}

// table renders a table's rows, one a line, with the columns the member
// may read.
func (v view) table(lang string, rows []struct {
	Value map[string]kintone.FieldValue `json:"value"`
}, p kintone.FieldProperty) string {
	if len(rows) == 0 {
		return text(lang, "empty")
	}
	var b strings.Builder
	b.WriteString(text(lang, "rows", len(rows)))
	var cols []string
	for code := range p.Fields {
		cols = append(cols, code)
	}
	slices.Sort(cols)
	for _, row := range rows {
		b.WriteString("\n    -")
		for _, code := range cols {
			fv, ok := row.Value[code]
			if !ok {
				continue
			}
			val := plain(fv.Type, fv.Value)
			if v.masked[code] {
				val = text(lang, "masked")
			}
			b.WriteString(" " + p.Fields[code].Label + ": " + val + ";")
		}
	}
	return b.String()
}

// plain is a field value as text: strings as they are (rich text without
// its markup), lists joined, users and files by name.
func plain(typ string, raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if typ == "RICH_TEXT" {
			s = html.UnescapeString(tags.ReplaceAllString(s, " "))
			s = strings.Join(strings.Fields(s), " ")
		}
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ", ")
	}
	type named struct {
		Name string `json:"name"`
		Code string `json:"code"`
	}
	var one named
	if json.Unmarshal(raw, &one) == nil && (one.Name != "" || one.Code != "") {
		return cmpOr(one.Name, one.Code)
	}
	var many []named
	if json.Unmarshal(raw, &many) == nil {
		names := make([]string, 0, len(many))
		for _, n := range many {
			names = append(names, cmpOr(n.Name, n.Code))
		}
		return strings.Join(names, ", ")
	}
	return ""
}

var tags = regexp.MustCompile(`<[^>]*>`)

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// write renders one change into b: the event, the comment, the link and
// the fields.
func (c change) write(b *strings.Builder, lang string) {
	event := c.event
	if c.mention {
		event = "mention"
	}
	b.WriteString(text(lang, "event."+event, c.app) + "\n")
	b.WriteString(text(lang, "record", c.record))
	if c.title != "" {
		b.WriteString(": " + c.title)
	}
	b.WriteString("\n")
	if c.comment != "" {
		b.WriteString("\n" + text(lang, "comment") + "\n")
		for _, l := range strings.Split(strings.TrimRight(c.comment, "\n"), "\n") {
			b.WriteString("> " + l + "\n")
		}
	}
	b.WriteString("\n" + text(lang, "open", c.link) + "\n")
	if len(c.fields) > 0 {
		b.WriteString("\n" + text(lang, "fields") + "\n")
		for _, l := range c.fields {
			b.WriteString("  " + l.label + ": " + strings.ReplaceAll(l.value, "\n", "\n    ") + "\n")
		}
	}
}

// subject is the subject of a mail about one change.
func (c change) subject(lang, site string) string {
	event := c.event
	if c.mention {
		event = "mention"
	}
	name := c.title
	if name == "" {
		name = text(lang, "record", c.record)
	}
	return text(lang, "subject."+event, site, c.app, name)
}
