package kintonesim

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// app is one kintone app: its settings (fixed after load) and the index of
// its fields. Its records live in appData.
type app struct {
	id          int64
	code        string
	name        string
	description string
	spaceID     int64
	threadID    int64
	creator     entity
	createdAt   time.Time

	form     []kintone.FieldProperty // every form field in order, as fields.json lists them
	fields   []*field                // fields that carry record data, in form order, then $id and $revision
	byCode   map[string]*field       // every data field, subtable inner fields included
	layout   []byte                  // layout.json's "layout" value
	views    []SeedView              // the record list views, in order, defaults filled in
	process  *process                // nil when process management is off
	comments bool                    // the comment feature is on
	prec     precision               // number and calculation precision
	tokens   map[string]*SeedToken   // token → permissions
	rights   map[string]rightSet     // user code → rights; nil = every user, every right
	seed     SeedApp                 // as loaded, for Snapshot
	kql      map[string]kql.Field    // the fields as the query type rules see them
	lookups  []*field                // top-level lookup fields
	mapped   map[string]bool         // fields a lookup fills

	// labels holds the seed's localized field names: code → language → label.
	labels map[string]map[string]string

	// The system fields by role, nil when the app has none.
	recordNumber, creatorF, modifierF, createdF, updatedF, statusF, assigneeF, idF, revisionF *field
}

// field is one field that carries record data.
type field struct {
	code   string
	typ    string
	idx    int    // position in record.vals (top level) or row.vals (inside a subtable)
	parent *field // the subtable holding it, nil at top level
	inner  []*field
	prop   kintone.FieldProperty

	options          map[string]bool
	minLen, maxLen   int    // -1 when unset
	minVal, maxVal   string // canonical numbers; "" when unset
	minText, maxText string // the limits as written, for messages
	lookup           *kintone.Lookup
	header           []byte    // `"code":{"type":"T","value":`, set when the app is built
	prec             precision // the app's, for NUMBER and CALC values
	// calcText marks a CALC field whose format is a date or a time: its
	// values are text, not numbers.
	calcText bool
}

// rightSet is what a user or token may do in an app.
type rightSet struct{ view, add, edit, delete, manage bool }

// entity is a user, organization or group as record values show them.
type entity struct{ code, name string }

// val is one stored field value, parsed once on write so that reads never
// reparse: s holds scalars (text; numbers in canonical decimal form, which
// compareNumbers orders; dates, times and date-times in UTC with minute
// precision, which sort as strings), and x the structured rest: nullVal,
// []string, []entity, []*fileRef or []row.
type val struct {
	s string
	x any
}

type nullMarker struct{}

var nullVal = nullMarker{}

func (v val) isNull() bool { _, ok := v.x.(nullMarker); return ok }

// row is one subtable row.
type row struct {
	id   int64
	vals []val
}

// fileRef is a file attached to a record, known by its download key.
type fileRef struct {
	app         int64 // the app whose record holds it; 0 while no record does
	key         string
	name        string
	contentType string
	data        []byte
}

// record is one stored record. Records are never changed in place: an
// update stores a new record, so a reader holding one sees a consistent
// version and an undo log can put the old one back.
type record struct {
	id, rev int64
	vals    []val
	buf     []byte  // the encoded fields, `"code":{"type":…,"value":…}` each
	off     []int32 // field i is buf[off[i]:off[i+1]]
}

// Field types that hold record data and may be written.
var writableTypes = map[string]bool{
	"SINGLE_LINE_TEXT": true, "MULTI_LINE_TEXT": true, "RICH_TEXT": true, "NUMBER": true,
	"CHECK_BOX": true, "RADIO_BUTTON": true, "DROP_DOWN": true, "MULTI_SELECT": true,
	"DATE": true, "TIME": true, "DATETIME": true, "LINK": true, "USER_SELECT": true,
	"ORGANIZATION_SELECT": true, "GROUP_SELECT": true, "FILE": true, "SUBTABLE": true,
}

// Field types that hold record data but are set by kintone.
var systemTypes = map[string]bool{
	"CALC": true, "RECORD_NUMBER": true, "CREATOR": true, "MODIFIER": true,
	"CREATED_TIME": true, "UPDATED_TIME": true, "STATUS": true, "STATUS_ASSIGNEE": true,
	"CATEGORY": true, "__ID__": true, "__REVISION__": true,
}

