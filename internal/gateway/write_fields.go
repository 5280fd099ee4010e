package gateway

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// recordCheck is one record of a create or update being checked.
type recordCheck struct {
	wa       *writeApp
	ev       *audit.Event
	dec      *policy.Decision // of the create or update: writable, presets
	readable fieldSet
	base     kintone.Record // the existing record; nil on create
	recordID string         // "" on create
	prefix   string         // where the record sits in the request, for error keys
	uploads  int            // new files attached so far
}

// fieldWrite is one field as kgate sends it: {"value": …}.
type fieldWrite struct {
	Value json.RawMessage `json:"value"`
}

// checked is a record that passed the field rules.
type checked struct {
	send    map[string]fieldWrite // changed fields and presets, as kintone will store them
	merged  kintone.Record        // the record as it will be after the write
	touched []string              // codes of the fields the write changes
	sent    map[string]bool       // codes the member wrote themselves (top level and in tables)
}

// Messages of the field rules.
func unknownFieldMessage(lang string) string {
	if lang == "ja" {
		return "このフィールドは存在しないか、使用できません。"
	}
	return "This field does not exist or you may not use it."
}

func notWritableMessage(lang string) string {
	if lang == "ja" {
		return "このフィールドを変更する権限がありません。"
	}
	return "You may not change this field."
}

func badFileMessage(lang string) string {
	if lang == "ja" {
		return "kgate でアップロードしたファイル、またはこのフィールドにすでにあるファイルのトークンを指定してください（期限切れの可能性があります）。"
	}
	return "Use a file token kgate gave you: one from an upload, or one of the files already in this field (tokens expire)."
}

func tooManyFilesMessage(lang string, n int) string {
	if lang == "ja" {
		return "1件のレコードに新しく添付できるファイルは" + strconv.Itoa(n) + "個までです。"
	}
	return "At most " + strconv.Itoa(n) + " new files can be attached to one record."
}

// fieldProblems collects what is wrong with a record's fields, so the
// member learns of every problem at once, as from kintone.
type fieldProblems struct {
	unknown   []string // error keys of fields that do not exist or are hidden
	forbidden []string // error keys of fields the member may not change
	bad       map[string]string
}

func (p *fieldProblems) invalid(key, msg string) {
	if p.bad == nil {
		p.bad = map[string]string{}
	}
	p.bad[key] = msg
}

// err returns 400 for unknown fields and bad values, else 403 for fields
// outside writable, else nil.
func (p *fieldProblems) err(lang string) *kintone.Error {
	if len(p.unknown) > 0 || len(p.bad) > 0 {
		e := kintone.Invalid(lang)
		for _, k := range p.unknown {
			e.With(k, unknownFieldMessage(lang))
		}
		for k, m := range p.bad {
			e.With(k, m)
		}
		return e
	}
	if len(p.forbidden) > 0 {
		e := kintone.NewError("CB_NO02", lang)
		for _, k := range p.forbidden {
			e.With(k, notWritableMessage(lang))
		}
		return e
	}
	return nil
}

// check applies the field rules to the record in: presets win
// over what the client sent; codes that do not exist or that the member may
// neither read nor write are refused as unknown (400, the same answer for
// both, so nothing about hidden fields leaks); system fields are refused as
// kintone refuses them; values equal to the existing ones are dropped;
// every other field the request changes must be writable (403 naming it).
// Codes kintone ignores on write (record number, calculated and
// lookup-filled fields, $id, $revision) are dropped.
func (w *writer) check(ctx context.Context, c *recordCheck, in kintone.Record) (*checked, error) {
	lang := w.id.Lang
	presets, err := w.presets(c)
	if err != nil {
		return nil, err
	}
	out := &checked{send: map[string]fieldWrite{}, sent: map[string]bool{}}
	var probs fieldProblems
	form := c.wa.form
	codes := make([]string, 0, len(in))
	for code := range in {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		if code == "$id" || code == "$revision" {
			continue
		}
		key := c.prefix + "." + code + ".value"
		p, exists := form.props[code]
		if !exists || !(c.readable.readable(form, code) || c.dec.Writable.Has(code)) {
			probs.unknown = append(probs.unknown, key)
			continue
		}
		switch p.Type {
		case "RECORD_NUMBER", "CALC", "REFERENCE_TABLE", "GROUP", "LABEL", "SPACER", "HR":
			continue
		case "CREATOR", "MODIFIER", "CREATED_TIME", "UPDATED_TIME":
			if c.base == nil {
				return nil, kintone.NewError("GAIA_BF02", lang, code)
			}
			return nil, kintone.NewError("GAIA_UN10", lang, unTypeName(p.Type))
		case "STATUS", "STATUS_ASSIGNEE", "CATEGORY":
			return nil, kintone.NewError("GAIA_UN10", lang, p.Type)
		}
		if _, preset := presets[code]; preset || c.wa.mapped[code] {
			continue
		}
		v, changed, ok, err := w.value(ctx, c, &probs, code, p, in[code].Value)
		if err != nil {
			return nil, err
		}
		if !changed {
			continue
		}
		if !ok {
			probs.forbidden = append(probs.forbidden, key)
			continue
		}
		out.send[code] = fieldWrite{v.send}
		out.sent[code] = true
		out.touched = append(out.touched, code)
		if p.Type == "SUBTABLE" {
			for inner := range v.inner {
				out.sent[inner] = true
			}
		}
		if out.merged == nil {
			out.merged = kintone.Record{}
		}
		out.merged[code] = kintone.FieldValue{Type: p.Type, Value: v.merged}
	}
	if c.uploads > w.g.writes.uploadsPerRecord {
		probs.invalid(c.prefix, tooManyFilesMessage(lang, w.g.writes.uploadsPerRecord))
	}
	if e := probs.err(lang); e != nil {
		if e.Code == "CB_NO02" {
			c.ev.Outcome = "denied"
		}
		return nil, e
	}
	changes := out.merged
	out.merged = w.mergedRecord(ctx, c, changes)
	for code, v := range presets {
		out.send[code] = fieldWrite{v}
		out.merged[code] = kintone.FieldValue{Type: form.props[code].Type, Value: v}
		out.touched = append(out.touched, code)
	}
	return out, nil
}

