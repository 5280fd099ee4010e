package portal

import (
	"sort"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/kintone"
)

// kintone's validation errors name the value they concern by a key:
//
//	record.<code>.value                                a field
//	record.<code>.values, record.<code>.values.value   a check box, multi-select or picker
//	record.<table>.value[<row>].value.<inner>.value    a cell of a table (rows as sent)
//	record[<code>].value                               the same, in another spelling
//
// The portal shows each message at its input, and all of them in a
// summary at the top that leads to the inputs.

// cellKey names a cell of a table by the row's index in the submission,
// which is also its index in the form shown again.
type cellKey struct {
	table string
	row   int
	inner string
}

// formErrors are a refused submission's messages by where they belong.
type formErrors struct {
	field   map[string][]string
	cell    map[cellKey][]string
	general []string // about no input of the form
}

func newFormErrors() *formErrors {
	return &formErrors{field: map[string][]string{}, cell: map[cellKey][]string{}}
}

func (e *formErrors) empty() bool {
	return len(e.field) == 0 && len(e.cell) == 0 && len(e.general) == 0
}

// errorTarget reads the field (and table cell) an error key names.
func errorTarget(key string) (code string, row int, inner string, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(key, "record."):
		rest = key[len("record."):]
		end := strings.IndexAny(rest, ".[")
		if end <= 0 {
			return "", 0, "", false
		}
		code, rest = rest[:end], rest[end:]
	case strings.HasPrefix(key, "record["):
		rest = key[len("record["):]
		end := strings.IndexByte(rest, ']')
		if end <= 0 {
			return "", 0, "", false
		}
		code, rest = rest[:end], rest[end+1:]
	default:
		return "", 0, "", false
	}
	if cell, found := strings.CutPrefix(rest, ".value["); found {
		end := strings.IndexByte(cell, ']')
		if end < 0 {
			return code, -1, "", true
		}
		n, err := strconv.Atoi(cell[:end])
		tail, isCell := strings.CutPrefix(cell[end+1:], ".value.")
		if err != nil || n < 0 || !isCell {
			return code, -1, "", true
		}
		if e := strings.IndexAny(tail, ".["); e > 0 {
			tail = tail[:e]
		}
		return code, n, tail, tail != ""
	}
	return code, -1, "", true
}

// placeErrors places a refusal's messages. Keys about fields the form does
// not show, and messages without a key, go to the summary only.
func placeErrors(ke *kintone.Error, av *appView, loc *locale) *formErrors {
	out := newFormErrors()
	keys := make([]string, 0, len(ke.Errors))
	for k := range ke.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msgs := ke.Errors[k].Messages
		if k == "policy" {
			for _, m := range msgs {
				out.general = append(out.general, loc.Reason(m))
			}
			continue
		}
		code, row, inner, ok := errorTarget(k)
		p, known := av.props[code]
		switch {
		case ok && known && inner != "":
			if _, in := p.Fields[inner]; in {
				key := cellKey{code, row, inner}
				out.cell[key] = append(out.cell[key], msgs...)
				continue
			}
			out.field[code] = append(out.field[code], msgs...)
		case ok && known:
			out.field[code] = append(out.field[code], msgs...)
		default:
			out.general = append(out.general, msgs...)
		}
	}
	if len(keys) == 0 {
		out.general = append(out.general, ke.Message)
	}
	return out
}

// summary lists every message of the form for the top of the page: those
// at inputs the form shows lead there; the rest stand alone.
func summary(loc *locale, av *appView, sections []formSection, errs *formErrors) []formError {
	var out []formError
	shown := map[string]bool{}
	cells := map[cellKey]bool{}
	for _, s := range sections {
		for _, f := range s.Fields {
			if f.Kind == "readonly" || f.Kind == "note" || f.Kind == "rule" {
				continue
			}
			shown[f.Code] = true
			for _, m := range f.Errors {
				out = append(out, formError{Href: "#" + f.Focus, Text: loc.T("form.error.line", f.Label, m)})
			}
			if f.Table == nil {
				continue
			}
			for _, r := range f.Table.Rows {
				for _, cell := range r.Cells {
					if len(cell.Errors) == 0 {
						continue
					}
					cells[cellKey{f.Code, r.Index, cell.Code}] = true
					for _, m := range cell.Errors {
						out = append(out, formError{Href: "#" + cell.Focus, Text: loc.T("form.error.cell", f.Label, r.Num, cell.Label, m)})
					}
				}
			}
		}
	}
	var rest []string
	for code, msgs := range errs.field {
		if !shown[code] {
			for _, m := range msgs {
				rest = append(rest, loc.T("form.error.line", av.label(code), m))
			}
		}
	}
	for k, msgs := range errs.cell {
		if !cells[k] {
			for _, m := range msgs {
				rest = append(rest, loc.T("form.error.cell", av.label(k.table), k.row+1, av.props[k.table].Fields[k.inner].Label, m))
			}
		}
	}
	sort.Strings(rest)
	for _, m := range append(errs.general, rest...) {
		out = append(out, formError{Text: m})
	}
	return out
}
