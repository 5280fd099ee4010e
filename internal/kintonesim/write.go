package kintonesim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/kgate/kgate/internal/kintone"
)

// buildRecord applies a written record (code → {value}) to old, or to a new
// record when old is nil, and returns the record to store. It does what
// kintone does on add and update: unknown codes are ignored, defaults fill
// what an add omits, subtables merge by row id, lookups copy their mapped
// fields, then every field is validated and the system fields are set.
// seed marks records loaded from a seed, which may set system fields.
func (c *call) buildRecord(a *app, old *record, in map[string]any, k keys, seed bool) (*record, *kintone.Error) {
	create := old == nil
	vals := make([]val, len(a.fields))
	if create {
		for i, f := range a.fields {
			vals[i] = emptyVal(f)
		}
	} else {
		copy(vals, old.vals)
	}
	ve := &verrs{lang: c.lang}
	provided := map[string]bool{}
	codes := make([]string, 0, len(in))
	for code := range in {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		f := a.byCode[code]
		if f == nil || f.parent != nil || in[code] == nil {
			continue // kintone ignores codes it does not know
		}
		entry, ok := in[code].(map[string]any)
		if !ok {
			return nil, errJSON(c.lang)
		}
		raw, has := entry["value"]
		if !has || (a.mapped[code] && !seed) {
			continue // values sent for lookup-mapped fields are ignored
		}
		v, kerr := c.fieldValue(a, f, raw, vals[f.idx], k, ve, create, seed)
		if kerr != nil {
			return nil, kerr
		}
		if v != nil {
			vals[f.idx] = *v
			provided[code] = true
		}
	}
	if create {
		for _, f := range a.fields {
			if writableTypes[f.typ] && !provided[f.code] && !a.mapped[f.code] {
				vals[f.idx] = c.defaultVal(f)
			}
		}
	}
	if !seed { // seed records are stored as written: lookups are not re-run
		if kerr := c.applyLookups(a, vals, provided, create, k, ve); kerr != nil {
			return nil, kerr
		}
	}
	var self int64
	if old != nil {
		self = old.id
	}
	c.validate(a, vals, self, k, ve)
	if ve.failed() {
		return nil, ve.err
	}
	return c.finish(a, old, vals, in, provided, seed)
}

// fieldValue turns one written value into the stored value, or nil when the
// field is one kintone ignores on write.
func (c *call) fieldValue(a *app, f *field, raw any, old val, k keys, ve *verrs, create, seed bool) (*val, *kintone.Error) {
	var v val
	var kerr *kintone.Error
	switch {
	case f.typ == "FILE":
		v, kerr = c.fileValue(a, raw, old, seed)
	case f.typ == "SUBTABLE":
		v, kerr = c.subtableValue(a, f, raw, old, k, ve, seed)
	case writableTypes[f.typ]:
		v, kerr = c.st.parseValue(f, raw, k, ve)
	case f.typ == "CREATOR" || f.typ == "MODIFIER" || f.typ == "CREATED_TIME" || f.typ == "UPDATED_TIME":
		if !seed {
			if !create {
				return nil, kintone.NewError("GAIA_UN10", c.lang, unTypeName(f.typ))
			}
			if c.may(a, rManage) != nil {
				return nil, kintone.NewError("GAIA_BF02", c.lang, f.code)
			}
		}
		v, kerr = c.st.parseValue(f, raw, k, ve)
	case f.typ == "STATUS" || f.typ == "STATUS_ASSIGNEE" || f.typ == "CATEGORY":
		if !seed {
			return nil, kintone.NewError("GAIA_UN10", c.lang, f.typ)
		}
		v, kerr = c.st.parseValue(f, raw, k, ve)
		if f.typ == "STATUS" && kerr == nil {
			if _, ok := a.process.index[v.s]; !ok {
				ve.add(k.value(f.code), kintone.MsgOption, v.s)
			}
		}
	case f.typ == "CALC" && seed:
		s, ok := scalarText(raw)
		if !ok {
			return nil, errJSON(c.lang)
		}
		if f.calcText {
			v = val{s: s}
			break
		}
		// A seed states what kintone computed; kintone would have stored
		// it rounded to the app's precision.
		n, problem := f.prec.store(s)
		switch problem {
		case notANumber:
			ve.add(k.bracket(f.code), kintone.MsgNumber)
		case tooManyDigits:
			ve.addText(k.value(f.code), digitsMessage(ve.lang, f.prec.digits))
		}
		v = val{s: n}
	default:
		return nil, nil // CALC, RECORD_NUMBER, $id, $revision: kintone computes them
	}
	if kerr != nil {
		return nil, kerr
	}
	return &v, nil
}

