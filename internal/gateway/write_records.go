package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// maxWriteRecords is kintone's cap on records per records.json call.
const maxWriteRecords = 100

// AddRecordRequest is POST record.json. Record is kintone's write format
// (code → {"value": …}; Type is ignored).
type AddRecordRequest struct {
	App    AppRef
	Record kintone.Record
}

// AddRecordsRequest is POST records.json (at most 100 records).
type AddRecordsRequest struct {
	App     AppRef
	Records []kintone.Record
}

// RecordUpdate is one record of an update: named by ID or by Key (not
// both). Revision is the revision the client expects; 0 or NoRevision
// means no check.
type RecordUpdate struct {
	ID       string
	Key      *UpdateKey
	Revision int64
	Record   kintone.Record
}

// UpdateRecordRequest is PUT record.json.
type UpdateRecordRequest struct {
	App AppRef
	RecordUpdate
}

// UpdateRecordsRequest is PUT records.json (at most 100 records). With
// Upsert, a record named by a Key that matches no record the member may
// see is added instead.
type UpdateRecordsRequest struct {
	App     AppRef
	Records []RecordUpdate
	Upsert  bool
}

// DeleteRecordsRequest is DELETE records.json: 1–100 ids, and optionally
// the revision the client expects of each (by position; 0 or NoRevision
// means no check).
type DeleteRecordsRequest struct {
	App       AppRef
	IDs       []string
	Revisions []int64
}

// AddRecord creates one record: presets override what the client sent,
// every field the client sets must be writable, and the record must be one
// the member may see (include, with action "create").
func (g *Gateway) AddRecord(ctx context.Context, id *identity.Identity, req AddRecordRequest) (*Written, error) {
	ws, err := g.run(ctx, id, &req)
	if err != nil {
		return nil, err
	}
	return &ws[0], nil
}

// AddRecords creates up to 100 records, each checked as by AddRecord,
// atomically.
func (g *Gateway) AddRecords(ctx context.Context, id *identity.Identity, req AddRecordsRequest) ([]Written, error) {
	return g.run(ctx, id, &req)
}

// UpdateRecord changes one record: the record is read fresh
// and must satisfy include (else it answers as a missing record); every
// changed field must be writable as the policy decides for the existing
// record; presets apply; the record as merged must still satisfy include;
// the write is pinned to the revision kgate checked.
func (g *Gateway) UpdateRecord(ctx context.Context, id *identity.Identity, req UpdateRecordRequest) (*Written, error) {
	ws, err := g.run(ctx, id, &req)
	if err != nil {
		return nil, err
	}
	return &ws[0], nil
}

// UpdateRecords changes (or upserts) up to 100 records, each checked as by
// UpdateRecord (inserts as by AddRecord), atomically.
func (g *Gateway) UpdateRecords(ctx context.Context, id *identity.Identity, req UpdateRecordsRequest) ([]Written, error) {
	return g.run(ctx, id, &req)
}

// DeleteRecords deletes 1–100 records, all or none: each must exist,
// satisfy include (action "delete") and match the revision the client
// gave; it is deleted at the revision kgate checked.
func (g *Gateway) DeleteRecords(ctx context.Context, id *identity.Identity, req DeleteRecordsRequest) error {
	_, err := g.run(ctx, id, &req)
	return err
}

func (r *AddRecordRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planAdd(ctx, r.App, []kintone.Record{r.Record}, false)
}

func (r *AddRecordsRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planAdd(ctx, r.App, r.Records, true)
}

func (r *UpdateRecordRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planUpdate(ctx, r.App, []RecordUpdate{r.RecordUpdate}, false, false)
}

func (r *UpdateRecordsRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planUpdate(ctx, r.App, r.Records, true, r.Upsert)
}

func (r *DeleteRecordsRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planDelete(ctx, r.App, r.IDs, r.Revisions)
}

