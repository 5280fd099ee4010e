package kintonesim

import (
	"strconv"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// call is one API request (or one request inside a bulkRequest) being
// served.
type call struct {
	s      *Server
	st     *state
	lang   string
	who    *caller
	space  int64 // guest space of the path; 0 for /k/v1
	method string
	api    string
	p      params
	now    time.Time
}

// Limits of the record APIs.
const (
	maxWriteRecords = 100
	maxReadLimit    = 500
	defaultLimit    = 100
)

// openApp reads the app id under key, finds the app, applies the guest
// space rules, counts the request for the app and checks right x.
func (c *call) openApp(key string, x right) (*app, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	id, ok := c.p.required(key, ve)
	if !ok {
		return nil, ve.err
	}
	return c.appByID(id, x)
}

func (c *call) appByID(id int64, x right) (*app, *kintone.Error) {
	a := c.st.apps[id]
	if a == nil {
		return nil, kintone.NewError("GAIA_AP01", c.lang, id)
	}
	if c.space == 0 && a.spaceID != 0 {
		return nil, kintone.NewError("GAIA_IL23", c.lang)
	}
	if c.space != 0 && a.spaceID != c.space {
		return nil, kintone.NewError("CB_NO02", c.lang)
	}
	c.s.counter.add(a.id, c.now)
	if err := c.may(a, x); err != nil {
		return nil, err
	}
	return a, nil
}

// record finds record id of a, or GAIA_RE01.
func (c *call) record(a *app, id int64) (*record, *kintone.Error) {
	r := c.st.data[a.id].recs[id]
	if r == nil {
		return nil, kintone.NewError("GAIA_RE01", c.lang, id)
	}
	return r, nil
}

// revision reads an expected revision: absent or -1 skips the check, below
// -1 is CB_VA01.
func revision(p params, key string, ve *verrs) (int64, bool) {
	v, ok := p[key]
	if !ok || v == nil || v == "" {
		return -1, true
	}
	n, good := asInt(v)
	if !good {
		ve.add(key, kintone.MsgInteger)
		return 0, false
	}
	if n < -1 {
		ve.add(key, kintone.MsgMinMinusOne)
		return 0, false
	}
	return n, true
}

// checkRevision is kintone's optimistic lock: 409 GAIA_CO02 on mismatch.
func (c *call) checkRevision(r *record, want int64) *kintone.Error {
	if want != -1 && want != r.rev {
		return kintone.NewError("GAIA_CO02", c.lang)
	}
	return nil
}

// GET record.json
func getRecord(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	id, ok := c.p.required("id", ve)
	if !ok {
		return nil, ve.err
	}
	r, err := c.record(a, id)
	if err != nil {
		return nil, err
	}
	b := append(make([]byte, 0, len(r.buf)+16), `{"record":`...)
	b = appendRecord(b, a, r, nil)
	return append(b, '}'), nil
}

// POST record.json
func postRecord(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rAdd)
	if err != nil {
		return nil, err
	}
	in, kerr := c.recordParam(c.p, "record")
	if kerr != nil {
		return nil, kerr
	}
	r, kerr := c.buildRecord(a, nil, in, keys{base: "record"}, false)
	if kerr != nil {
		return nil, kerr
	}
	c.st.setRecord(a, r.id, r)
	return map[string]string{"id": strconv.FormatInt(r.id, 10), "revision": strconv.FormatInt(r.rev, 10)}, nil
}

// recordParam reads a written record (absent is an empty one).
func (c *call) recordParam(p params, key string) (map[string]any, *kintone.Error) {
	v, ok := p[key]
	if !ok || v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errJSON(c.lang)
	}
	return m, nil
}

// PUT record.json
func putRecord(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rEdit)
	if err != nil {
		return nil, err
	}
	r, kerr := c.updateOne(a, c.p, "", false)
	if kerr != nil {
		return nil, kerr
	}
	return map[string]string{"revision": strconv.FormatInt(r.rev, 10)}, nil
}

