package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// cursorLife is kintone's: a cursor expires 10 minutes after it was made.
const cursorLife = 10 * time.Minute

// cursorTable remembers which cursor belongs to whom. kintone's cursor
// calls take only the cursor id, and kintone allows 10 live cursors per
// domain, so kgate hands out its own ids, serves a cursor only to the
// identity that made it, and caps cursors per identity.
type cursorTable struct {
	mu       sync.Mutex
	perOwner int
	byID     map[string]*cursor
}

type cursor struct {
	owner    string
	app      *app
	upstream string // kintone's cursor id; "" when the row rule allows nothing
	fields   []string
	size     int // records per read: what each read is charged
	expires  time.Time
}

func newCursorTable(perOwner int) *cursorTable {
	return &cursorTable{perOwner: perOwner, byID: map[string]*cursor{}}
}

func ownerKey(id *identity.Identity) string { return id.Issuer + "\x00" + id.Subject }

// reserve makes room for one more cursor of owner, or reports that owner
// has too many.
func (t *cursorTable) reserve(owner string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, c := range t.byID {
		if now.After(c.expires) {
			delete(t.byID, k)
		} else if c.owner == owner {
			n++
		}
	}
	if n >= t.perOwner {
		return "", false
	}
	b := make([]byte, 16)
	rand.Read(b)
	key := hex.EncodeToString(b)
	t.byID[key] = &cursor{owner: owner, expires: now.Add(cursorLife)} // placeholder until kintone answers
	return key, true
}

func (t *cursorTable) set(key string, c *cursor) {
	t.mu.Lock()
	t.byID[key] = c
	t.mu.Unlock()
}

// get returns the cursor when owner made it and it is alive.
func (t *cursorTable) get(key, owner string, now time.Time) *cursor {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.byID[key]
	if c == nil || c.owner != owner || c.app == nil || now.After(c.expires) {
		return nil
	}
	return c
}

func (t *cursorTable) drop(key string) {
	t.mu.Lock()
	delete(t.byID, key)
	t.mu.Unlock()
}

// CursorRequest is POST records/cursor.json.
type CursorRequest struct {
	App    AppRef
	Fields []string
	Query  string
	Size   int // 0 = kintone's default of 100
}

// CreateCursor opens a cursor over the records the member may see and
// returns kgate's cursor id and the number of those records.
func (g *Gateway) CreateCursor(ctx context.Context, id *identity.Identity, req CursorRequest) (string, int64, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	key, total, err := g.createCursor(ctx, id, req, &ev)
	g.finish(ctx, id, &ev, start, err)
	return key, total, err
}

func (g *Gateway) createCursor(ctx context.Context, id *identity.Identity, req CursorRequest, ev *audit.Event) (string, int64, error) {
	a, err := g.resolve(id, req.App)
	if err != nil {
		return "", 0, err
	}
	ev.App = a.Alias
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, a)
	if err != nil {
		return "", 0, err
	}
	size, err := cursorSize(req.Size, id.Lang)
	if err != nil {
		return "", 0, err
	}
	q, err := g.userQuery(ctx, p, req.Query)
	if err != nil {
		return "", 0, err
	}
	if q.Limit != nil || q.Offset != nil {
		return "", 0, kintone.Invalid(id.Lang).With("query", cursorLimitMessage(id.Lang))
	}
	composed, err := p.compose(q)
	if err != nil {
		return "", 0, err
	}
	key, ok := g.cursors.reserve(ownerKey(id), g.now())
	if !ok {
		return "", 0, kintone.NewError("GAIA_TM12", id.Lang)
	}
	c := &cursor{owner: ownerKey(id), app: a, fields: req.Fields, size: size, expires: g.now().Add(cursorLife)}
	if p.never {
		g.cursors.set(key, c)
		return key, 0, nil
	}
	body := map[string]any{"app": a.ID, "query": composed.String(), "size": size}
	if f := p.upstreamFields(req.Fields); f != nil {
		body["fields"] = f
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "POST", API: "records/cursor.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Body: body, Lang: id.Lang})
	if err != nil {
		g.cursors.drop(key)
		ev.UpstreamStatus = statusOf(err)
		g.logUpstream(a, err)
		return "", 0, upstreamError(err, id.Lang, nil)
	}
	ev.UpstreamStatus = resp.Status
	var out struct {
		ID         string          `json:"id"`
		TotalCount json.RawMessage `json:"totalCount"`
	}
	total, okCount := int64(0), false
	if json.Unmarshal(resp.Body, &out) == nil && out.ID != "" {
		total, okCount = countValue(jsontext.Value(out.TotalCount))
	}
	if !okCount {
		g.cursors.drop(key)
		return "", 0, upstreamError(errMalformed, id.Lang, nil)
	}
	c.upstream = out.ID
	g.cursors.set(key, c)
	return key, total, nil
}