func invisibleMessage(lang string, update bool) string {
	switch {
	case lang == "ja" && update:
		return "この変更を行うと、あなたはこのレコードを閲覧できなくなります。"
	case lang == "ja":
		return "このレコードを作成すると、あなたはこのレコードを閲覧できません。"
	case update:
		return "After this change you could no longer see the record."
	}
	return "You could not see the record this would create."
}

// planAdd checks records to create.
func (w *writer) planAdd(ctx context.Context, ref AppRef, recs []kintone.Record, bulk bool) (*opPlan, error) {
	ev := w.event("create")
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	ev.App = wa.Alias
	if bulk && len(recs) > maxWriteRecords {
		return nil, kintone.Invalid(w.id.Lang).With("records", kintone.Message(kintone.MsgMaxAdd, w.id.Lang))
	}
	p := &opPlan{app: wa, ev: ev, sent: map[string]bool{}}
	sends := make([]map[string]fieldWrite, len(recs))
	for i, rec := range recs {
		prefix := "record"
		if bulk {
			prefix = "records[" + strconv.Itoa(i) + "]"
		}
		ch, err := w.checkCreate(ctx, ev, wa, rec, prefix)
		if err != nil {
			return nil, err
		}
		sends[i] = ch.send
		ev.Fields = append(ev.Fields, ch.touched...)
		addAll(p.sent, ch.sent)
	}
	if !bulk {
		p.calls = []upCall{{http.MethodPost, "record.json", map[string]any{"app": wa.ID, "record": sends[0]}}}
		p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
			var out Written
			if err := parseReply(results, 0, &out); err != nil || out.ID == "" {
				return nil, nil, errMalformed
			}
			ev.RecordIDs, ev.Records = []string{out.ID}, 1
			return results[0], []Written{out}, nil
		}
		return p, nil
	}
	if len(recs) == 0 {
		p.reply = func([]json.RawMessage) (json.RawMessage, []Written, error) {
			return json.RawMessage(`{"ids":[],"revisions":[]}`), []Written{}, nil
		}
		return p, nil
	}
	p.calls = []upCall{{http.MethodPost, "records.json", map[string]any{"app": wa.ID, "records": sends}}}
	p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
		ws, err := addedRecords(results, 0, len(recs))
		if err != nil {
			return nil, nil, err
		}
		for _, x := range ws {
			ev.RecordIDs = append(ev.RecordIDs, x.ID)
		}
		ev.Records = len(ws)
		return results[0], ws, nil
	}
	return p, nil
}

// checkCreate applies the create rules to one record.
func (w *writer) checkCreate(ctx context.Context, ev *audit.Event, wa *writeApp, rec kintone.Record, prefix string) (*checked, error) {
	dec, err := w.allowed(ctx, ev, wa, "create", "")
	if err != nil {
		return nil, err
	}
	readable, err := w.readable(ctx, wa)
	if err != nil {
		return nil, err
	}
	c := &recordCheck{wa: wa, ev: ev, dec: dec, readable: readable, prefix: prefix}
	ch, err := w.check(ctx, c, rec)
	if err != nil {
		return nil, err
	}
	if !w.includes(ctx, wa, "create", "", ch.merged) {
		ev.Outcome = "denied"
		return nil, denied(w.id.Lang, nil).With(prefix, invisibleMessage(w.id.Lang, false))
	}
	if err := w.refuseComputed(ctx, ev, wa, "create", prefix, ch.touched); err != nil {
		return nil, err
	}
	return ch, nil
}

// addedRecords reads {ids, revisions}.
func addedRecords(results []json.RawMessage, i, n int) ([]Written, error) {
	var out struct {
		IDs       []string `json:"ids"`
		Revisions []string `json:"revisions"`
	}
	if err := parseReply(results, i, &out); err != nil || len(out.IDs) != n || len(out.Revisions) != n {
		return nil, errMalformed
	}
	ws := make([]Written, n)
	for j := range ws {
		ws[j] = Written{ID: out.IDs[j], Revision: out.Revisions[j]}
	}
	return ws, nil
}

