package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// The write endpoints. Parameters are read as kintone reads them, from the
// same JSON a kintone client sends (or from a bulkRequest's payload); a
// value of the wrong JSON kind where kintone wants an object or an array is
// CB_IJ01, a bad scalar CB_VA01 under kintone's key, as the simulator
// answers. Everything else is the gateway's.

var writeEndpoints = map[string]endpoint{
	"POST record.json":           addRecord,
	"PUT record.json":            updateRecord,
	"POST records.json":          addRecords,
	"PUT records.json":           updateRecords,
	"DELETE records.json":        deleteRecords,
	"POST record/comment.json":   addComment,
	"DELETE record/comment.json": deleteComment,
	"POST file.json":             uploadFile,
	"PUT record/status.json":     updateStatus,
	"PUT records/status.json":    updateStatuses,
	"PUT record/assignees.json":  updateAssignees,
	"POST bulkRequest.json":      bulkRequest,
}

func init() {
	for k, ep := range writeEndpoints {
		endpoints[k] = ep
	}
}

// errJSON is kintone's answer for a value of the wrong JSON kind.
func errJSON(lang string) error { return kintone.NewError("CB_IJ01", lang) }

// reader reads one request's (or one bulkRequest payload's) parameters.
type reader struct {
	p     kintone.Params
	space string
	v     *validation
}

func newReader(p kintone.Params, space, lang string) *reader {
	return &reader{p: p, space: space, v: &validation{lang: lang}}
}

func (r *reader) lang() string { return r.v.lang }

func (r *reader) app() gateway.AppRef {
	return gateway.AppRef{ID: r.v.positive(r.p, "app"), Space: r.space}
}

// revision reads an expected revision: absent, null or "" is none; below
// -1 is refused, as kintone refuses it.
func revision(p kintone.Params, key string, v *validation) int64 {
	if x, ok := p[key]; !ok || x == nil || x == "" {
		return gateway.NoRevision
	}
	n, _, ok := p.Int(key)
	switch {
	case !ok:
		v.add(key, kintone.MsgInteger)
	case n < -1:
		v.add(key, kintone.MsgMinMinusOne)
	default:
		return n
	}
	return 0
}

// record reads a record in kintone's write format: code → {"value": …}.
// Entries that are null or carry no value are left out, as kintone ignores
// them.
func record(x any, lang string) (kintone.Record, error) {
	if x == nil {
		return kintone.Record{}, nil
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, errJSON(lang)
	}
	out := make(kintone.Record, len(m))
	for code, e := range m {
		if e == nil {
			continue
		}
		entry, ok := e.(map[string]any)
		if !ok {
			return nil, errJSON(lang)
		}
		v, has := entry["value"]
		if !has {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, errJSON(lang)
		}
		out[code] = kintone.FieldValue{Value: raw}
	}
	return out, nil
}

// items reads an array of objects with at most max items; tooMany is the
// message for more.
func (r *reader) items(key string, max int, tooMany string) ([]kintone.Params, error) {
	x, present := r.p[key]
	if !present || x == nil {
		r.v.add(key, kintone.MsgRequiredParam)
		return nil, r.v.done()
	}
	list, ok := asList(x)
	if !ok {
		return nil, errJSON(r.lang())
	}
	if len(list) > max {
		return nil, kintone.Invalid(r.lang()).With(key, tooMany)
	}
	out := make([]kintone.Params, len(list))
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, errJSON(r.lang())
		}
		out[i] = m
	}
	return out, nil
}

// asList reads an array as kintone's query-string forms also give it: an
// empty object is an empty array, a scalar an array of one.
func asList(x any) ([]any, bool) {
	switch v := x.(type) {
	case []any:
		return v, true
	case map[string]any:
		return []any{}, len(v) == 0
	}
	return []any{x}, true
}