// unTypeName is the type name GAIA_UN10 uses for a system field.
func unTypeName(typ string) string {
	switch typ {
	case "CREATED_TIME":
		return "CREATED_AT"
	case "UPDATED_TIME":
		return "MODIFIED_AT"
	}
	return typ
}

// fileValue reads [{fileKey}]: an upload key becomes a download key; a
// download key already in the field keeps its file; anything else is
// GAIA_BL01.
func (c *call) fileValue(a *app, raw any, old val, seed bool) (val, *kintone.Error) {
	if raw == nil {
		return val{x: []*fileRef{}}, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return val{}, errJSON(c.lang)
	}
	have, _ := old.x.([]*fileRef)
	out := make([]*fileRef, 0, len(list))
next:
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return val{}, errJSON(c.lang)
		}
		key, _ := scalarText(m["fileKey"])
		for _, h := range have {
			if h.key == key {
				out = append(out, h)
				continue next
			}
		}
		if u := c.st.tmp[key]; u != nil {
			if c.now.Before(u.expires) {
				out = append(out, c.st.attach(key, a.id))
				continue
			}
			delete(c.st.tmp, key)
		}
		if f := c.st.files[key]; f != nil && seed {
			if f.app == 0 {
				f.app = a.id
			}
			out = append(out, f)
			continue
		}
		return val{}, kintone.NewError("GAIA_BL01", c.lang, key)
	}
	return val{x: out}, nil
}

// subtableValue merges written rows into a table as kintone does: a row
// with a known id keeps the inner fields it does not send; a row without an
// id, or with an unknown one, is new; rows not sent are deleted.
func (c *call) subtableValue(a *app, f *field, raw any, old val, k keys, ve *verrs, seed bool) (val, *kintone.Error) {
	if raw == nil {
		return val{x: []row{}}, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return val{}, errJSON(c.lang)
	}
	oldRows, _ := old.x.([]row)
	byID := map[int64]int{}
	for i, r := range oldRows {
		byID[r.id] = i
	}
	used := map[int64]bool{}
	rows := make([]row, 0, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return val{}, errJSON(c.lang)
		}
		var r row
		id, hasID := int64(0), false
		if m["id"] != nil {
			id, hasID = asInt(m["id"])
		}
		if j, found := byID[id]; hasID && found && !used[id] {
			used[id] = true
			r = row{id: id, vals: append([]val(nil), oldRows[j].vals...)}
		} else {
			r = row{vals: make([]val, len(f.inner))}
			for j, in := range f.inner {
				r.vals[j] = emptyVal(in)
			}
			if seed && hasID && id > 0 {
				r.id = id
				for {
					cur := c.s.rowSeq.Load()
					if cur >= id || c.s.rowSeq.CompareAndSwap(cur, id) {
						break
					}
				}
			} else {
				r.id = c.s.rowSeq.Add(1)
			}
			hasID = false // defaults apply below
		}
		values, _ := m["value"].(map[string]any)
		if m["value"] != nil && values == nil {
			return val{}, errJSON(c.lang)
		}
		ik := k.inner(f.code, i, "")
		given := map[string]bool{}
		for j, in := range f.inner {
			e, present := values[in.code]
			if !present || e == nil {
				continue
			}
			em, ok := e.(map[string]any)
			if !ok {
				return val{}, errJSON(c.lang)
			}
			rawIn, has := em["value"]
			if !has {
				continue
			}
			var v val
			var kerr *kintone.Error
			switch in.typ {
			case "FILE":
				v, kerr = c.fileValue(a, rawIn, r.vals[j], seed)
			case "CALC":
				continue
			default:
				v, kerr = c.st.parseValue(in, rawIn, ik, ve)
			}
			if kerr != nil {
				return val{}, kerr
			}
			r.vals[j] = v
			given[in.code] = true
		}
		if !used[r.id] {
			for j, in := range f.inner {
				if writableTypes[in.typ] && !given[in.code] {
					r.vals[j] = c.defaultVal(in)
				}
			}
		}
		rows = append(rows, r)
	}
	return val{x: rows}, nil
}