func addAll(dst, src map[string]bool) {
	for k := range src {
		dst[k] = true
	}
}

// param is the error key of a request parameter of item i ("" for a lone
// record: "id"; else "records[i].id").
func param(bulk bool, i int, key string) string {
	if !bulk {
		return key
	}
	return "records[" + strconv.Itoa(i) + "]." + key
}

// planUpdate checks updates (and upserts).
func (w *writer) planUpdate(ctx context.Context, ref AppRef, items []RecordUpdate, bulk, upsert bool) (*opPlan, error) {
	lang := w.id.Lang
	ev := w.event("update")
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	ev.App = wa.Alias
	if len(items) > maxWriteRecords {
		return nil, kintone.Invalid(lang).With("records", kintone.Message(kintone.MsgMaxUpdate, lang))
	}
	if _, err := w.allowed(ctx, ev, wa, "update", ""); err != nil {
		return nil, err
	}
	readable, err := w.readable(ctx, wa)
	if err != nil {
		return nil, err
	}
	var ids []string
	var keys []UpdateKey
	for i, it := range items {
		switch {
		case it.Key != nil && it.ID != "":
			return nil, kintone.Invalid(lang).With(param(bulk, i, "id"), kintone.Message(kintone.MsgIDAndKey, lang))
		case it.Key != nil:
			if err := w.checkKey(wa, readable, *it.Key, param(bulk, i, "updateKey.field")); err != nil {
				return nil, err
			}
			keys = append(keys, *it.Key)
		case !validID(it.ID):
			return nil, kintone.Invalid(lang).With(param(bulk, i, "id"), invalidIDMessage(lang))
		default:
			ids = append(ids, it.ID)
		}
	}
	if err := w.load(ctx, wa, ids, keys); err != nil {
		return nil, err
	}
	p := &opPlan{app: wa, ev: ev, sent: map[string]bool{}}
	var updates, inserts []any
	var updIdx, insIdx []int
	for i, it := range items {
		prefix := "record"
		if bulk {
			prefix = "records[" + strconv.Itoa(i) + "].record"
		}
		cur, missing := w.target(wa, it)
		insert := false
		switch {
		case cur == nil && upsert && it.Key != nil:
			insert = true
		case cur == nil:
			return nil, missing
		case cur.opaque:
			return nil, opaqueError(lang, idOf(cur.rec))
		case !w.includes(ctx, wa, "update", "", cur.rec):
			err := w.hidden(ctx, ev, wa, cur.rec, missing)
			if !(upsert && it.Key != nil && err == missing) {
				return nil, err
			}
			ev.Outcome = ""
			insert = true // as if nothing matched: the member must not learn of the record
		}
		if insert {
			ch, err := w.checkCreate(ctx, ev, wa, withKey(wa, it), prefix)
			if err != nil {
				return nil, err
			}
			inserts = append(inserts, ch.send)
			insIdx = append(insIdx, i)
			ev.Fields = append(ev.Fields, ch.touched...)
			addAll(p.sent, ch.sent)
			continue
		}
		recordID := idOf(cur.rec)
		if it.Revision > 0 && it.Revision != cur.rev {
			return nil, kintone.NewError("GAIA_CO02", lang)
		}
		dec, err := w.recordDecision(ctx, ev, wa, "update", cur.rec)
		if err != nil {
			return nil, err
		}
		c := &recordCheck{wa: wa, ev: ev, dec: dec, readable: readable, base: cur.rec, recordID: recordID, prefix: prefix}
		ch, err := w.check(ctx, c, it.Record)
		if err != nil {
			return nil, err
		}
		if !w.includes(ctx, wa, "update", "", ch.merged) {
			ev.Outcome = "denied"
			return nil, denied(lang, nil).With(prefix, invisibleMessage(lang, true))
		}
		if err := w.refuseComputed(ctx, ev, wa, "update", prefix, ch.touched); err != nil {
			return nil, err
		}
		updates = append(updates, map[string]any{"id": recordID, "revision": strconv.FormatInt(cur.rev, 10), "record": ch.send})
		updIdx = append(updIdx, i)
		ev.Fields = append(ev.Fields, ch.touched...)
		ev.RecordIDs = append(ev.RecordIDs, recordID)
		addAll(p.sent, ch.sent)
		cur.rev++
		cur.rec = ch.merged
		cur.rec["$revision"] = kintone.FieldValue{Type: "__REVISION__", Value: jsonString(strconv.FormatInt(cur.rev, 10))}
	}
	w.updateCalls(p, wa, bulk, upsert, len(items), updates, inserts, updIdx, insIdx)
	return p, nil
}

