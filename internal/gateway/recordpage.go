package gateway

import (
	"context"
	"encoding/json"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// RecordPageRequest asks for one record as a page shows it.
type RecordPageRequest struct {
	App    AppRef
	Record string
	// Comments asks for a page of the record's comments as well; they are
	// read only when the member may read them. nil asks for none.
	Comments *CommentsPage
}

// RecordPage is one record with what the member may do to it.
type RecordPage struct {
	// Record is the record as GetRecord returns it: the readable fields,
	// masks applied, file keys replaced by file tokens.
	Record    json.RawMessage
	Abilities Abilities
	// Comments is the page of comments asked for; nil when none were asked
	// for or the member may not read them (Abilities.ReadComments).
	Comments *Comments
	// CommentsErr is why kintone did not give the comments; the record
	// stands without them.
	CommentsErr error
}

// RecordPage reads a record once and judges on that record every action a
// page of it offers: reading it, its comments (comment.read) and its files
// (file.read); changing it (and which fields), deleting it, commenting on
// it, attaching files, and the process actions of its state. Every answer
// is the policy's for that record, all under one policy version (ctx's
// pinned one, else the one serving now). The record must satisfy read's row
// rule in kintone's query and again in the policy's full evaluation;
// comments and files need their own action's rule too, evaluated in full on
// the same record. A record the member may not read answers GAIA_RE01, as
// if it did not exist. Comments, when asked for and readable, cost one
// more kintone request; nothing else does.
func (g *Gateway) RecordPage(ctx context.Context, id *identity.Identity, req RecordPageRequest) (*RecordPage, error) {
	ctx = g.Pin(ctx)
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	page, a, err := g.recordPage(ctx, id, req, &ev)
	if page != nil {
		ev.Records, ev.RecordIDs = 1, []string{req.Record}
	}
	g.finish(ctx, id, &ev, start, err)
	if err != nil || req.Comments == nil || !page.Abilities.ReadComments {
		return page, err
	}
	cev := audit.Event{Kind: "read", Action: "comment.read", App: a.Alias, RecordIDs: []string{req.Record},
		PolicyVersion: ev.PolicyVersion}
	start = g.now()
	page.Comments, page.CommentsErr = g.commentsOf(kintone.WithPriority(ctx, req.Comments.Priority), id, a, req.Record, *req.Comments, &cev)
	if page.Comments != nil {
		cev.Records = len(page.Comments.Comments)
	}
	g.finish(ctx, id, &cev, start, page.CommentsErr)
	return page, nil
}

func (g *Gateway) recordPage(ctx context.Context, id *identity.Identity, req RecordPageRequest, ev *audit.Event) (*RecordPage, *app, error) {
	a, err := g.resolve(id, req.App)
	if err != nil {
		return nil, nil, err
	}
	ev.App = a.Alias
	if !validID(req.Record) {
		return nil, nil, kintone.Invalid(id.Lang).With("id", invalidIDMessage(id.Lang))
	}
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, a)
	if err != nil {
		ev.Reasons = reasonsOf(err)
		return nil, nil, err
	}
	o, err := g.pageOffer(ctx, id, p)
	if err != nil {
		return nil, nil, err
	}
	body, status, err := g.readByID(ctx, p, req.Record, o.upstream())
	ev.UpstreamStatus = status
	if err != nil {
		return nil, nil, err
	}
	page, err := g.filterOne(p, g.filter(ctx, p, nil), body)
	if err != nil {
		return nil, nil, err
	}
	if len(page.Records) == 0 {
		return nil, nil, notFound(id.Lang, req.Record)
	}
	// The filter gave the member's view of the record; the policy judges
	// the actions on the record as kintone holds it.
	var all struct {
		Records []kintone.Record `json:"records"`
	}
	if err := json.Unmarshal(body, &all); err != nil || len(all.Records) != 1 {
		g.log.Error("kintone's answer could not be read", zap.String("app", a.Alias), zap.Error(err))
		return nil, nil, upstreamError(errMalformed, id.Lang, nil)
	}
	return &RecordPage{Record: page.Records[0], Abilities: o.abilities(ctx, all.Records[0])}, a, nil
}