// defaultVal is a field's value on add when the request omits it.
func (c *call) defaultVal(f *field) val {
	p := f.prop
	switch f.typ {
	case "DATE":
		if p.DefaultNowValue {
			return val{s: c.now.In(c.tz()).Format("2006-01-02")}
		}
	case "TIME":
		if p.DefaultNowValue {
			return val{s: c.now.In(c.tz()).Format("15:04")}
		}
	case "DATETIME":
		if p.DefaultNowValue {
			return val{s: formatDateTime(c.now)}
		}
	case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
		return c.defaultEntities(f)
	case "RADIO_BUTTON":
		if len(p.DefaultValue) == 0 || string(p.DefaultValue) == `""` {
			// A radio button always has a choice; without a default kintone
			// selects the first option.
			best, bestIdx := "", -1
			for k, o := range p.Options {
				i, _ := strconv.Atoi(o.Index)
				if bestIdx < 0 || i < bestIdx {
					best, bestIdx = k, i
				}
			}
			return val{s: best}
		}
	}
	if len(p.DefaultValue) == 0 {
		return emptyVal(f)
	}
	raw, ok := decodeAny(p.DefaultValue)
	if !ok {
		return emptyVal(f)
	}
	v, kerr := c.st.parseValue(f, raw, keys{base: "default"}, &verrs{lang: c.lang})
	if kerr != nil {
		return emptyVal(f)
	}
	return v
}

func (c *call) defaultEntities(f *field) val {
	var list []struct{ Code, Type string }
	json.Unmarshal(f.prop.DefaultValue, &list)
	ents := []entity{}
	for _, d := range list {
		code := d.Code
		switch {
		case d.Type == "FUNCTION" && code == "LOGINUSER()":
			if c.who.user == nil {
				continue
			}
			code = c.who.user.Code
		case d.Type == "FUNCTION" && code == "PRIMARY_ORGANIZATION()":
			if c.who.user == nil || c.who.user.Organization == "" {
				continue
			}
			code = c.who.user.Organization
		}
		if name, ok := c.st.entityName(f.typ, code); ok {
			ents = append(ents, entity{code: code, name: name})
		}
	}
	return val{x: ents}
}