// recordUpdate reads one update item: {id | updateKey, revision, record}.
func (r *reader) recordUpdate(p kintone.Params, prefix string) (gateway.RecordUpdate, error) {
	var u gateway.RecordUpdate
	key := func(k string) string { return prefix + k }
	if uk, ok := p["updateKey"]; ok && uk != nil {
		m, ok := uk.(map[string]any)
		if !ok {
			return u, errJSON(r.lang())
		}
		field, _ := kintone.Params(m).Text("field")
		value, _ := kintone.Params(m).Text("value")
		u.Key = &gateway.UpdateKey{Field: field, Value: value}
		if id, ok := p["id"]; ok && id != nil {
			r.v.add(key("id"), kintone.MsgIDAndKey)
		}
	} else {
		u.ID = idParam(p, key("id"), "id", r.v)
	}
	u.Revision = revision(p, "revision", r.v)
	if r.v.err != nil && prefix != "" {
		r.v.err = prefixed(r.v.err, prefix, "revision")
	}
	rec, err := record(p["record"], r.lang())
	if err != nil {
		return u, err
	}
	u.Record = rec
	return u, r.v.done()
}

// idParam reads a required record id under name, reporting it under key.
func idParam(p kintone.Params, key, name string, v *validation) string {
	n, present, ok := p.Int(name)
	switch {
	case !present || p[name] == "":
		v.add(key, kintone.MsgRequiredParam)
	case !ok:
		v.add(key, kintone.MsgInteger)
	case n < 1:
		v.add(key, kintone.MsgMin, 1)
	default:
		return strconv.FormatInt(n, 10)
	}
	return ""
}

// prefixed moves a validation entry under key into the item's prefix.
func prefixed(e *kintone.Error, prefix, key string) *kintone.Error {
	if m, ok := e.Errors[key]; ok {
		delete(e.Errors, key)
		e.Errors[prefix+key] = m
	}
	return e
}

func addRecordRequest(p kintone.Params, space, lang string) (*gateway.AddRecordRequest, error) {
	r := newReader(p, space, lang)
	app := r.app()
	rec, err := record(p["record"], lang)
	if err != nil {
		return nil, err
	}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	return &gateway.AddRecordRequest{App: app, Record: rec}, nil
}

