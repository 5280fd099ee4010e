package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/kgate/kgate/internal/kintone"
)

// Page is a page of records as the member may see them. Each record is the
// JSON object kintone would return, already filtered, masked and with file
// keys replaced by kgate's file tokens, so the API can write it as is.
type Page struct {
	Records    []json.RawMessage
	TotalCount *int64 // set when the caller asked for it
	Next       bool   // cursors: more records wait
}

// AppendRecords appends the records as a JSON array.
func (p *Page) AppendRecords(dst []byte) []byte {
	dst = append(dst, '[')
	for i, r := range p.Records {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, r...)
	}
	return append(dst, ']')
}

// Decode returns the records as kintone.Record values, for callers that
// render them (the portal).
func (p *Page) Decode() ([]kintone.Record, error) {
	out := make([]kintone.Record, len(p.Records))
	for i, r := range p.Records {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// recordFilter turns kintone's records into what one member may see. It
// streams through kintone's answer and copies field values as raw bytes,
// decoding only the fields the row rule reads (to re-check the record) and
// file fields (to replace their keys): a 500-record page costs little more
// than reading it once.
type recordFilter struct {
	form  *form
	keep  map[string]bool            // fields the member gets back
	masks map[string]json.RawMessage // readable fields shown with a replacement value
	rule  map[string]bool            // fields the row rule reads
	// include re-checks a record with the full policy, given the values of
	// the rule's fields; it is memoized per distinct tuple of those values.
	include func(kintone.Record) (bool, error)
	seen    map[string]bool
	// seal replaces a file's key by a file token for this record and field.
	seal func(recordID, field string, file fileRef) string

	dropped []string // ids of records the re-check refused

	plan map[string]*fieldPlan // keep, rule, masks and types in one lookup per field
	// order is the plan of each field by its place in the last record:
	// kintone sends every record's fields in the same order, so a field
	// is recognized by comparing its name with the one seen there before,
	// without hashing it.
	order []placedField

	// scratch space reused from record to record
	name    []byte
	key     []byte
	ruleBuf []byte
	ruleRaw []ruleField
}

// fieldPlan is what the filter does with one field.
type fieldPlan struct {
	keep  bool
	rule  string // the field's code when the row rule reads it
	mask  json.RawMessage
	typ   string
	files bool // a FILE field, or a table with FILE fields
	// rows: a table with masked columns, whose every row is rewritten
	rows bool
}

// prepare builds the plan: one map lookup per field of every record
// instead of four.
func (f *recordFilter) prepare() {
	if f.plan != nil {
		return
	}
	f.plan = make(map[string]*fieldPlan, len(f.form.types)+2)
	add := func(code string) {
		typ := f.form.types[code]
		fp := fieldPlan{keep: f.keep[code], typ: typ, files: typ == "FILE" || (typ == "SUBTABLE" && f.tableHasFiles(code)),
			rows: typ == "SUBTABLE" && f.tableHasMasks(code)}
		if f.rule[code] {
			fp.rule = code
		}
		if m, ok := f.masks[code]; ok && fp.keep {
			fp.mask = m
		}
		f.plan[code] = &fp
	}
	for code := range f.form.types {
		add(code)
	}
	for _, code := range []string{"$id", "$revision"} {
		add(code)
	}
	for code := range f.rule {
		add(code)
	}
}

var errMalformed = errors.New("kintone's answer is not the JSON kgate expects")

// The decoder does not check names for duplicates: kintone never repeats a
// field, and were it to, the filter treats each copy alike (kept or
// stripped by its name; for the re-check the last copy counts, as for a
// JSON reader).

// page processes {"records":[…], "totalCount":…, "next":…}.
func (f *recordFilter) page(body []byte) (*Page, error) {
	f.prepare()
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	if err := expect(dec, '{'); err != nil {
		return nil, err
	}
	p := &Page{}
	buf := make([]byte, 0, len(body))
	var ends []int
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, err
		}
		switch name.String() {
		case "records":
			if err := expect(dec, '['); err != nil {
				return nil, err
			}
			for dec.PeekKind() == '{' {
				var ok bool
				start := len(buf)
				if buf, ok, err = f.record(dec, buf); err != nil {
					return nil, err
				}
				if !ok {
					buf = buf[:start]
					continue
				}
				ends = append(ends, len(buf))
			}
			if err := expect(dec, ']'); err != nil {
				return nil, err
			}
		case "totalCount":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			if n, ok := countValue(v); ok {
				p.TotalCount = &n
			}
		case "next":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			p.Next = string(v) == "true"
		default:
			if err := dec.SkipValue(); err != nil {
				return nil, err
			}
		}
	}
	if err := expect(dec, '}'); err != nil {
		return nil, err
	}
	p.Records = make([]json.RawMessage, len(ends))
	start := 0
	for i, end := range ends {
		p.Records[i] = buf[start:end:end]
		start = end
	}
	return p, nil
}