// presets returns the decision's presets as values kintone stores. A
// preset kgate cannot send (a field the form lacks, a table, a file, a
// value of the wrong kind) is the operator's mistake: the write is refused
// rather than sent without it.
func (w *writer) presets(c *recordCheck) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(c.dec.Presets))
	for code, v := range c.dec.Presets {
		p, ok := c.wa.form.props[code]
		raw, err := json.Marshal(v)
		if ok && err == nil && writableType(p.Type) && p.Type != "FILE" && p.Type != "SUBTABLE" {
			if n, good := normalize(p.Type, raw); good {
				out[code] = n
				continue
			}
		}
		w.g.log.Error("a preset cannot be written; writes are refused until the policy is fixed",
			zap.String("app", c.wa.Alias), zap.String("field", code), zap.Any("value", v),
			zap.String("policy_version", c.dec.Version))
		return nil, policyError(w.id.Lang)
	}
	return out, nil
}

func writableType(t string) bool {
	switch t {
	case "SINGLE_LINE_TEXT", "MULTI_LINE_TEXT", "RICH_TEXT", "NUMBER", "CHECK_BOX", "RADIO_BUTTON",
		"DROP_DOWN", "MULTI_SELECT", "DATE", "TIME", "DATETIME", "LINK", "USER_SELECT",
		"ORGANIZATION_SELECT", "GROUP_SELECT", "FILE", "SUBTABLE":
		return true
	}
	return false
}

// unTypeName is the type name kintone's GAIA_UN10 uses for a system field.
func unTypeName(typ string) string {
	switch typ {
	case "CREATED_TIME":
		return "CREATED_AT"
	case "UPDATED_TIME":
		return "MODIFIED_AT"
	}
	return typ
}

// written is one field value checked: what to send, what the field will
// hold, and (for tables) which inner fields the member wrote.
type written struct {
	send, merged json.RawMessage
	inner        map[string]bool
}

// value checks one top-level field value. changed is false when the value
// equals the existing one (always true on create); ok is false when the
// member may not make the change.
func (w *writer) value(ctx context.Context, c *recordCheck, probs *fieldProblems, code string, p kintone.FieldProperty, raw json.RawMessage) (v written, changed, ok bool, err error) {
	var have json.RawMessage
	if c.base != nil {
		have = c.base[code].Value
	}
	key := c.prefix + "." + code + ".value"
	switch p.Type {
	case "FILE":
		v.send, v.merged, changed, err = w.fileValue(ctx, c, probs, code, key, raw, filesOf(have))
		return v, changed || c.base == nil, c.dec.Writable.Has(code), err
	case "SUBTABLE":
		return w.tableValue(ctx, c, probs, code, p, raw, have)
	}
	n, good := normalize(p.Type, raw)
	v.send, v.merged = n, n
	changed = c.base == nil || !good || !sameValue(p.Type, have, n)
	return v, changed, c.dec.Writable.Has(code), nil
}

func filesOf(raw json.RawMessage) []fileRef {
	var refs []fileRef
	json.Unmarshal(raw, &refs)
	return refs
}

// mergedRecord is the record as it will be after the write: the existing
// record with the changes, or on create the changes over the form's
// defaults and the process's first state. Every field carries its type,
// as policy.Flatten needs.
func (w *writer) mergedRecord(ctx context.Context, c *recordCheck, changes kintone.Record) kintone.Record {
	out := kintone.Record{}
	if c.base != nil {
		for code, fv := range c.base {
			out[code] = fv
		}
	} else {
		for code, p := range c.wa.form.props {
			if !writableType(p.Type) || p.Type == "FILE" || p.Type == "SUBTABLE" {
				continue
			}
			if v, ok := defaultValue(p, w.now); ok {
				out[code] = kintone.FieldValue{Type: p.Type, Value: v}
			}
		}
		if c.wa.status != "" {
			if st, ok := w.g.initialState(ctx, c.wa); ok {
				out[c.wa.status] = kintone.FieldValue{Type: "STATUS", Value: jsonString(st)}
			}
		}
	}
	for code, fv := range changes {
		out[code] = fv
	}
	return out
}