func addRecordsRequest(p kintone.Params, space, lang string) (*gateway.AddRecordsRequest, error) {
	r := newReader(p, space, lang)
	app := r.app()
	if err := r.v.done(); err != nil {
		return nil, err
	}
	list, err := r.items("records", 100, kintone.Message(kintone.MsgMaxAdd, lang))
	if err != nil {
		return nil, err
	}
	req := &gateway.AddRecordsRequest{App: app, Records: make([]kintone.Record, len(list))}
	for i, item := range list {
		if req.Records[i], err = record(map[string]any(item), lang); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func updateRecordRequest(p kintone.Params, space, lang string) (*gateway.UpdateRecordRequest, error) {
	r := newReader(p, space, lang)
	app := r.app()
	if err := r.v.done(); err != nil {
		return nil, err
	}
	u, err := r.recordUpdate(p, "")
	if err != nil {
		return nil, err
	}
	return &gateway.UpdateRecordRequest{App: app, RecordUpdate: u}, nil
}

func updateRecordsRequest(p kintone.Params, space, lang string) (*gateway.UpdateRecordsRequest, error) {
	r := newReader(p, space, lang)
	req := &gateway.UpdateRecordsRequest{App: r.app(), Upsert: r.v.boolean(p, "upsert")}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	list, err := r.items("records", 100, kintone.Message(kintone.MsgMaxUpdate, lang))
	if err != nil {
		return nil, err
	}
	for i, item := range list {
		u, err := r.recordUpdate(item, "records["+strconv.Itoa(i)+"].")
		if err != nil {
			return nil, err
		}
		req.Records = append(req.Records, u)
	}
	return req, nil
}

func deleteRecordsRequest(p kintone.Params, space, lang string) (*gateway.DeleteRecordsRequest, error) {
	r := newReader(p, space, lang)
	req := &gateway.DeleteRecordsRequest{App: r.app()}
	ids, present, ok := p.Strings("ids")
	switch {
	case !present:
		r.v.add("ids", kintone.MsgRequiredParam)
	case !ok:
		return nil, errJSON(lang)
	case len(ids) == 0 || len(ids) > 100:
		r.v.add("ids", kintone.MsgDeleteRange)
	}
	for i, id := range ids {
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil || n < 1 {
			r.v.add("ids["+strconv.Itoa(i)+"]", kintone.MsgInteger)
			continue
		}
		req.IDs = append(req.IDs, strconv.FormatInt(n, 10))
	}
	if x, ok := p["revisions"]; ok && x != nil {
		// kintone takes null (or -1) for "any revision" at any place:
		// the official client's deleteAllRecords sends a null for each.
		items, isList := x.([]any)
		if m, isMap := x.(map[string]any); !isList && !(isMap && len(m) == 0) {
			return nil, errJSON(lang)
		}
		for i, item := range items {
			key := "revisions[" + strconv.Itoa(i) + "]"
			req.Revisions = append(req.Revisions, revision(kintone.Params{key: item}, key, r.v))
		}
	}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	return req, nil
}

func statusUpdate(p kintone.Params, prefix string, v *validation) gateway.StatusUpdate {
	s := gateway.StatusUpdate{ID: idParam(p, prefix+"id", "id", v)}
	s.Action, _ = p.Text("action")
	if s.Action == "" {
		v.add(prefix+"action", kintone.MsgRequiredParam)
	}
	s.Assignee, _ = p.Text("assignee")
	s.Revision = revision(p, "revision", v)
	if v.err != nil && prefix != "" {
		v.err = prefixed(v.err, prefix, "revision")
	}
	return s
}

func updateStatusRequest(p kintone.Params, space, lang string) (*gateway.UpdateStatusRequest, error) {
	r := newReader(p, space, lang)
	req := &gateway.UpdateStatusRequest{App: r.app(), StatusUpdate: statusUpdate(p, "", r.v)}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	return req, nil
}

func updateStatusesRequest(p kintone.Params, space, lang string) (*gateway.UpdateStatusesRequest, error) {
	r := newReader(p, space, lang)
	req := &gateway.UpdateStatusesRequest{App: r.app()}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	list, err := r.items("records", 100, kintone.Message(kintone.MsgMaxUpdate, lang))
	if err != nil {
		return nil, err
	}
	for i, item := range list {
		req.Records = append(req.Records, statusUpdate(item, "records["+strconv.Itoa(i)+"].", r.v))
	}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	return req, nil
}

func updateAssigneesRequest(p kintone.Params, space, lang string) (*gateway.UpdateAssigneesRequest, error) {
	r := newReader(p, space, lang)
	req := &gateway.UpdateAssigneesRequest{App: r.app(), ID: idParam(p, "id", "id", r.v), Revision: revision(p, "revision", r.v)}
	x, present := p["assignees"]
	switch list, isList := asList(x); {
	case !present || x == nil:
		r.v.add("assignees", kintone.MsgRequiredParam)
	case !isList:
		return nil, errJSON(lang)
	default:
		req.Assignees = make([]string, 0, len(list))
		for _, it := range list {
			s, ok := kintone.Params{"v": it}.Text("v")
			if !ok {
				return nil, errJSON(lang)
			}
			req.Assignees = append(req.Assignees, s)
		}
	}
	if err := r.v.done(); err != nil {
		return nil, err
	}
	return req, nil
}

func addRecord(c *call) error {
	req, err := addRecordRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	w, err := c.h.GW.AddRecord(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"id": w.ID, "revision": w.Revision})
}

func addRecords(c *call) error {
	req, err := addRecordsRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	ws, err := c.h.GW.AddRecords(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	ids, revs := make([]string, len(ws)), make([]string, len(ws))
	for i, w := range ws {
		ids[i], revs[i] = w.ID, w.Revision
	}
	return c.reply(map[string][]string{"ids": ids, "revisions": revs})
}

func updateRecord(c *call) error {
	req, err := updateRecordRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	w, err := c.h.GW.UpdateRecord(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"revision": w.Revision})
}

func updateRecords(c *call) error {
	req, err := updateRecordsRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	ws, err := c.h.GW.UpdateRecords(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]any{"records": ws})
}