// updateCalls builds the upstream calls of an update: the updates by id
// (pinned to their revisions) and, for an upsert, the inserts, which kintone
// runs as one bulkRequest. kgate never sends an updateKey: it would let
// kintone pick a record kgate did not check.
func (w *writer) updateCalls(p *opPlan, wa *writeApp, bulk, upsert bool, n int, updates, inserts []any, updIdx, insIdx []int) {
	ev := p.ev
	if !bulk {
		u := updates[0].(map[string]any)
		body := map[string]any{"app": wa.ID, "id": u["id"], "revision": u["revision"], "record": u["record"]}
		p.calls = []upCall{{http.MethodPut, "record.json", body}}
		p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
			var out struct {
				Revision string `json:"revision"`
			}
			if err := parseReply(results, 0, &out); err != nil || out.Revision == "" {
				return nil, nil, errMalformed
			}
			ev.Records = 1
			return results[0], []Written{{ID: u["id"].(string), Revision: out.Revision}}, nil
		}
		return
	}
	var kinds []bool // per call: true for the inserts
	if len(updates) > 0 {
		p.calls = append(p.calls, upCall{http.MethodPut, "records.json", map[string]any{"app": wa.ID, "records": updates}})
		kinds = append(kinds, false)
	}
	if len(inserts) > 0 {
		p.calls = append(p.calls, upCall{http.MethodPost, "records.json", map[string]any{"app": wa.ID, "records": inserts}})
		kinds = append(kinds, true)
	}
	p.clientKey = func(call int, key string) string {
		idx := updIdx
		if kinds[call] {
			idx = insIdx
		}
		rest, ok := strings.CutPrefix(key, "records[")
		end := strings.IndexByte(rest, ']')
		if !ok || end < 0 {
			return key
		}
		j, err := strconv.Atoi(rest[:end])
		if err != nil || j < 0 || j >= len(idx) {
			return key
		}
		tail := rest[end+1:]
		if kinds[call] && (strings.HasPrefix(tail, ".") || strings.HasPrefix(tail, "[")) {
			tail = ".record" + tail // inserts are POSTs: records[j].code → records[i].record.code
		}
		return "records[" + strconv.Itoa(idx[j]) + "]" + tail
	}
	p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
		ws := make([]Written, n)
		for call, insert := range kinds {
			if insert {
				added, err := addedRecords(results, call, len(insIdx))
				if err != nil {
					return nil, nil, err
				}
				for j, x := range added {
					x.Operation = "INSERT"
					ws[insIdx[j]] = x
				}
				continue
			}
			var out struct {
				Records []Written `json:"records"`
			}
			if err := parseReply(results, call, &out); err != nil || len(out.Records) != len(updIdx) {
				return nil, nil, errMalformed
			}
			for j, x := range out.Records {
				x.Operation = "UPDATE"
				ws[updIdx[j]] = x
			}
		}
		for i, x := range ws {
			if x.Operation == "INSERT" {
				ev.RecordIDs = append(ev.RecordIDs, x.ID)
			}
			if !upsert {
				ws[i].Operation = ""
			}
		}
		ev.Records = n
		body, _ := json.Marshal(map[string]any{"records": ws})
		return body, ws, nil
	}
}