func decodeAny(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// applyLookups copies the mapped fields of every lookup whose key was
// written (or defaulted on add) from the record it finds in the source app.
// A copied number is stored as a written one is, so it may not fit this
// app's precision: that is added to ve.
func (c *call) applyLookups(a *app, vals []val, provided map[string]bool, create bool, k keys, ve *verrs) *kintone.Error {
	for _, f := range a.lookups {
		key := vals[f.idx]
		if !provided[f.code] && !(create && key.s != "") {
			continue
		}
		lk := f.lookup
		src := c.st.appByRef(lk.RelatedApp)
		if key.s == "" {
			for _, m := range lk.FieldMappings {
				if d := a.byCode[m.Field]; d != nil {
					vals[d.idx] = emptyVal(d)
				}
			}
			continue
		}
		found := c.findByKey(src, lk.RelatedKeyField, key)
		if found == nil || c.may(src, rView) != nil {
			return kintone.NewError("GAIA_LO04", c.lang, key.s, f.code)
		}
		copyVal := func(from, to *field, v val) {
			var problem numberProblem
			vals[to.idx], problem = convertVal(from, to, v)
			if problem == tooManyDigits {
				ve.addText(k.value(to.code), digitsMessage(ve.lang, to.prec.digits))
			}
		}
		kf := src.byCode[lk.RelatedKeyField]
		copyVal(kf, f, found.vals[kf.idx])
		for _, m := range lk.FieldMappings {
			d, sf := a.byCode[m.Field], src.byCode[m.RelatedField]
			if d != nil && sf != nil && d.parent == nil && sf.parent == nil {
				copyVal(sf, d, found.vals[sf.idx])
			}
		}
	}
	return nil
}

// findByKey finds the record of src whose field code equals key.
func (c *call) findByKey(src *app, code string, key val) *record {
	if src == nil {
		return nil
	}
	kf := src.byCode[code]
	if kf == nil {
		return nil
	}
	if !numericType(kf.typ) {
		for _, r := range c.st.data[src.id].sorted {
			if r.vals[kf.idx].s == key.s {
				return r
			}
		}
		return nil
	}
	want := key.s
	if kf.typ == "RECORD_NUMBER" {
		want = trimAppCode(src, want)
	}
	want, ok := numberLiteral(want)
	if !ok {
		return nil
	}
	for _, r := range c.st.data[src.id].sorted {
		if n, ok := numberText(kf, r.vals[kf.idx]); ok && compareNumbers(n, want) == 0 {
			return r
		}
	}
	return nil
}

// trimAppCode drops the "CODE-" prefix of a record number.
func trimAppCode(a *app, s string) string {
	if a.code != "" && len(s) > len(a.code)+1 && s[:len(a.code)] == a.code && s[len(a.code)] == '-' {
		return s[len(a.code)+1:]
	}
	return s
}

// convertVal turns a value of field from into a value of field to. A number
// is stored as if written to to's app, whose precision may differ from the
// source app's; text that is no number leaves a NUMBER empty.
func convertVal(from, to *field, v val) (val, numberProblem) {
	if to.typ == "NUMBER" {
		s := v.s
		if from.typ == "RECORD_NUMBER" {
			s = trimNumberPrefix(s)
		}
		n, problem := to.prec.store(s)
		if problem == notANumber {
			return val{}, numberOK
		}
		return val{s: n}, problem
	}
	if from.typ == to.typ {
		return v, numberOK
	}
	switch to.typ {
	case "DROP_DOWN", "RADIO_BUTTON", "DATE", "TIME":
		if v.s == "" {
			return val{x: nullVal}, numberOK
		}
	}
	return val{s: v.s}, numberOK
}

func trimNumberPrefix(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '-' {
			return s[i+1:]
		}
	}
	return s
}

// validate checks required, lengths, number ranges and uniqueness, adding
// kintone's messages under kintone's keys.
func (c *call) validate(a *app, vals []val, self int64, k keys, ve *verrs) {
	for _, f := range a.fields {
		if !writableTypes[f.typ] {
			continue
		}
		v := vals[f.idx]
		checkValue(f, v, k, ve)
		if f.typ == "SUBTABLE" {
			rows, _ := v.x.([]row)
			for i, r := range rows {
				ik := k.inner(f.code, i, "")
				for j, in := range f.inner {
					checkValue(in, r.vals[j], ik, ve)
				}
			}
		}
		if key := uniqueKey(f, v); f.prop.Unique && key != "" {
			if id, dup := c.st.data[a.id].unique[f][key]; dup && id != self {
				ve.add(k.value(f.code), kintone.MsgUnique)
			}
		}
	}
}

