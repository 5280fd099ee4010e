package kintonesim

import (
	"encoding/json"
	"strconv"

	"github.com/kgate/kgate/internal/kintone"
)

// endpoint is one method of one API.
type endpoint struct {
	fn       func(*call) (any, *kintone.Error)
	write    bool // runs under the exclusive lock with rollback
	preview  bool // also served under preview/
	inBulk   bool // may run inside bulkRequest
	upload   bool
	download bool
	bulk     bool
}

var endpoints map[string]map[string]*endpoint

func init() {
	endpoints = map[string]map[string]*endpoint{
		"record": {
			"GET":  {fn: getRecord},
			"POST": {fn: postRecord, write: true, inBulk: true},
			"PUT":  {fn: putRecord, write: true, inBulk: true},
		},
		"records": {
			"GET":    {fn: getRecords},
			"POST":   {fn: postRecords, write: true, inBulk: true},
			"PUT":    {fn: putRecords, write: true, inBulk: true},
			"DELETE": {fn: deleteRecords, write: true, inBulk: true},
		},
		"records/cursor": {
			"POST":   {fn: postCursor},
			"GET":    {fn: getCursor},
			"DELETE": {fn: deleteCursor},
		},
		"app":              {"GET": {fn: getApp}},
		"apps":             {"GET": {fn: getApps}},
		"app/form/fields":  {"GET": {fn: getFields, preview: true}},
		"app/form/layout":  {"GET": {fn: getLayout, preview: true}},
		"app/status":       {"GET": {fn: getStatus, preview: true}},
		"app/settings":     {"GET": {fn: getSettings, preview: true}},
		"app/views":        {"GET": {fn: getViews, preview: true}},
		"file":             {"POST": {upload: true}, "GET": {download: true}},
		"record/comments":  {"GET": {fn: getComments}},
		"record/comment":   {"POST": {fn: postComment, write: true}, "DELETE": {fn: deleteComment, write: true}},
		"record/status":    {"PUT": {fn: putStatus, write: true, inBulk: true}},
		"records/status":   {"PUT": {fn: putStatuses, write: true, inBulk: true}},
		"record/assignees": {"PUT": {fn: putAssignees, write: true, inBulk: true}},
		"bulkRequest":      {"POST": {bulk: true, write: true}},
	}
}

func lookupEndpoint(api, method string, preview bool) *endpoint {
	ep := endpoints[api][method]
	if ep == nil || (preview && !ep.preview) {
		return nil
	}
	return ep
}

// maxBulkRequests is how many requests one bulkRequest may hold.
const maxBulkRequests = 20

// bulk serves bulkRequest.json: the requests run in order under one lock
// and one undo log; the first failure rolls everything back and answers
// with that request's status and {results:[{},…,{error},…,{}]}, the failing
// index holding kintone's error body and every other slot empty, which is
// how kintone reports it (and how the official client finds the index).
func (s *Server) bulk(c *call) (int, []byte, string) {
	ve := &verrs{lang: c.lang}
	list, ok := c.p.list("requests")
	switch {
	case !ok && c.p["requests"] != nil:
		return errorBody(errJSON(c.lang))
	case !ok || len(list) == 0:
		ve.add("requests", kintone.MsgRequiredParam)
		return errorBody(ve.err)
	case len(list) > maxBulkRequests:
		ve.add("requests", kintone.MsgMaxItems, maxBulkRequests)
		return errorBody(ve.err)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.begin()
	results := make([]any, len(list))
	for i, x := range list {
		v, err := s.bulkOne(c, i, x)
		if err != nil {
			s.st.rollback()
			for j := range results {
				results[j] = map[string]any{}
			}
			results[i] = err
			b, _ := json.Marshal(map[string]any{"results": results})
			return err.Status, b, "application/json; charset=utf-8"
		}
		results[i] = v
	}
	s.sendHooks(s.st.commit())
	s.persist.changed()
	return jsonBodyOf(map[string]any{"results": results})
}

// bulkOne runs request i of a bulkRequest.
func (s *Server) bulkOne(c *call, i int, x any) (any, *kintone.Error) {
	req, ok := x.(map[string]any)
	if !ok {
		return nil, errJSON(c.lang)
	}
	method, _ := req["method"].(string)
	path, _ := req["api"].(string)
	key := "requests[" + strconv.Itoa(i) + "]"
	space, api, preview, ok := parsePath(path)
	ep := lookupEndpoint(api, method, preview)
	if !ok || ep == nil || !ep.inBulk {
		// GET and the other APIs cannot run in a bulkRequest; kintone's
		// exact error is unverified.
		return nil, kintone.Invalid(c.lang).With(key+".api", kintone.Message(kintone.MsgEnum, c.lang, "record, records, record/status, records/status, record/assignees"))
	}
	if c.space != 0 && space != c.space {
		return nil, kintone.NewError("CB_NO02", c.lang) // every request stays in the guest space
	}
	payload, ok := req["payload"].(map[string]any)
	if !ok {
		return nil, errJSON(c.lang)
	}
	inner := &call{s: s, st: s.st, lang: c.lang, who: c.who, space: space, method: method, api: api, p: payload, now: c.now}
	s.st.api = api
	return ep.fn(inner)
}