// withKey is the record an upsert adds for an item whose key matched no
// record: the item's record with the key's value, as kintone adds it (a
// record number is kintone's to give).
func withKey(wa *writeApp, it RecordUpdate) kintone.Record {
	rec := cloneRecord(it.Record)
	if wa.form.props[it.Key.Field].Type != "RECORD_NUMBER" {
		rec[it.Key.Field] = kintone.FieldValue{Value: jsonString(it.Key.Value)}
	}
	return rec
}

func opaqueError(lang, recordID string) *kintone.Error {
	return ownError(http.StatusBadRequest, "KGATE_WR02", lang,
		"このリクエストは、レコード（id: "+recordID+"）のステータスを変更した後で、同じレコードにさらに書き込みます。kgate は後の書き込みを事前に確認できません。別のリクエストに分けて送信してください。",
		"This request writes record "+recordID+" after changing its status; kgate cannot check the later write in advance. Send it in a separate request.")
}

// checkKey checks an updateKey's field: the member must be able to read
// it (else it answers as kintone does for a field that does not exist), and
// it must be a field kintone accepts as a key.
func (w *writer) checkKey(wa *writeApp, readable fieldSet, k UpdateKey, key string) error {
	lang := w.id.Lang
	if k.Field == "" {
		return kintone.Invalid(lang).With(key, kintone.Message(kintone.MsgRequiredParam, lang))
	}
	p, ok := wa.form.props[k.Field]
	if !ok || !readable.readable(wa.form, k.Field) {
		return kintone.NewError("GAIA_IQ11", lang, k.Field)
	}
	if !(p.Type == "RECORD_NUMBER" || (p.Unique && (p.Type == "SINGLE_LINE_TEXT" || p.Type == "NUMBER"))) {
		return kintone.NewError("GAIA_IQ27", lang, k.Field)
	}
	return nil
}

// target finds the record an update item names, as the request has left
// it; missing is kintone's answer when there is none.
func (w *writer) target(wa *writeApp, it RecordUpdate) (*current, error) {
	if it.Key == nil {
		cur := w.records[recordKey{wa.ID, it.ID}]
		if cur == nil || cur.rec == nil {
			return nil, notFound(w.id.Lang, it.ID)
		}
		return cur, notFound(w.id.Lang, it.ID)
	}
	missing := kintone.NewError("GAIA_RE20", w.id.Lang)
	typ := wa.form.props[it.Key.Field].Type
	want := it.Key.Value
	if typ == "RECORD_NUMBER" {
		want = recordNumberOf(want)
	}
	for k, cur := range w.records {
		if k.app != wa.ID || cur.rec == nil {
			continue
		}
		have := cur.rec[it.Key.Field].Value
		switch typ {
		case "RECORD_NUMBER":
			if recordNumberOf(stringValue(cur.rec[it.Key.Field])) == want && want != "" {
				return cur, missing
			}
		case "NUMBER":
			if want != "" && sameValue("NUMBER", have, jsonString(want)) {
				return cur, missing
			}
		default:
			if want != "" && sameValue(typ, have, jsonString(want)) {
				return cur, missing
			}
		}
	}
	return nil, missing
}

// recordNumberOf drops an app-code prefix ("BUD-12" → "12").
func recordNumberOf(s string) string {
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s = s[i+1:]
	}
	if !validID(s) {
		return ""
	}
	return s
}