// single processes {"record": {…}}; ok is false when the re-check refused it.
func (f *recordFilter) single(body []byte) (json.RawMessage, bool, error) {
	f.prepare()
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true))
	if err := expect(dec, '{'); err != nil {
		return nil, false, err
	}
	var out []byte
	found, ok := false, false
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return nil, false, err
		}
		if name.String() != "record" || dec.PeekKind() != '{' {
			if err := dec.SkipValue(); err != nil {
				return nil, false, err
			}
			continue
		}
		if out, ok, err = f.record(dec, nil); err != nil {
			return nil, false, err
		}
		found = true
	}
	if !found {
		return nil, false, errMalformed
	}
	return out, ok, expect(dec, '}')
}

func countValue(v jsontext.Value) (int64, bool) {
	s := string(v)
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func expect(dec *jsontext.Decoder, kind jsontext.Kind) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != kind {
		return fmt.Errorf("%w: found %v where %v belongs", errMalformed, tok.Kind(), kind)
	}
	return nil
}

// deferredFile is a field rewritten once the record's id is known (kintone
// may send $id after the field): a file field whose keys become file
// tokens, or a table whose rows hold files or masked columns.
type deferredFile struct {
	code string
	raw  []byte
}

// record reads one record object from dec and appends what the member may
// see to dst. ok is false when the re-check refused the record; dst is then
// left with garbage after its original length, which the caller cuts.
//
// Field names are looked up as bytes and copied as kintone quoted them, and
// values are copied raw: only the rule's fields (on a memo miss) and file
// fields holding files are ever decoded.
func (f *recordFilter) record(dec *jsontext.Decoder, dst []byte) ([]byte, bool, error) {
	if err := expect(dec, '{'); err != nil {
		return dst, false, err
	}
	f.ruleRaw, f.ruleBuf = f.ruleRaw[:0], f.ruleBuf[:0]
	var files []deferredFile
	var recordID string
	dst = append(dst, '{')
	first, place := true, 0
	for dec.PeekKind() == '"' {
		name, err := dec.ReadValue()
		if err != nil {
			return dst, false, err
		}
		f.name = append(f.name[:0], name...)
		code, err := unquoteName(f.name)
		if err != nil {
			return dst, false, err
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return dst, false, err
		}
		fp := f.placed(place, code)
		place++
		if string(code) == "$id" {
			recordID = fieldValueString(raw)
		}
		if fp.rule != "" {
			start := len(f.ruleBuf)
			f.ruleBuf = append(f.ruleBuf, raw...)
			f.ruleRaw = append(f.ruleRaw, ruleField{code: fp.rule, start: start, end: len(f.ruleBuf)})
		}
		switch {
		case !fp.keep:
		case fp.mask != nil:
			dst = appendName(dst, &first, f.name)
			dst = appendMasked(dst, fp.typ, fp.mask)
		case fp.rows || (fp.files && bytes.Contains(raw, []byte(`"fileKey"`))):
			files = append(files, deferredFile{code: string(code), raw: bytes.Clone(raw)})
		default:
			dst = appendName(dst, &first, f.name)
			dst = append(dst, raw...)
		}
	}
	if err := expect(dec, '}'); err != nil {
		return dst, false, err
	}
	ok, err := f.recheck()
	if err != nil || !ok {
		if err == nil {
			f.dropped = append(f.dropped, recordID)
		}
		return dst, false, err
	}
	for _, df := range files {
		v, err := f.rewrite(recordID, df)
		if err != nil {
			return dst, false, err
		}
		dst = appendField(dst, &first, df.code)
		dst = append(dst, v...)
	}
	return append(dst, '}'), true, nil
}

// placedField is a field's name at a place in a record and its plan.
type placedField struct {
	code string
	plan *fieldPlan
}

// noPlan is the plan of a field the form does not know: dropped.
var noPlan = &fieldPlan{}

// placed returns the plan of code, found at place in the record.
func (f *recordFilter) placed(place int, code []byte) *fieldPlan {
	if place < len(f.order) && f.order[place].code == string(code) {
		return f.order[place].plan
	}
	fp := f.plan[string(code)]
	if fp == nil {
		fp = noPlan
	}
	pf := placedField{code: string(code), plan: fp}
	if place < len(f.order) && f.order[place].code == string(code) {
		f.order[place] = pf
	} else if place == len(f.order) {
		f.order = append(f.order, pf)
	}
	return fp
}