func deleteRecords(c *call) error {
	req, err := deleteRecordsRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	if err := c.h.GW.DeleteRecords(c.r.Context(), c.id, *req); err != nil {
		return err
	}
	return c.replyJSON([]byte(`{}`))
}

func updateStatus(c *call) error {
	req, err := updateStatusRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	w, err := c.h.GW.UpdateStatus(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"revision": w.Revision})
}

func updateStatuses(c *call) error {
	req, err := updateStatusesRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	ws, err := c.h.GW.UpdateStatuses(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]any{"records": ws})
}

func updateAssignees(c *call) error {
	req, err := updateAssigneesRequest(c.params, c.space, c.id.Lang)
	if err != nil {
		return err
	}
	w, err := c.h.GW.UpdateAssignees(c.r.Context(), c.id, *req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"revision": w.Revision})
}

func addComment(c *call) error {
	v := c.validate()
	req := gateway.AddCommentRequest{App: gateway.AppRef{ID: v.positive(c.params, "app"), Space: c.space},
		Record: v.positive(c.params, "record")}
	x, present := c.params["comment"]
	cm, isObject := x.(map[string]any)
	switch {
	case !present || x == nil:
		v.add("comment", kintone.MsgRequiredParam)
	case !isObject:
		return errJSON(c.id.Lang)
	default:
		text, ok := kintone.Params(cm).Text("text")
		if !ok && cm["text"] != nil {
			return errJSON(c.id.Lang)
		}
		req.Text = text
		if m, ok := cm["mentions"]; ok && m != nil {
			list, ok := m.([]any)
			if !ok {
				return errJSON(c.id.Lang)
			}
			for _, it := range list {
				mm, ok := it.(map[string]any)
				if !ok {
					return errJSON(c.id.Lang)
				}
				code, _ := kintone.Params(mm).Text("code")
				typ, _ := kintone.Params(mm).Text("type")
				req.Mentions = append(req.Mentions, gateway.Mention{Code: code, Type: typ})
			}
		}
	}
	if err := v.done(); err != nil {
		return err
	}
	id, err := c.h.GW.AddComment(c.r.Context(), c.id, req)
	if err != nil {
		return err
	}
	return c.reply(map[string]string{"id": id})
}

func deleteComment(c *call) error {
	v := c.validate()
	req := gateway.DeleteCommentRequest{App: gateway.AppRef{ID: v.positive(c.params, "app"), Space: c.space},
		Record: v.positive(c.params, "record"), Comment: v.positive(c.params, "comment")}
	if err := v.done(); err != nil {
		return err
	}
	if err := c.h.GW.DeleteComment(c.r.Context(), c.id, req); err != nil {
		return err
	}
	return c.replyJSON([]byte(`{}`))
}

func (h *Handler) maxUpload() int64 {
	if h.MaxUpload > 0 {
		return h.MaxUpload
	}
	return 100 << 20
}

// uploadFile serves POST file.json: one multipart part named "file". As
// in kintone no app is needed; kgate also takes one as "app" in the query
// string or as a form field before the file, to bind the token to it. The
// answer's fileKey is kgate's upload token.
func uploadFile(c *call) error {
	lang := c.id.Lang
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return kintone.NewError("CB_IL02", lang)
	}
	body := &limited{r: http.MaxBytesReader(c.w, c.r.Body, c.h.maxUpload())}
	c.r.Body = io.NopCloser(body)
	mr, err := c.r.MultipartReader()
	if err != nil {
		return kintone.NewError("CB_IL02", lang)
	}
	app := c.r.URL.Query().Get("app")
	for {
		part, err := mr.NextPart()
		if err != nil {
			return body.refusal(lang)
		}
		switch part.FormName() {
		case "app":
			b, _ := io.ReadAll(io.LimitReader(part, 32))
			app = strings.TrimSpace(string(b))
			continue
		case "file":
		default:
			continue
		}
		if part.FileName() == "" {
			return kintone.NewError("CB_IL02", lang)
		}
		ref := gateway.AppRef{Space: c.space}
		if app != "" {
			v := c.validate()
			ref.ID = v.positive(kintone.Params{"app": app}, "app")
			if err := v.done(); err != nil {
				return err
			}
		}
		tok, err := c.h.GW.UploadFile(c.r.Context(), c.id, gateway.UploadRequest{App: ref, Name: part.FileName(),
			ContentType: part.Header.Get("Content-Type"), Body: part})
		if body.tooLarge {
			return body.refusal(lang)
		}
		if err != nil {
			return err
		}
		return c.reply(map[string]string{"fileKey": tok})
	}
}

