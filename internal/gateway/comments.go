package gateway

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// CommentsRequest is GET record/comments.json.
type CommentsRequest struct {
	App    AppRef
	Record string
	CommentsPage
}

// CommentsPage is which of a record's comments to read.
type CommentsPage struct {
	Order  string // "asc" or "desc" (default)
	Offset int
	Limit  int // 0–10, default 10
	// Priority of the comments' read when they come with a record page
	// (RecordPage): a page that stands without them marks them low.
	Priority kintone.Priority
}

// Comment is one comment of a record, as kintone returns it.
type Comment struct {
	ID        string          `json:"id"`
	Text      string          `json:"text"`
	CreatedAt string          `json:"createdAt"`
	Creator   json.RawMessage `json:"creator"`
	Mentions  json.RawMessage `json:"mentions"`
}

// Comments is a page of comments.
type Comments struct {
	Comments []Comment `json:"comments"`
	Older    bool      `json:"older"`
	Newer    bool      `json:"newer"`
}

// ListComments returns a record's comments when the record satisfies the
// row rules of both read and comment.read; any other record answers as a
// missing one.
func (g *Gateway) ListComments(ctx context.Context, id *identity.Identity, req CommentsRequest) (*Comments, error) {
	ev := audit.Event{Kind: "read", Action: "comment.read", RecordIDs: []string{req.Record}}
	start := g.now()
	out, err := g.listComments(ctx, id, req, &ev)
	if out != nil {
		ev.Records = len(out.Comments)
	}
	g.finish(ctx, id, &ev, start, err)
	return out, err
}

func (g *Gateway) listComments(ctx context.Context, id *identity.Identity, req CommentsRequest, ev *audit.Event) (*Comments, error) {
	a, err := g.resolve(id, req.App)
	if err != nil {
		return nil, err
	}
	ev.App = a.Alias
	if !validID(req.Record) {
		return nil, kintone.Invalid(id.Lang).With("record", invalidIDMessage(id.Lang))
	}
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	if err := g.visible(ctx, view, id, a, req.Record, "comment.read"); err != nil {
		return nil, err
	}
	return g.commentsOf(ctx, id, a, req.Record, req.CommentsPage, ev)
}

// commentsOf reads a page of a record's comments from kintone. The caller
// has made sure the member may read them.
func (g *Gateway) commentsOf(ctx context.Context, id *identity.Identity, a *app, recordID string, cp CommentsPage, ev *audit.Event) (*Comments, error) {
	params := url.Values{"app": {a.ID}, "record": {recordID}}
	if cp.Order != "" {
		params.Set("order", cp.Order)
	}
	if cp.Offset > 0 {
		params.Set("offset", strconv.Itoa(cp.Offset))
	}
	if cp.Limit > 0 {
		params.Set("limit", strconv.Itoa(cp.Limit))
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "record/comments.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: params, Lang: id.Lang})
	if err != nil {
		ev.UpstreamStatus = statusOf(err)
		return nil, upstreamError(err, id.Lang, func(key string) bool { return key == "order" || key == "offset" || key == "limit" })
	}
	ev.UpstreamStatus = resp.Status
	var out Comments
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, upstreamError(errMalformed, id.Lang, nil)
	}
	if out.Comments == nil {
		out.Comments = []Comment{}
	}
	return &out, nil
}

// visible checks, under one policy view, that the policy allows read and
// action on a and that the record satisfies the row rules of both;
// otherwise it answers as kintone does for a record that does not exist.
func (g *Gateway) visible(ctx context.Context, view policy.View, id *identity.Identity, a *app, recordID, action string) error {
	p, err := g.planRead(ctx, view, id, a, action)
	if err != nil {
		return err
	}
	page, _, err := g.fetchByID(ctx, p, recordID, []string{"$id"}, g.filter(ctx, p, []string{"$id"}))
	if err != nil {
		return err
	}
	if len(page.Records) == 0 {
		return notFound(id.Lang, recordID)
	}
	return nil
}