// load reads, fresh from kintone and in one query, the records of wa a
// request names by id or by update key, unless the request already knows
// them. kintone is asked without the row rule: kgate checks each record
// against the policy itself, and a record it refuses is answered for as a
// missing one.
func (w *writer) load(ctx context.Context, wa *writeApp, ids []string, keys []UpdateKey) error {
	var terms []kql.Expr
	var want []kql.Value
	for _, id := range ids {
		if w.records[recordKey{wa.ID, id}] == nil {
			want = append(want, kql.Value{Kind: kql.Number, Text: id})
		}
	}
	if len(want) > 0 {
		terms = append(terms, &kql.Cond{Field: "$id", Op: kql.In, Values: want})
	}
	byField := map[string][]kql.Value{}
	var order []string
	for _, k := range keys {
		typ := wa.form.props[k.Field].Type
		v := kql.Value{Kind: kql.String, Text: k.Value}
		switch typ {
		case "RECORD_NUMBER":
			n := recordNumberOf(k.Value)
			if n == "" {
				continue
			}
			v = kql.Value{Kind: kql.Number, Text: n}
		case "NUMBER":
			if _, ok := parseDecimal(k.Value); !ok {
				continue
			}
			v = kql.Value{Kind: kql.Number, Text: strings.TrimSpace(k.Value)}
		}
		if k.Value == "" {
			continue
		}
		if byField[k.Field] == nil {
			order = append(order, k.Field)
		}
		byField[k.Field] = append(byField[k.Field], v)
	}
	for _, f := range order {
		terms = append(terms, &kql.Cond{Field: f, Op: kql.In, Values: byField[f]})
	}
	if len(terms) == 0 {
		return nil
	}
	limit := 500
	q := &kql.Query{Where: terms[0], Limit: &limit}
	if len(terms) > 1 {
		q.Where = &kql.Or{Terms: terms}
	}
	resp, err := w.g.client.Do(ctx, kintone.Request{Method: http.MethodGet, API: "records.json", GuestSpace: wa.GuestSpace,
		App: wa.ID, Tokens: wa.Tokens, Params: url.Values{"app": {wa.ID}, "query": {q.String()}}, Lang: w.id.Lang, Fresh: true})
	if err != nil {
		w.g.logUpstream(wa.app, err)
		return upstreamError(err, w.id.Lang, nil)
	}
	var body struct {
		Records []kintone.Record `json:"records"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return upstreamError(errMalformed, w.id.Lang, nil)
	}
	for _, rec := range body.Records {
		k := recordKey{wa.ID, idOf(rec)}
		if w.records[k] == nil {
			w.records[k] = &current{rec: rec, rev: revisionOf(rec)}
		}
	}
	return nil
}

// planDelete checks a delete.
func (w *writer) planDelete(ctx context.Context, ref AppRef, ids []string, revs []int64) (*opPlan, error) {
	lang := w.id.Lang
	ev := w.event("delete")
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	ev.App = wa.Alias
	if len(ids) == 0 || len(ids) > maxWriteRecords {
		return nil, kintone.Invalid(lang).With("ids", kintone.Message(kintone.MsgDeleteRange, lang))
	}
	for i, id := range ids {
		if !validID(id) {
			return nil, kintone.Invalid(lang).With("ids["+strconv.Itoa(i)+"]", invalidIDMessage(lang))
		}
	}
	if _, err := w.allowed(ctx, ev, wa, "delete", ""); err != nil {
		return nil, err
	}
	if err := w.load(ctx, wa, ids, nil); err != nil {
		return nil, err
	}
	pinned := make([]string, len(ids))
	for i, id := range ids {
		cur := w.records[recordKey{wa.ID, id}]
		switch {
		case cur == nil || cur.rec == nil:
			return nil, notFound(lang, id)
		case cur.opaque:
			return nil, opaqueError(lang, id)
		case !w.includes(ctx, wa, "delete", "", cur.rec):
			return nil, w.hidden(ctx, ev, wa, cur.rec, notFound(lang, id))
		case i < len(revs) && revs[i] > 0 && revs[i] != cur.rev:
			return nil, kintone.NewError("GAIA_CO02", lang)
		}
		pinned[i] = strconv.FormatInt(cur.rev, 10)
		cur.rec = nil
	}
	ev.RecordIDs, ev.Records = ids, len(ids)
	p := &opPlan{app: wa, ev: ev}
	p.calls = []upCall{{http.MethodDelete, "records.json", map[string]any{"app": wa.ID, "ids": ids, "revisions": pinned}}}
	p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
		var out map[string]any
		if err := parseReply(results, 0, &out); err != nil {
			return nil, nil, err
		}
		return json.RawMessage(`{}`), nil, nil
	}
	return p, nil
}