// limited notes whether the request body went over its limit.
type limited struct {
	r        io.Reader
	tooLarge bool
}

func (l *limited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		l.tooLarge = true
	}
	return n, err
}

func (l *limited) refusal(lang string) error {
	e := kintone.NewError("CB_IL02", lang)
	if l.tooLarge {
		e.Status = http.StatusRequestEntityTooLarge
	}
	return e
}

// bulkOps are the requests a bulkRequest may hold, as kintone allows them.
var bulkOps = map[string]func(p kintone.Params, space, lang string) (gateway.WriteOp, error){
	"POST record.json":          asOp(addRecordRequest),
	"PUT record.json":           asOp(updateRecordRequest),
	"POST records.json":         asOp(addRecordsRequest),
	"PUT records.json":          asOp(updateRecordsRequest),
	"DELETE records.json":       asOp(deleteRecordsRequest),
	"PUT record/status.json":    asOp(updateStatusRequest),
	"PUT records/status.json":   asOp(updateStatusesRequest),
	"PUT record/assignees.json": asOp(updateAssigneesRequest),
}

func asOp[T gateway.WriteOp](read func(kintone.Params, string, string) (T, error)) func(kintone.Params, string, string) (gateway.WriteOp, error) {
	return func(p kintone.Params, space, lang string) (gateway.WriteOp, error) {
		op, err := read(p, space, lang)
		if err != nil {
			return nil, err
		}
		return op, nil
	}
}

// maxBulkRequests is kintone's cap on a bulkRequest.
const maxBulkRequests = 20

func bulkRequest(c *call) error {
	lang := c.id.Lang
	r := newReader(c.params, c.space, lang)
	list, err := r.items("requests", maxBulkRequests, kintone.Message(kintone.MsgMaxItems, lang, maxBulkRequests))
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return kintone.Invalid(lang).With("requests", kintone.Message(kintone.MsgRequiredParam, lang))
	}
	ops := make([]gateway.WriteOp, len(list))
	for i, item := range list {
		if ops[i], err = bulkOp(item, i, lang); err != nil {
			return c.bulkFailure(&kintone.BulkError{Index: i, Err: asKintone(err, lang)}, len(list))
		}
	}
	results, err := c.h.GW.Bulk(c.r.Context(), c.id, c.space, ops)
	var be *kintone.BulkError
	if errors.As(err, &be) {
		return c.bulkFailure(be, len(list))
	}
	if err != nil {
		return err
	}
	return c.reply(map[string]any{"results": results})
}

// bulkOp reads request i of a bulkRequest.
func bulkOp(item kintone.Params, i int, lang string) (gateway.WriteOp, error) {
	method, _ := item.Text("method")
	path, _ := item.Text("api")
	resource, space, ok := Match(path)
	read := bulkOps[method+" "+resource]
	if !ok || read == nil {
		return nil, kintone.Invalid(lang).With("requests["+strconv.Itoa(i)+"].api",
			kintone.Message(kintone.MsgEnum, lang, "record, records, record/status, records/status, record/assignees"))
	}
	payload, ok := item["payload"].(map[string]any)
	if !ok {
		return nil, errJSON(lang)
	}
	return read(payload, space, lang)
}

func asKintone(err error, lang string) *kintone.Error {
	var ke *kintone.Error
	if errors.As(err, &ke) {
		return ke
	}
	return kintone.NewError("CB_IL02", lang)
}

// bulkFailure writes kintone's answer to a failed bulkRequest: the failing
// request's error at its index, every other slot empty.
func (c *call) bulkFailure(be *kintone.BulkError, n int) error {
	body, err := be.Body(n)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(be.Err.Status)
	_, err = c.w.Write(body)
	return err
}