func checkValue(f *field, v val, k keys, ve *verrs) {
	if f.prop.Required && f.typ != "CALC" && f.typ != "RADIO_BUTTON" && isEmpty(f, v) {
		switch f.typ {
		case "CHECK_BOX", "MULTI_SELECT", "FILE":
			ve.add(k.values(f.code), kintone.MsgRequired)
		case "USER_SELECT", "ORGANIZATION_SELECT", "GROUP_SELECT":
			ve.add(k.values(f.code)+".value", kintone.MsgRequired)
		default:
			ve.add(k.value(f.code), kintone.MsgRequired)
		}
		return
	}
	switch f.typ {
	case "SINGLE_LINE_TEXT", "LINK", "MULTI_LINE_TEXT", "RICH_TEXT":
		n := utf8.RuneCountInString(v.s)
		if f.maxLen >= 0 && n > f.maxLen {
			ve.add(k.value(f.code), kintone.MsgMaxLength, f.maxLen+1)
		}
		if f.minLen > 0 && n > 0 && n < f.minLen {
			ve.add(k.value(f.code), kintone.MsgMinLength, f.minLen-1)
		}
	case "NUMBER":
		if v.s == "" {
			return
		}
		if f.minVal != "" && compareNumbers(v.s, f.minVal) < 0 {
			ve.add(k.value(f.code), kintone.MsgMinValue, f.minText)
		}
		if f.maxVal != "" && compareNumbers(v.s, f.maxVal) > 0 {
			ve.add(k.value(f.code), kintone.MsgMaxValue, f.maxText)
		}
	}
}

// finish sets the system fields and encodes the record.
func (c *call) finish(a *app, old *record, vals []val, in map[string]any, provided map[string]bool, seed bool) (*record, *kintone.Error) {
	who := val{x: []entity{c.entity()}}
	now := val{s: formatDateTime(c.now)}
	r := &record{}
	if old == nil {
		r.rev = 1
		if seed {
			if id, ok := asInt(fieldRaw(in, "$id")); ok && id > 0 {
				r.id = id
				if d := c.st.data[a.id]; id >= d.nextID {
					d.nextID = id + 1
				}
			}
			if rev, ok := asInt(fieldRaw(in, "$revision")); ok && rev > 0 {
				r.rev = rev
			}
			if c.st.data[a.id].recs[r.id] != nil && r.id != 0 {
				return nil, kintone.Invalid(c.lang).With("$id", "duplicate record id "+strconv.FormatInt(r.id, 10))
			}
		}
		if r.id == 0 {
			r.id = c.st.takeID(a)
		}
		if a.creatorF != nil && provided[a.creatorF.code] {
			who = vals[a.creatorF.idx] // a record added with its creator set was last modified by them too
		}
		for _, f := range []*field{a.creatorF, a.modifierF} {
			if f != nil && !provided[f.code] {
				vals[f.idx] = who
			}
		}
		for _, f := range []*field{a.createdF, a.updatedF} {
			if f != nil && !provided[f.code] {
				vals[f.idx] = now
			}
		}
		if a.process != nil && !provided[a.statusF.code] {
			st := a.process.states[0]
			vals[a.statusF.idx] = val{s: st.Name}
			vals[a.assigneeF.idx] = val{x: c.assignees(a, st, vals, "")}
		}
	} else {
		r.id, r.rev = old.id, old.rev+1
		if a.modifierF != nil {
			vals[a.modifierF.idx] = who
		}
		if a.updatedF != nil {
			vals[a.updatedF.idx] = now
		}
	}
	idv := val{s: strconv.FormatInt(r.id, 10)}
	vals[a.idF.idx] = idv
	vals[a.revisionF.idx] = val{s: strconv.FormatInt(r.rev, 10)}
	if a.recordNumber != nil {
		num := idv
		if a.code != "" {
			num.s = a.code + "-" + idv.s
		}
		vals[a.recordNumber.idx] = num
	}
	r.vals = vals
	a.encodeRecord(r)
	return r, nil
}

// fieldRaw reads the value of code in a written record.
func fieldRaw(in map[string]any, code string) any {
	m, _ := in[code].(map[string]any)
	return m["value"]
}