// updateOne applies one update item ({id | updateKey, revision, record});
// base is "" for record.json and "records[i]" inside records.json. With
// upsert, an updateKey that matches nothing adds the record instead.
func (c *call) updateOne(a *app, item params, base string, upsert bool) (*record, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	key := func(k string) string {
		if base == "" {
			return k
		}
		return base + "." + k
	}
	_, hasID := item["id"]
	uk, hasKey := item["updateKey"]
	if hasID && hasKey && item["id"] != nil && uk != nil {
		ve.add(key("id"), kintone.MsgIDAndKey)
		return nil, ve.err
	}
	rev, ok := revision(item, "revision", ve)
	if !ok {
		return nil, ve.err
	}
	in, kerr := c.recordParam(item, "record")
	if kerr != nil {
		return nil, kerr
	}
	k := keys{base: "record"}
	if base != "" {
		k = keys{base: base + ".record"}
	}
	var old *record
	if hasKey && uk != nil {
		var f *field
		var want val
		old, f, want, kerr = c.byUpdateKey(a, uk, key("updateKey"))
		if kerr != nil {
			return nil, kerr
		}
		if old == nil {
			if !upsert {
				return nil, kintone.NewError("GAIA_RE20", c.lang)
			}
			if err := c.may(a, rAdd); err != nil {
				return nil, err
			}
			if f.typ != "RECORD_NUMBER" {
				in = withValue(in, f.code, want.s) // as sent: the add stores (and checks) it
			}
			r, kerr := c.buildRecord(a, nil, in, k, false)
			if kerr != nil {
				return nil, kerr
			}
			c.st.setRecord(a, r.id, r)
			return r, nil
		}
	} else {
		id, ok := item.required("id", ve)
		if !ok {
			return nil, ve.err
		}
		old, kerr = c.record(a, id)
		if kerr != nil {
			return nil, kerr
		}
	}
	if kerr := c.checkRevision(old, rev); kerr != nil {
		return nil, kerr
	}
	r, kerr := c.buildRecord(a, old, in, k, false)
	if kerr != nil {
		return nil, kerr
	}
	c.st.setRecord(a, r.id, r)
	return r, nil
}

func withValue(in map[string]any, code, v string) map[string]any {
	out := make(map[string]any, len(in)+1)
	for k, x := range in {
		out[k] = x
	}
	out[code] = map[string]any{"value": v}
	return out
}

// byUpdateKey finds the record an updateKey {field, value} names. The field
// must prohibit duplicate values (or be the record number): GAIA_IQ27.
func (c *call) byUpdateKey(a *app, uk any, key string) (*record, *field, val, *kintone.Error) {
	m, ok := uk.(map[string]any)
	if !ok {
		return nil, nil, val{}, errJSON(c.lang)
	}
	code, _ := scalarText(m["field"])
	raw, _ := scalarText(m["value"])
	ve := &verrs{lang: c.lang}
	if code == "" {
		ve.add(key+".field", kintone.MsgRequiredParam)
		return nil, nil, val{}, ve.err
	}
	f := a.byCode[code]
	if f == nil || f.parent != nil {
		return nil, nil, val{}, kintone.NewError("GAIA_IQ11", c.lang, code)
	}
	if !(f.typ == "RECORD_NUMBER" || (f.prop.Unique && (f.typ == "SINGLE_LINE_TEXT" || f.typ == "NUMBER"))) {
		return nil, nil, val{}, kintone.NewError("GAIA_IQ27", c.lang, code)
	}
	want := val{s: raw}
	if f.typ == "RECORD_NUMBER" {
		id, err := strconv.ParseInt(trimAppCode(a, raw), 10, 64)
		if err != nil {
			return nil, f, want, nil
		}
		return c.st.data[a.id].recs[id], f, want, nil
	}
	indexed := raw
	if f.typ == "NUMBER" {
		// The key is the number the add would store: rounded as the
		// app rounds, matched by value.
		n, problem := f.prec.store(raw)
		if problem != numberOK {
			return nil, f, want, nil
		}
		indexed = numberKey(n)
	}
	if indexed == "" {
		return nil, f, want, nil
	}
	if id, ok := c.st.data[a.id].unique[f][indexed]; ok {
		return c.st.data[a.id].recs[id], f, want, nil
	}
	return nil, f, want, nil
}

// itemList reads an array parameter of objects with at most max items.
func (c *call) itemList(key string, max int, tooMany string) ([]params, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	list, ok := c.p.list(key)
	if !ok {
		if _, present := c.p[key]; present && c.p[key] != nil {
			return nil, errJSON(c.lang)
		}
		ve.add(key, kintone.MsgRequiredParam)
		return nil, ve.err
	}
	if len(list) > max {
		ve.add(key, tooMany)
		return nil, ve.err
	}
	out := make([]params, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, errJSON(c.lang)
		}
		out[i] = m
	}
	return out, nil
}

