package kintonesim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/kgate/kgate/internal/kintone"
)

// fieldsParam reads fields[] (nil when absent: every field).
func (c *call) fieldsParam(a *app) (*projection, *kintone.Error) {
	list, ok := c.p.list("fields")
	if !ok {
		if c.p["fields"] != nil {
			return nil, errJSON(c.lang)
		}
		return nil, nil
	}
	codes := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, errJSON(c.lang)
		}
		codes = append(codes, s)
	}
	return project(a, codes), nil
}

// GET records.json
func getRecords(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	proj, err := c.fieldsParam(a)
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	count, _ := c.p.boolean("totalCount", ve)
	if ve.failed() {
		return nil, ve.err
	}
	qs, _ := c.p.text("query")
	q, err := c.parseQuery(a, qs)
	if err != nil {
		return nil, err
	}
	page, total := c.selectRecords(a, q, count)
	return encodePage(a, page, proj, count, total), nil
}

// encodePage writes {"records":[…],"totalCount":…} from the stored
// encodings, without decoding or re-encoding any record.
func encodePage(a *app, page []*record, proj *projection, count bool, total int) []byte {
	size := 40
	for _, r := range page {
		size += len(r.buf) + 3
	}
	b := make([]byte, 0, size)
	b = append(b, `{"records":[`...)
	for i, r := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, a, r, proj)
	}
	b = append(b, `],"totalCount":`...)
	if count {
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

// Cursor limits: kintone allows 10 live cursors per domain, each living 10
// minutes, with pages of 1–500 records (100 by default).
const (
	maxCursors        = 10
	cursorLife        = 10 * time.Minute
	defaultCursorSize = 100
)

type cursors struct {
	mu sync.Mutex
	m  map[string]*cursor
}

// cursor fixes which records match at creation; each page reads their
// values as they are when it is fetched.
type cursor struct {
	app     *app
	space   int64
	proj    *projection
	ids     []int64
	pos     int
	size    int
	expires time.Time
}

// live drops expired cursors and returns how many remain; the caller holds
// mu.
func (cs *cursors) live(now time.Time) int {
	for id, cu := range cs.m {
		if !now.Before(cu.expires) {
			delete(cs.m, id)
		}
	}
	return len(cs.m)
}

// POST records/cursor.json
func postCursor(c *call) (any, *kintone.Error) {
	a, err := c.openApp("app", rView)
	if err != nil {
		return nil, err
	}
	proj, err := c.fieldsParam(a)
	if err != nil {
		return nil, err
	}
	ve := &verrs{lang: c.lang}
	size := int64(defaultCursorSize)
	if n, ok := c.p.integer("size", ve); ok {
		size = n
		if n < 1 || n > maxReadLimit {
			ve.add("size", kintone.MsgMaxItems, maxReadLimit)
		}
	}
	if ve.failed() {
		return nil, ve.err
	}
	qs, _ := c.p.text("query")
	q, err := c.parseQuery(a, qs)
	if err != nil {
		return nil, err
	}
	if q.Limit != nil || q.Offset != nil {
		// kintone refuses limit and offset in a cursor's query (the
		// message is unverified).
		return nil, kintone.Invalid(c.lang).With("query", kintone.Message(kintone.MsgQuery, c.lang))
	}
	all := *q
	max := len(c.st.data[a.id].sorted)
	all.Limit, all.Offset = &max, nil
	hits, total := c.selectRecords(a, &all, true)
	ids := make([]int64, len(hits))
	for i, r := range hits {
		ids[i] = r.id
	}
	cs := &c.s.cursors
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.live(c.now) >= maxCursors {
		return nil, kintone.NewError("GAIA_TM12", c.lang)
	}
	id := newCursorID()
	cs.m[id] = &cursor{app: a, space: c.space, proj: proj, ids: ids, size: int(size), expires: c.now.Add(cursorLife)}
	return map[string]string{"id": id, "totalCount": strconv.Itoa(total)}, nil
}

// cursorParam finds the cursor named by id, or GAIA_CU01.
func (c *call) cursorParam() (string, *cursor, *kintone.Error) {
	ve := &verrs{lang: c.lang}
	id, ok := c.p.text("id")
	if !ok || id == "" {
		ve.add("id", kintone.MsgRequiredParam)
		return "", nil, ve.err
	}
	cs := &c.s.cursors
	cs.live(c.now)
	cu := cs.m[id]
	if cu == nil || cu.space != c.space {
		return "", nil, kintone.NewError("GAIA_CU01", c.lang)
	}
	return id, cu, nil
}

// GET records/cursor.json
func getCursor(c *call) (any, *kintone.Error) {
	cs := &c.s.cursors
	cs.mu.Lock()
	defer cs.mu.Unlock()
	id, cu, err := c.cursorParam()
	if err != nil {
		return nil, err
	}
	if _, err := c.appByID(cu.app.id, rView); err != nil {
		return nil, err
	}
	end := min(cu.pos+cu.size, len(cu.ids))
	recs := c.st.data[cu.app.id].recs
	page := make([]*record, 0, end-cu.pos)
	for _, rid := range cu.ids[cu.pos:end] {
		if r := recs[rid]; r != nil { // deleted since: skipped
			page = append(page, r)
		}
	}
	cu.pos = end
	next := cu.pos < len(cu.ids)
	if next {
		// Reading extends the cursor's life; kintone's docs say the expiry
		// changes on a read without saying how (unverified).
		cu.expires = c.now.Add(cursorLife)
	} else {
		delete(cs.m, id) // freed once every record has been read
	}
	b := encodePage(cu.app, page, cu.proj, false, 0)
	b = b[:len(b)-len(`,"totalCount":null}`)]
	b = append(b, `,"next":`...)
	b = strconv.AppendBool(b, next)
	return append(b, '}'), nil
}

// DELETE records/cursor.json
func deleteCursor(c *call) (any, *kintone.Error) {
	cs := &c.s.cursors
	cs.mu.Lock()
	defer cs.mu.Unlock()
	id, cu, err := c.cursorParam()
	if err != nil {
		return nil, err
	}
	if _, err := c.appByID(cu.app.id, rView); err != nil {
		return nil, err
	}
	delete(cs.m, id)
	return map[string]any{}, nil
}

func newCursorID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Select evaluates query over app's records as kintone would for the user
// with login name user ("" for an API-token caller, who is no user for
// LOGINUSER()), and returns the page of records with every field. Query
// errors are *kintone.Error. It reads only; tests compare kgate's answers
// with it.
func (s *Server) Select(app int64, user, query string) ([]kintone.Record, error) {
	s.st.mu.RLock()
	defer s.st.mu.RUnlock()
	c := &call{s: s, st: s.st, lang: "en", who: &caller{}, now: s.now()}
	if user != "" {
		u := s.st.users[user]
		if u == nil {
			return nil, kintone.NewError("GAIA_IL26", "en", user)
		}
		c.who.user = u
	}
	a := s.st.apps[app]
	if a == nil {
		return nil, kintone.NewError("GAIA_AP01", "en", app)
	}
	q, err := c.parseQuery(a, query)
	if err != nil {
		return nil, err
	}
	page, _ := c.selectRecords(a, q, false)
	out := make([]kintone.Record, len(page))
	for i, r := range page {
		out[i] = toWire(a, r)
	}
	return out, nil
}

// toWire converts a stored record to the wire type.
func toWire(a *app, r *record) kintone.Record {
	var rec kintone.Record
	json.Unmarshal(appendRecord(nil, a, r, nil), &rec)
	return rec
}