// ruleField is the raw value of a field the row rule reads, in ruleBuf.
type ruleField struct {
	code       string
	start, end int
}

// unquoteName returns the content of a quoted JSON name; names without
// escapes (all of kintone's) are returned without copying.
func unquoteName(quoted []byte) ([]byte, error) {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	return jsontext.AppendUnquote(nil, quoted)
}

func appendName(dst []byte, first *bool, quoted []byte) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = append(dst, quoted...)
	return append(dst, ':')
}

func appendField(dst []byte, first *bool, code string) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst, _ = jsontext.AppendQuote(dst, code)
	return append(dst, ':')
}

func appendMasked(dst []byte, typ string, mask json.RawMessage) []byte {
	dst = append(dst, `{"type":`...)
	dst, _ = jsontext.AppendQuote(dst, typ)
	dst = append(dst, `,"value":`...)
	dst = append(dst, mask...)
	return append(dst, '}')
}

// fieldValueString returns the string value of a {"type","value"} object
// such as $id's.
func fieldValueString(raw []byte) string {
	if i := bytes.Index(raw, []byte(`"value":"`)); i >= 0 {
		rest := raw[i+len(`"value":"`):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 && bytes.IndexByte(rest[:j], '\\') < 0 {
			return string(rest[:j])
		}
	}
	var fv struct {
		Value string `json:"value"`
	}
	json.Unmarshal(raw, &fv)
	return fv.Value
}

// recheck evaluates the full policy on the record's rule fields; records
// with the same raw values in those fields share one evaluation, so a page
// costs one evaluation per distinct combination, not one per record.
func (f *recordFilter) recheck() (bool, error) {
	f.key = f.key[:0]
	for _, rf := range f.ruleRaw {
		f.key = append(f.key, rf.code...)
		f.key = append(f.key, 0)
		f.key = append(f.key, f.ruleBuf[rf.start:rf.end]...)
		f.key = append(f.key, 0)
	}
	if ok, seen := f.seen[string(f.key)]; seen {
		return ok, nil
	}
	vals := make(kintone.Record, len(f.ruleRaw))
	for _, rf := range f.ruleRaw {
		var fv kintone.FieldValue
		if err := json.Unmarshal(f.ruleBuf[rf.start:rf.end], &fv); err != nil {
			return false, fmt.Errorf("%w: field %q", errMalformed, rf.code)
		}
		vals[rf.code] = fv
	}
	ok, err := f.include(vals)
	if err != nil {
		return false, err
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[string(f.key)] = ok
	return ok, nil
}

func (f *recordFilter) tableHasFiles(code string) bool {
	for _, ip := range f.form.props[code].Fields {
		if ip.Type == "FILE" {
			return true
		}
	}
	return false
}

func (f *recordFilter) tableHasMasks(code string) bool {
	for inner := range f.form.props[code].Fields {
		if _, masked := f.masks[inner]; masked {
			return true
		}
	}
	return false
}

// fileRef is one file of a FILE field on the wire.
type fileRef struct {
	ContentType string `json:"contentType"`
	FileKey     string `json:"fileKey"`
	Name        string `json:"name"`
	Size        string `json:"size"`
}

// rewrite replaces every file key in a FILE field with a file token for
// this member and record, and in a table's rows also replaces each masked
// column's value by its mask.
func (f *recordFilter) rewrite(recordID string, df deferredFile) ([]byte, error) {
	if f.form.types[df.code] == "FILE" {
		var fv struct {
			Type  string    `json:"type"`
			Value []fileRef `json:"value"`
		}
		if err := json.Unmarshal(df.raw, &fv); err != nil {
			return nil, fmt.Errorf("%w: field %q", errMalformed, df.code)
		}
		for i := range fv.Value {
			fv.Value[i].FileKey = f.seal(recordID, df.code, fv.Value[i])
		}
		return json.Marshal(fv)
	}
	var table struct {
		Type  string `json:"type"`
		Value []struct {
			ID    string                     `json:"id"`
			Value map[string]json.RawMessage `json:"value"`
		} `json:"value"`
	}
	if err := json.Unmarshal(df.raw, &table); err != nil {
		return nil, fmt.Errorf("%w: field %q", errMalformed, df.code)
	}
	for _, row := range table.Value {
		for inner, raw := range row.Value {
			typ := f.form.types[inner]
			if mask, masked := f.masks[inner]; masked {
				row.Value[inner] = appendMasked(nil, typ, mask)
				continue
			}
			if typ != "FILE" {
				continue
			}
			v, err := f.rewrite(recordID, deferredFile{code: inner, raw: raw})
			if err != nil {
				return nil, err
			}
			row.Value[inner] = v
		}
	}
	return json.Marshal(table)
}