// POST records.json
func postRecords(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rAdd)
	if err != nil {
		return nil, err
	}
	items, kerr := c.itemList("records", maxWriteRecords, kintone.MsgMaxAdd)
	if kerr != nil {
		return nil, kerr
	}
	ids, revs := make([]string, 0, len(items)), make([]string, 0, len(items))
	for i, item := range items {
		r, kerr := c.buildRecord(a, nil, item, keys{base: "records[" + strconv.Itoa(i) + "]"}, false)
		if kerr != nil {
			return nil, kerr
		}
		c.st.setRecord(a, r.id, r)
		ids = append(ids, strconv.FormatInt(r.id, 10))
		revs = append(revs, strconv.FormatInt(r.rev, 10))
	}
	return map[string][]string{"ids": ids, "revisions": revs}, nil
}

// PUT records.json
func putRecords(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rEdit)
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	upsert, _ := c.p.boolean("upsert", ve)
	if ve.failed() {
		return nil, ve.err
	}
	items, kerr := c.itemList("records", maxWriteRecords, kintone.MsgMaxUpdate)
	if kerr != nil {
		return nil, kerr
	}
	type result struct {
		ID        string `json:"id"`
		Revision  string `json:"revision"`
		Operation string `json:"operation,omitempty"`
	}
	out := make([]result, 0, len(items))
	for i, item := range items {
		before := c.st.data[a.id].nextID
		r, kerr := c.updateOne(a, item, "records["+strconv.Itoa(i)+"]", upsert)
		if kerr != nil {
			return nil, kerr
		}
		res := result{ID: strconv.FormatInt(r.id, 10), Revision: strconv.FormatInt(r.rev, 10)}
		if upsert {
			res.Operation = "UPDATE"
			if r.id >= before {
				res.Operation = "INSERT"
			}
		}
		out = append(out, res)
	}
	return map[string]any{"records": out}, nil
}

// DELETE records.json
func deleteRecords(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rDelete)
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	ids, ok := c.p.list("ids")
	if !ok || len(ids) == 0 || len(ids) > maxWriteRecords {
		if !ok && c.p["ids"] == nil {
			ve.add("ids", kintone.MsgRequiredParam)
		} else {
			ve.add("ids", kintone.MsgDeleteRange)
		}
		return nil, ve.err
	}
	revs, _ := c.p.list("revisions")
	for i, x := range ids {
		id, good := asInt(x)
		if !good {
			ve.add("ids["+strconv.Itoa(i)+"]", kintone.MsgInteger)
			return nil, ve.err
		}
		want := int64(-1)
		if i < len(revs) && revs[i] != nil {
			n, good := asInt(revs[i])
			if !good || n < -1 {
				ve.add("revisions["+strconv.Itoa(i)+"]", kintone.MsgMinMinusOne)
				return nil, ve.err
			}
			want = n
		}
		r, kerr := c.record(a, id)
		if kerr != nil {
			return nil, kerr
		}
		if kerr := c.checkRevision(r, want); kerr != nil {
			return nil, kerr
		}
		c.st.setRecord(a, id, nil)
		c.st.dropThread(a, id)
	}
	return map[string]any{}, nil
}

// appendRecord appends the JSON of r, restricted to proj when not nil.
func appendRecord(b []byte, a *app, r *record, proj *projection) []byte {
	b = append(b, '{')
	if proj == nil {
		if len(r.buf) > 0 {
			b = append(b, r.buf...)
		}
		return append(b, '}')
	}
	n := 0
	for _, i := range proj.fields {
		frag := r.fragment(i)
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, frag...)
	}
	for _, t := range proj.tables {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, t.f.header...)
		b = t.f.appendValue(b, r.vals[t.f.idx], t.inner)
		b = append(b, '}')
	}
	return append(b, '}')
}

// projection is the fields parameter resolved: whole fields by index, and
// subtables of which only some columns were asked for.
type projection struct {
	fields []int
	tables []tableProj
}

type tableProj struct {
	f     *field
	inner map[string]bool
}

// project resolves fields[]; codes the app does not have are ignored, as
// kintone ignores them.
func project(a *app, codes []string) *projection {
	p := &projection{}
	seen := map[string]bool{}
	var tables map[*field]map[string]bool
	var order []*field
	for _, code := range codes {
		f := a.byCode[code]
		if f == nil || seen[code] {
			continue
		}
		seen[code] = true
		if f.parent == nil {
			p.fields = append(p.fields, f.idx)
			continue
		}
		if seen[f.parent.code] {
			continue
		}
		if tables == nil {
			tables = map[*field]map[string]bool{}
		}
		if tables[f.parent] == nil {
			tables[f.parent] = map[string]bool{}
			order = append(order, f.parent)
		}
		tables[f.parent][code] = true
	}
	for _, t := range order {
		if !seen[t.code] {
			p.tables = append(p.tables, tableProj{f: t, inner: tables[t]})
		}
	}
	return p
}
