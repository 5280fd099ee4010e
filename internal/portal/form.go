package portal

import (
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// Create and edit forms are generated from the app's form and the policy:
// an input for each field the member may write (and read), the other
// readable fields shown as they are on edit. Input names:
//
//	f.<code>                 a field's value (choice groups add a blank marker, so an empty group is still sent)
//	l.<code>, k.<code>       a FILE field: the files listed, and those kept (checked)
//	n.<token>, z.<token>     a listed file's name and size, for showing it again
//	t.<code>                 marker: the table is in the form (all its rows may have been removed)
//	t.<code>.<row>.<inner>   a table cell; .$id is kintone's row id, .$del removes the row
//
// Field codes never contain dots, so the names split unambiguously.

// blankRows is how many empty rows a table offers without script.
const blankRows = 2

// maxTableRows caps the rows one table of a submission may have.
const maxTableRows = 1000

// inputKind is how a field is edited in a form, "" when it is not (it is
// then shown as it is): user, group and organization pickers need
// kintone's codes, which partners do not know; kintone computes the rest.
func inputKind(p kintone.FieldProperty, inTable bool) string {
	switch p.Type {
	case "SINGLE_LINE_TEXT", "LINK":
		return "text"
	case "MULTI_LINE_TEXT", "RICH_TEXT":
		return "textarea"
	case "NUMBER":
		return "number"
	case "DATE":
		return "date"
	case "TIME":
		return "time"
	case "DATETIME":
		return "datetime"
	case "DROP_DOWN":
		return "select"
	case "RADIO_BUTTON":
		if inTable {
			return "select"
		}
		return "radio"
	case "CHECK_BOX", "MULTI_SELECT":
		return "checks"
	case "FILE":
		if !inTable {
			return "file"
		}
	case "SUBTABLE":
		if !inTable {
			return "table"
		}
	}
	return ""
}

// formData is what a form's inputs hold.
type formData struct {
	vals   map[string][]string
	files  map[string][]*fileEntry
	tables map[string][]rowData
}

func newFormData() *formData {
	return &formData{vals: map[string][]string{}, files: map[string][]*fileEntry{}, tables: map[string][]rowData{}}
}

// rowData is one row of a table: kintone's row id ("" for a new row) and
// its cells.
type rowData struct {
	id   string
	vals map[string][]string
}

// fileEntry is a file listed in a FILE input: one the record holds (its
// kgate file token) or one just uploaded (its upload token).
type fileEntry struct {
	Token, Name, Size string
	Kept              bool
}

// dataFromRecord fills the inputs of fields from a record.
func (c *call) dataFromRecord(av *appView, rec kintone.Record, inputs []string) *formData {
	d := newFormData()
	for _, code := range inputs {
		p := av.props[code]
		switch inputKind(p, false) {
		case "file":
			var fs []fileValue
			json.Unmarshal(rec[code].Value, &fs)
			for _, f := range fs {
				e := &fileEntry{Token: f.FileKey, Name: f.Name, Kept: true}
				if n, err := strconv.ParseInt(f.Size, 10, 64); err == nil {
					e.Size = c.loc.Size(n)
				}
				if e.Token != "" {
					d.files[code] = append(d.files[code], e)
				}
			}
		case "table":
			var rows []tableRow
			json.Unmarshal(rec[code].Value, &rows)
			for _, r := range rows {
				rd := rowData{id: r.ID, vals: map[string][]string{}}
				for ic, ip := range p.Fields {
					rd.vals[ic] = inputValues(ip.Type, r.Value[ic].Value, c.loc.tz)
				}
				d.tables[code] = append(d.tables[code], rd)
			}
		default:
			d.vals[code] = inputValues(p.Type, rec[code].Value, c.loc.tz)
		}
	}
	return d
}

// dataFromDefaults fills the inputs of a new record with the form's
// defaults, as kintone's own form does.
func (c *call) dataFromDefaults(av *appView, inputs []string) *formData {
	d := newFormData()
	now := c.h.now().In(c.loc.tz)
	for _, code := range inputs {
		p := av.props[code]
		switch {
		case p.DefaultNowValue && p.Type == "DATE":
			d.vals[code] = []string{now.Format(time.DateOnly)}
		case p.DefaultNowValue && p.Type == "TIME":
			d.vals[code] = []string{now.Format("15:04")}
		case p.DefaultNowValue && p.Type == "DATETIME":
			d.vals[code] = []string{now.Format(inputLayout)}
		case p.Type == "RADIO_BUTTON" && isNull(p.DefaultValue):
			if opts := optionValues(p); len(opts) > 0 {
				d.vals[code] = opts[:1]
			}
		case len(p.DefaultValue) > 0:
			d.vals[code] = inputValues(p.Type, p.DefaultValue, c.loc.tz)
		}
	}
	return d
}

// dataFromForm reads a submission. present holds the fields the
// submission carries (a field the form did not show is not written).
func (c *call) dataFromForm(av *appView, form url.Values) (d *formData, present []string) {
	d = newFormData()
	for _, code := range av.order {
		p := av.props[code]
		switch inputKind(p, false) {
		case "":
			continue
		case "file":
			if _, ok := form["l."+code]; !ok {
				continue
			}
			kept := map[string]bool{}
			for _, t := range form["k."+code] {
				kept[t] = true
			}
			for _, t := range form["l."+code] {
				if t != "" {
					d.files[code] = append(d.files[code], &fileEntry{Token: t, Name: form.Get("n." + t), Size: form.Get("z." + t), Kept: kept[t]})
				}
			}
		case "table":
			if _, ok := form["t."+code]; !ok {
				continue
			}
			d.tables[code] = tableRows(form, code, p)
		default:
			v, ok := form["f."+code]
			if !ok {
				continue
			}
			d.vals[code] = v
		}
		present = append(present, code)
	}
	return d, present
}

// tableRows reads a table's rows in the order of their indexes, leaving
// out removed rows and new rows left blank.
func tableRows(form url.Values, code string, p kintone.FieldProperty) []rowData {
	prefix := "t." + code + "."
	seen := map[int]bool{}
	var idx []int
	for key := range form {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= maxTableRows || strconv.Itoa(i) != n || seen[i] {
			continue
		}
		seen[i] = true
		idx = append(idx, i)
	}
	sort.Ints(idx)
	rows := []rowData{}
	for _, i := range idx {
		base := prefix + strconv.Itoa(i) + "."
		if form.Get(base+"$del") != "" {
			continue
		}
		r := rowData{id: form.Get(base + "$id"), vals: map[string][]string{}}
		if !digits.MatchString(r.id) {
			r.id = ""
		}
		blank := true
		for ic, ip := range p.Fields {
			v, ok := form[base+ic]
			if !ok || inputKind(ip, true) == "" {
				continue
			}
			r.vals[ic] = v
			for _, s := range v {
				blank = blank && strings.TrimSpace(s) == ""
			}
		}
		if r.id == "" && blank {
			continue
		}
		rows = append(rows, r)
	}
	return rows
}

var digits = regexp.MustCompile(`^[0-9]{1,18}$`)

// submitted is the submission as kintone's write format: the fields present,
// each as kintone stores it. Files are the listed files kept, by token.
func (c *call) submitted(av *appView, d *formData, present []string) kintone.Record {
	out := kintone.Record{}
	for _, code := range present {
		p := av.props[code]
		var v any
		switch inputKind(p, false) {
		case "file":
			keys := []map[string]string{}
			for _, f := range d.files[code] {
				if f.Kept {
					keys = append(keys, map[string]string{"fileKey": f.Token})
				}
			}
			v = keys
		case "table":
			rows := []map[string]any{}
			for _, r := range d.tables[code] {
				cells := map[string]any{}
				for ic, in := range r.vals {
					cells[ic] = map[string]json.RawMessage{"value": wireValue(p.Fields[ic], in, c.loc.tz, c.h.rich)}
				}
				row := map[string]any{"value": cells}
				if r.id != "" {
					row["id"] = r.id
				}
				rows = append(rows, row)
			}
			v = rows
		default:
			out[code] = kintone.FieldValue{Value: wireValue(p, d.vals[code], c.loc.tz, c.h.rich)}
			continue
		}
		b, _ := json.Marshal(v)
		out[code] = kintone.FieldValue{Value: b}
	}
	return out
}

// The form as templates see it.

type formBody struct {
	App       appHeader
	Heading   string
	Action    string
	Cancel    string
	Multipart bool
	Token     string
	Idem      string
	Revision  string
	Required  bool // some input is required: the page explains the mark
	Sections  []formSection
	Errors    []formError
	Summary   *errorSummary // the errors, at the top of the page
	Conflict  string        // edit: the record changed underneath; the link to its current version
	Unknown   bool          // kintone did not confirm the write
	Submit    string
}

type formSection struct {
	ID, Heading string
	Fields      []*formField
}

// formError is a line of the error summary; Href leads to the input.
type formError struct{ Href, Text string }

// errorSummary lists a page's errors at its top.
type errorSummary struct {
	Heading string
	Items   []formError
}

func (c *call) errorSummary(items []formError) *errorSummary {
	if len(items) == 0 {
		return nil
	}
	return &errorSummary{Heading: c.loc.T("form.errors"), Items: items}
}

// formField is one field of the form, or a note or rule of its layout.
type formField struct {
	L          *locale
	Kind       string // an inputKind, or readonly, note, rule
	Code       string
	ID, Name   string
	Label      string
	Type       string // of a text input: text, url, email, tel
	Required   bool
	Value      string
	Options    []formOption
	Unit       string
	UnitBefore bool
	Hint       string
	Errors     []string
	Labelledby string // a table cell's column head and row number
	Focus      string // the element the error summary leads to
	Files      *fileInput
	Table      *formTable
	Show       value         // readonly
	Note       template.HTML // a label of the layout, sanitized
	Wide       bool
}

type formOption struct {
	ID, Value, Label string
	Selected         bool
}

type fileInput struct {
	List, Keep string // names of the listed and kept tokens
	Upload     bool   // a new file may be chosen
	Entries    []fileView
}

type fileView struct {
	ID, Token, Name, Size string
	NameField, SizeField  string
	Kept                  bool
}

type formTable struct {
	Marker     string
	NamePrefix string
	IDPrefix   string
	RowHead    string // id of the row-number column's head
	RemoveID   string // id of the hidden "remove row" text
	Columns    []formColumn
	Rows       []*formRow
}

type formColumn struct {
	ID, Label string
	Required  bool
}

type formRow struct {
	Index           int
	Num             int
	NumID           string
	RowID           string
	IDName, DelName string
	DelID           string
	Cells           []*formField
}

// Describe is the input's aria-describedby: its hint and its errors.
func (f *formField) Describe() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if len(f.Errors) > 0 {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// slug makes an id part from a field code: the code itself when it is
// plain, else its hex, so that every id is a valid fragment.
func slug(code string) string {
	if plainCode.MatchString(code) {
		return code
	}
	return "x" + hex.EncodeToString([]byte(code))
}

var plainCode = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// formSpec is what a form is built from.
type formSpec struct {
	av       *appView
	inputs   map[string]bool // top-level codes offered as inputs
	writable map[string]bool // fields the member may set, inner ones included
	readonly bool            // show the other readable fields (edit)
	upload   bool            // files may be uploaded
	data     *formData
	errs     *formErrors
	record   kintone.Record // edit: the record as the member reads it
}

// sections lays the form out as the app's form is laid out; inputs the
// layout does not place come last.
func (c *call) formSections(s *formSpec) []formSection {
	av := s.av
	top := formSection{ID: "s0"}
	var groups []formSection
	placed := map[string]bool{}
	r := c.renderer(av)
	var add func(sec *formSection, items []layoutItem)
	add = func(sec *formSection, items []layoutItem) {
		for _, it := range items {
			switch it.Type {
			case "ROW":
				add(sec, it.Fields)
				continue
			case "GROUP":
				g := formSection{ID: "s" + strconv.Itoa(len(groups)+1), Heading: av.label(it.Code)}
				add(&g, it.Layout)
				if hasInputs(g.Fields) || s.readonly && len(g.Fields) > 0 {
					groups = append(groups, g)
				}
				continue
			case "LABEL":
				if note := c.h.rich.sanitize(it.Label); note != "" {
					sec.Fields = append(sec.Fields, &formField{Kind: "note", Note: note, Wide: true})
				}
				continue
			case "HR":
				sec.Fields = append(sec.Fields, &formField{Kind: "rule", Wide: true})
				continue
			}
			if f := c.formItem(s, r, it.Code, placed); f != nil {
				sec.Fields = append(sec.Fields, f)
			}
		}
	}
	add(&top, av.layout)
	for _, code := range av.order {
		if s.inputs[code] && !placed[code] {
			top.Fields = append(top.Fields, c.formItem(s, r, code, placed))
		}
	}
	out := []formSection{}
	if hasInputs(top.Fields) || len(top.Fields) > 0 && s.readonly {
		out = append(out, top)
	}
	return append(out, groups...)
}

func hasInputs(fs []*formField) bool {
	for _, f := range fs {
		if f.Kind != "readonly" && f.Kind != "note" && f.Kind != "rule" {
			return true
		}
	}
	return false
}

// formItem is the form's entry for a field placed by the layout: its
// input, or on edit its value; nil for a field the form leaves out.
func (c *call) formItem(s *formSpec, r *renderer, code string, placed map[string]bool) *formField {
	p, ok := s.av.props[code]
	if !ok || placed[code] || !shown(p.Type) || p.Type == "STATUS" {
		return nil
	}
	placed[code] = true
	if s.inputs[code] {
		return c.inputField(s, code, p)
	}
	if !s.readonly || systemRank(p.Type) < 100 {
		return nil
	}
	v := r.render(s.record[code], p, false)
	return &formField{L: c.loc, Kind: "readonly", Code: code, ID: "f-" + slug(code), Label: s.av.label(code), Show: v,
		Wide: v.Kind == "table" || v.Kind == "rich" || v.Kind == "multiline"}
}

// inputField builds the input of a top-level field.
func (c *call) inputField(s *formSpec, code string, p kintone.FieldProperty) *formField {
	f := c.control(p, inputKind(p, false), "f-"+slug(code), "f."+code, s.data.vals[code])
	f.Code, f.Label = code, s.av.label(code)
	f.Errors = s.errs.field[code]
	switch f.Kind {
	case "file":
		c.fileControl(f, s, code)
	case "table":
		c.tableControl(f, s, code, p)
	}
	f.Wide = f.Kind == "textarea" || f.Kind == "table" || f.Kind == "checks" || f.Kind == "radio" || f.Kind == "file"
	return f
}

// control builds an input of kind for property p with its values.
func (c *call) control(p kintone.FieldProperty, kind, id, name string, vals []string) *formField {
	f := &formField{L: c.loc, Kind: kind, ID: id, Name: name, Required: p.Required, Focus: id}
	for _, v := range vals {
		if v != "" {
			f.Value = v
		}
	}
	switch kind {
	case "text":
		f.Type = "text"
		if p.Type == "LINK" {
			f.Type = map[string]string{"WEB": "url", "CALL": "tel", "MAIL": "email"}[p.Protocol]
			if f.Type == "" {
				f.Type = "text"
			}
		}
		if n, err := strconv.Atoi(p.MaxLength); err == nil && n > 0 {
			f.Hint = c.loc.T("form.hint.maxlength", c.loc.Int(int64(n)))
		}
	case "textarea":
		if p.Type == "RICH_TEXT" {
			f.Hint = c.loc.T("form.hint.rich")
		}
	case "number":
		f.Unit, f.UnitBefore = p.Unit, p.UnitPosition == "BEFORE"
		switch {
		case p.MinValue != "" && p.MaxValue != "":
			f.Hint = c.loc.T("form.hint.range", p.MinValue, p.MaxValue)
		case p.MinValue != "":
			f.Hint = c.loc.T("form.hint.min", p.MinValue)
		case p.MaxValue != "":
			f.Hint = c.loc.T("form.hint.max", p.MaxValue)
		}
	case "datetime":
		f.Hint = c.loc.T("form.hint.timezone", c.loc.TZName)
	case "select", "radio", "checks":
		picked := map[string]bool{}
		for _, v := range vals {
			picked[v] = true
		}
		for i, o := range optionValues(p) {
			f.Options = append(f.Options, formOption{ID: id + "-" + strconv.Itoa(i), Value: o, Label: o, Selected: picked[o]})
		}
		if kind != "select" && len(f.Options) > 0 {
			f.Focus = f.Options[0].ID
		}
	}
	return f
}

// fileControl lists the field's files with a checkbox each (unchecked:
// removed) and, when the member may upload, a file input.
func (c *call) fileControl(f *formField, s *formSpec, code string) {
	fi := &fileInput{List: "l." + code, Keep: "k." + code, Upload: s.upload}
	for i, e := range s.data.files[code] {
		fi.Entries = append(fi.Entries, fileView{ID: f.ID + "-keep-" + strconv.Itoa(i), Token: e.Token, Name: e.Name, Size: e.Size,
			NameField: "n." + e.Token, SizeField: "z." + e.Token, Kept: e.Kept})
	}
	f.Files = fi
	if !fi.Upload && len(fi.Entries) > 0 {
		f.Focus = fi.Entries[0].ID
	}
}

// tableControl builds a table's rows: those the data holds, then blank
// ones, each cell an input when its field can be edited.
func (c *call) tableControl(f *formField, s *formSpec, code string, p kintone.FieldProperty) {
	sl := slug(code)
	t := &formTable{Marker: "t." + code, NamePrefix: "t." + code + ".", IDPrefix: "t-" + sl + "-",
		RowHead: "t-" + sl + "-h", RemoveID: "t-" + sl + "-rm"}
	r := c.renderer(s.av)
	inner := r.innerOrder(p)
	for _, ic := range inner {
		ip := p.Fields[ic]
		t.Columns = append(t.Columns, formColumn{ID: "t-" + sl + "-h-" + slug(ic), Label: ip.Label, Required: ip.Required && inputKind(ip, true) != "" && s.writable[ic]})
	}
	rows := s.data.tables[code]
	var old map[string]kintone.Record // edit: cells the member may not change, by row id
	if s.record != nil {
		var recRows []tableRow
		json.Unmarshal(s.record[code].Value, &recRows)
		old = map[string]kintone.Record{}
		for _, rr := range recRows {
			old[rr.ID] = rr.Value
		}
	}
	for i := 0; i < len(rows)+blankRows; i++ {
		rd := rowData{vals: map[string][]string{}}
		if i < len(rows) {
			rd = rows[i]
		}
		row := &formRow{Index: i, Num: i + 1, NumID: t.IDPrefix + strconv.Itoa(i) + "-n", RowID: rd.id,
			IDName: t.NamePrefix + strconv.Itoa(i) + ".$id", DelName: t.NamePrefix + strconv.Itoa(i) + ".$del",
			DelID: t.IDPrefix + strconv.Itoa(i) + "-del"}
		for ci, ic := range inner {
			ip := p.Fields[ic]
			id := t.IDPrefix + strconv.Itoa(i) + "-" + slug(ic)
			kind := inputKind(ip, true)
			if kind == "" || !s.writable[ic] {
				cell := &formField{L: c.loc, Kind: "readonly", ID: id, Show: value{Kind: "empty"}}
				if rd.id != "" {
					cell.Show = r.render(old[rd.id][ic], ip, false)
				}
				row.Cells = append(row.Cells, cell)
				continue
			}
			cell := c.control(ip, kind, id, t.NamePrefix+strconv.Itoa(i)+"."+ic, rd.vals[ic])
			cell.Code, cell.Label, cell.Hint = ic, ip.Label, "" // hints are the table's, not every cell's
			if kind == "datetime" {
				f.Hint = c.loc.T("form.hint.timezone", c.loc.TZName)
			}
			cell.Labelledby = t.Columns[ci].ID + " " + row.NumID
			cell.Errors = s.errs.cell[cellKey{code, i, ic}]
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	f.Table = t
	if len(t.Rows) > 0 && len(t.Rows[0].Cells) > 0 {
		f.Focus = t.Rows[0].Cells[0].Focus
	}
}