// tableValue checks a subtable value and merges it into the existing rows
// as kintone does: a row sent with an existing id keeps the inner fields it
// does not send; a row without an id, or with an unknown one, is new; rows
// not sent are deleted. A change to the table needs the table writable, or
// — when it only edits fields of existing rows — each edited inner field.
func (w *writer) tableValue(ctx context.Context, c *recordCheck, probs *fieldProblems, code string, p kintone.FieldProperty, raw, have json.RawMessage) (v written, changed, ok bool, err error) {
	lang := w.id.Lang
	var rows []struct {
		ID    json.RawMessage            `json:"id"`
		Value map[string]json.RawMessage `json:"value"`
	}
	if string(raw) != "null" && len(raw) > 0 {
		if err := json.Unmarshal(raw, &rows); err != nil {
			return v, false, false, kintone.NewError("CB_IJ01", lang)
		}
	}
	var old []tableRow
	json.Unmarshal(have, &old)
	byID := map[string]int{}
	for i, r := range old {
		byID[r.ID] = i
	}
	used := map[string]bool{}
	structural := len(rows) != len(old)
	edited := map[string]bool{}
	v.inner = map[string]bool{}
	send := make([]map[string]any, 0, len(rows))
	merged := make([]tableRow, 0, len(rows))
	for i, r := range rows {
		rowID := scalarID(r.ID)
		j, found := byID[rowID]
		found = found && rowID != "" && !used[rowID]
		var m tableRow
		if found {
			used[rowID] = true
			m = tableRow{ID: rowID, Value: cloneRecord(old[j].Value)}
			structural = structural || j != i
		} else {
			structural = true
			m = tableRow{Value: kintone.Record{}}
			for ic, ip := range p.Fields {
				if dv, ok := defaultValue(ip, w.now); ok && ip.Type != "FILE" {
					m.Value[ic] = kintone.FieldValue{Type: ip.Type, Value: dv}
				}
			}
		}
		out := map[string]fieldWrite{}
		innerCodes := make([]string, 0, len(r.Value))
		for ic := range r.Value {
			innerCodes = append(innerCodes, ic)
		}
		sort.Strings(innerCodes)
		for _, ic := range innerCodes {
			key := c.prefix + "." + code + ".value[" + strconv.Itoa(i) + "].value." + ic + ".value"
			ip, exists := p.Fields[ic]
			if !exists || !(c.readable.readable(c.wa.form, ic) || c.dec.Writable.Has(ic) || c.dec.Writable.Has(code)) {
				probs.unknown = append(probs.unknown, key)
				continue
			}
			var entry struct {
				Value *json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(r.Value[ic], &entry); err != nil {
				return v, false, false, kintone.NewError("CB_IJ01", lang)
			}
			if entry.Value == nil || ip.Type == "CALC" || ip.Type == "RECORD_NUMBER" {
				continue // kintone ignores these
			}
			var nv written
			var same bool
			if ip.Type == "FILE" {
				var fileChanged bool
				nv.send, nv.merged, fileChanged, err = w.fileValue(ctx, c, probs, ic, key, *entry.Value, filesOf(m.Value[ic].Value))
				if err != nil {
					return v, false, false, err
				}
				same = found && !fileChanged
			} else {
				n, good := normalize(ip.Type, *entry.Value)
				nv.send, nv.merged = n, n
				same = found && good && sameValue(ip.Type, m.Value[ic].Value, n)
			}
			if !same {
				edited[ic] = true
			}
			v.inner[ic] = true
			out[ic] = fieldWrite{nv.send}
			m.Value[ic] = kintone.FieldValue{Type: ip.Type, Value: nv.merged}
		}
		row := map[string]any{"value": out}
		if found {
			row["id"] = rowID
		}
		send = append(send, row)
		merged = append(merged, m)
	}
	v.send, _ = json.Marshal(send)
	v.merged, _ = json.Marshal(merged)
	changed = c.base == nil || structural || len(edited) > 0
	ok = c.dec.Writable.Has(code)
	if !ok && !structural {
		ok = true
		for ic := range edited {
			ok = ok && c.dec.Writable.Has(ic)
		}
	}
	return v, changed, ok, nil
}

// tableRow is one row of a subtable on the wire.
type tableRow struct {
	ID    string         `json:"id"`
	Value kintone.Record `json:"value"`
}

func scalarID(raw json.RawMessage) string {
	x, ok := decodeJSON(raw)
	if !ok || x == nil {
		return ""
	}
	s, _ := scalar(x)
	return s
}

func cloneRecord(r kintone.Record) kintone.Record {
	out := make(kintone.Record, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}