// Form-only field types: they appear in fields.json but not in records.
var formOnlyTypes = map[string]bool{"REFERENCE_TABLE": true, "GROUP": true, "LABEL": true, "SPACER": true, "HR": true}

// Types allowed inside a subtable.
var subtableTypes = map[string]bool{
	"SINGLE_LINE_TEXT": true, "MULTI_LINE_TEXT": true, "RICH_TEXT": true, "NUMBER": true, "CALC": true,
	"CHECK_BOX": true, "RADIO_BUTTON": true, "DROP_DOWN": true, "MULTI_SELECT": true,
	"DATE": true, "TIME": true, "DATETIME": true, "LINK": true, "USER_SELECT": true,
	"ORGANIZATION_SELECT": true, "GROUP_SELECT": true, "FILE": true,
}

// encodeRecord fills r.buf and r.off from r.vals.
func (a *app) encodeRecord(r *record) {
	buf := make([]byte, 0, 64*len(a.fields))
	off := make([]int32, len(a.fields)+1)
	for i, f := range a.fields {
		if i > 0 {
			buf = append(buf, ',')
		}
		off[i] = int32(len(buf))
		buf = f.appendField(buf, r.vals[i])
	}
	off[len(a.fields)] = int32(len(buf))
	r.buf, r.off = buf, off
}

// fragment returns the encoded field i of r (buf holds the fields joined
// by commas).
func (r *record) fragment(i int) []byte {
	f := r.buf[r.off[i]:r.off[i+1]]
	if i+1 < len(r.off)-1 {
		f = f[:len(f)-1]
	}
	return f
}

// appendField appends `"code":{"type":"T","value":V}`.
func (f *field) appendField(b []byte, v val) []byte {
	b = append(b, f.header...)
	b = f.appendValue(b, v, nil)
	return append(b, '}')
}

// appendValue appends the JSON of v; inner, when not nil, selects the
// subtable columns to show.
func (f *field) appendValue(b []byte, v val, inner map[string]bool) []byte {
	switch f.typ {
	case "DROP_DOWN", "RADIO_BUTTON", "DATE", "TIME":
		if v.isNull() {
			return append(b, "null"...)
		}
		return appendString(b, v.s)
	case "CHECK_BOX", "MULTI_SELECT", "CATEGORY":
		l, _ := v.x.([]string)
		b = append(b, '[')
		for i, s := range l {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT", "STATUS_ASSIGNEE":
		l, _ := v.x.([]entity)
		b = append(b, '[')
		for i, e := range l {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEntity(b, e)
		}
		return append(b, ']')
	case "CREATOR", "MODIFIER":
		l, _ := v.x.([]entity)
		if len(l) == 0 {
			return appendEntity(b, entity{})
		}
		return appendEntity(b, l[0])
	case "FILE":
		l, _ := v.x.([]*fileRef)
		b = append(b, '[')
		for i, fr := range l {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"contentType":`...)
			b = appendString(b, fr.contentType)
			b = append(b, `,"fileKey":`...)
			b = appendString(b, fr.key)
			b = append(b, `,"name":`...)
			b = appendString(b, fr.name)
			b = append(b, `,"size":"`...)
			b = strconv.AppendInt(b, int64(len(fr.data)), 10)
			b = append(b, `"}`...)
		}
		return append(b, ']')
	case "SUBTABLE":
		rows, _ := v.x.([]row)
		b = append(b, '[')
		for i, r := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":"`...)
			b = strconv.AppendInt(b, r.id, 10)
			b = append(b, `","value":{`...)
			n := 0
			for j, in := range f.inner {
				if inner != nil && !inner[in.code] {
					continue
				}
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = in.appendField(b, r.vals[j])
			}
			b = append(b, "}}"...)
		}
		return append(b, ']')
	}
	return appendString(b, v.s)
}

func appendEntity(b []byte, e entity) []byte {
	b = append(b, `{"code":`...)
	b = appendString(b, e.code)
	b = append(b, `,"name":`...)
	b = appendString(b, e.name)
	return append(b, '}')
}

// appendString appends s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone, as kintone does.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