// cursorSize is the page size of a cursor: kintone's own range (1–500,
// 100 when absent), enforced as kintone does and never cut — the member's
// rate bounds how fast the pages come, not how large they are.
func cursorSize(size int, lang string) (int, error) {
	switch {
	case size == 0:
		return kintoneDefaultLimit, nil
	case size < 1 || size > 500:
		msg := "must be between 1 and 500."
		if lang == "ja" {
			msg = "1から500までの数値を指定してください。"
		}
		return 0, kintone.Invalid(lang).With("size", msg)
	}
	return size, nil
}

func cursorLimitMessage(lang string) string {
	if lang == "ja" {
		return "カーソルのクエリには limit と offset を指定できません。"
	}
	return "limit and offset cannot be used in a cursor's query."
}

// GetCursor returns the cursor's next records, checked against the policy
// as it is now.
func (g *Gateway) GetCursor(ctx context.Context, id *identity.Identity, key string) (*Page, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	page, err := g.getCursor(ctx, id, key, &ev)
	if page != nil {
		ev.Records = len(page.Records)
	}
	g.finish(ctx, id, &ev, start, err)
	return page, err
}

func (g *Gateway) getCursor(ctx context.Context, id *identity.Identity, key string, ev *audit.Event) (*Page, error) {
	c := g.cursors.get(key, ownerKey(id), g.now())
	if c == nil {
		return nil, kintone.NewError("GAIA_CU01", id.Lang)
	}
	ev.App = c.app.Alias
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, c.app)
	if err != nil {
		return nil, err
	}
	if c.upstream == "" || p.never {
		g.dropCursor(ctx, key, c)
		return &Page{Records: []json.RawMessage{}}, nil
	}
	grant, err := g.takeRead(ctx, id, c.app, p.dec, c.size)
	if err != nil {
		return nil, err
	}
	page, err := g.readCursor(ctx, p, c, ev)
	returnUnread(grant, page)
	if err == nil && !page.Next {
		g.cursors.drop(key) // kintone frees a cursor once it is read to the end
	}
	return page, err
}

func (g *Gateway) readCursor(ctx context.Context, p *readPlan, c *cursor, ev *audit.Event) (*Page, error) {
	id := p.id
	// Fresh: each GET moves kintone's cursor on, so the same request must
	// never be answered from the read cache (or merged with another).
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "records/cursor.json", GuestSpace: c.app.GuestSpace,
		App: c.app.ID, Tokens: c.app.Tokens, Params: url.Values{"id": {c.upstream}}, Lang: id.Lang, Fresh: true})
	if err != nil {
		ev.UpstreamStatus = statusOf(err)
		g.logUpstream(c.app, err)
		return nil, upstreamError(err, id.Lang, nil)
	}
	ev.UpstreamStatus = resp.Status
	return g.process(p, g.filter(ctx, p, c.fields), resp.Body)
}

// DeleteCursor closes a cursor of the member's.
func (g *Gateway) DeleteCursor(ctx context.Context, id *identity.Identity, key string) error {
	c := g.cursors.get(key, ownerKey(id), g.now())
	if c == nil {
		return kintone.NewError("GAIA_CU01", id.Lang)
	}
	return g.dropCursor(ctx, key, c)
}

func (g *Gateway) dropCursor(ctx context.Context, key string, c *cursor) error {
	g.cursors.drop(key)
	if c.upstream == "" {
		return nil
	}
	_, err := g.client.Do(ctx, kintone.Request{Method: "DELETE", API: "records/cursor.json", GuestSpace: c.app.GuestSpace,
		App: c.app.ID, Tokens: c.app.Tokens, Params: url.Values{"id": {c.upstream}}})
	if err != nil {
		return upstreamError(err, "", nil)
	}
	return nil
}
