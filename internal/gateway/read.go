package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/policy"
)

// readPlan is one read surface for one member under one policy version:
// read's decision (which fields the member sees, which are masked, the page
// cap) and the row rule of every action the surface needs — read always,
// comment.read for comments, file.read for files — all taken from the same
// policy view, so a reload in the middle of the request changes nothing in
// it.
type readPlan struct {
	view     policy.View
	id       *identity.Identity
	app      *app
	dec      *policy.Decision // read's
	form     *form
	readable fieldSet
	masks    map[string]json.RawMessage // code → a valid value of the field's type
	rules    []actionRule               // read's first
	cond     kql.Expr                   // the rules' conditions and-ed; nil when every record is included
	never    bool                       // some rule includes no record
	fields   []string                   // the fields the rules read, for the re-check
}

// actionRule is the row rule of one action, with the input it was made
// for (the re-check evaluates include with the same input and the record).
type actionRule struct {
	in   policy.Input
	rule *policy.RowRule
}

// planRead decides read and every further action for a, and compiles their
// row rules. A refusal of any of them is the request's refusal.
func (g *Gateway) planRead(ctx context.Context, view policy.View, id *identity.Identity, a *app, also ...string) (*readPlan, error) {
	in := input(id, a, "read")
	dec, err := g.decide(ctx, view, id, a, in)
	if err != nil {
		return nil, err
	}
	for _, action := range also {
		if _, err := g.decide(ctx, view, id, a, input(id, a, action)); err != nil {
			return nil, err
		}
	}
	f, err := a.forms.get(ctx, "")
	if err != nil {
		return nil, upstreamError(err, id.Lang, nil)
	}
	p := &readPlan{view: view, id: id, app: a, dec: dec, form: f, readable: newFieldSet(dec.Readable)}
	if p.masks, err = maskValues(f, p.readable, dec.Masks); err != nil {
		g.log.Error("a policy mask is not a value of its field's type; the read is refused",
			zap.String("app", a.Alias), zap.String("policy_version", view.Version()), zap.Error(err))
		return nil, policyError(id.Lang)
	}
	var conds []kql.Expr
	seen := map[string]bool{}
	for _, action := range append([]string{"read"}, also...) {
		ar := actionRule{in: input(id, a, action)}
		if ar.rule, err = g.rowRule(ctx, p, ar.in); err != nil {
			return nil, err
		}
		p.rules = append(p.rules, ar)
		p.never = p.never || ar.rule.Never
		if ar.rule.Cond != nil {
			conds = append(conds, ar.rule.Cond)
		}
		for _, c := range ar.rule.Fields {
			if !seen[c] {
				seen[c] = true
				p.fields = append(p.fields, c)
			}
		}
	}
	switch len(conds) {
	case 0:
	case 1:
		p.cond = conds[0]
	default:
		p.cond = &kql.And{Terms: conds}
	}
	return p, nil
}

// rowRule compiles the row rule for in under the plan's policy view.
func (g *Gateway) rowRule(ctx context.Context, p *readPlan, in policy.Input) (*policy.RowRule, error) {
	rr, err := p.view.RowRule(ctx, in, p.form.fields)
	if err != nil {
		g.log.Error("row rule did not compile", zap.String("app", p.app.Alias), zap.String("action", in.Action),
			zap.String("policy_version", p.view.Version()), zap.Error(err))
		return nil, policyError(p.id.Lang)
	}
	return rr, nil
}

// userQuery parses the member's query and applies the rules that keep it
// from reaching past what the member may see: only readable, unmasked
// fields in conditions and order by (a hidden field is "not found", as if
// it did not exist), then kintone's type rules, then the file.read rule
// next to every search of file contents.
func (g *Gateway) userQuery(ctx context.Context, p *readPlan, text string) (*kql.Query, error) {
	q, err := kql.Parse(text)
	if err != nil {
		return nil, queryError(err, p.id.Lang)
	}
	for _, code := range queryFields(q) {
		if p.readable.readable(p.form, code) && masked(p.form, p.dec.Masks, code) {
			return nil, kintone.Invalid(p.id.Lang).With("query", maskedFieldMessage(p.id.Lang, code))
		}
	}
	if err := kql.Check(q, visibleFields(p.form, p.readable, p.dec.Masks)); err != nil {
		return nil, queryError(err, p.id.Lang)
	}
	if err := g.fileSearch(ctx, p, q); err != nil {
		return nil, err
	}
	return q, nil
}

func queryFields(q *kql.Query) []string {
	var codes []string
	if q.Where != nil {
		codes = kql.Fields(q.Where)
	}
	for _, k := range q.OrderBy {
		codes = append(codes, k.Field)
	}
	return codes
}

func maskedFieldMessage(lang, code string) string {
	if lang == "ja" {
		return "フィールド（" + code + "）は伏せ字で表示されるため、条件や並び替えに使えません。"
	}
	return "Field (" + code + ") is masked for you and cannot be used in a condition or order by."
}

// queryError renders a *kql.Error in kintone's shape.
func queryError(err error, lang string) error {
	var qe *kql.Error
	if !errors.As(err, &qe) {
		return kintone.Invalid(lang).With("query", err.Error())
	}
	e := kintone.NewError(qe.Code, lang)
	e.Status, e.Message = qe.Status, qe.Message(lang)
	if qe.Key != "" {
		e.With(qe.Key, qe.Details(lang)...)
	}
	return e
}

// compose joins the row rules and the member's query and caps limit and
// offset by the policy.
func (p *readPlan) compose(q *kql.Query) (*kql.Query, error) {
	out, err := kql.Compose(p.cond, q, kql.ComposeOptions{})
	if err != nil {
		return nil, queryError(err, p.id.Lang)
	}
	return out, nil
}

// keep returns the fields the member gets back: those asked for (all when
// none were) that the member may read.
func (p *readPlan) keep(requested []string) map[string]bool {
	out := map[string]bool{}
	if len(requested) == 0 {
		out["$id"], out["$revision"] = true, true
		for code := range p.form.props {
			if p.readable.readable(p.form, code) {
				out[code] = true
			}
		}
		return out
	}
	for _, c := range requested {
		if p.readable.readable(p.form, c) {
			out[c] = true
		}
	}
	return out
}

// upstreamFields is what kgate asks kintone for: the readable fields asked
// for, plus what the row rule's re-check and the file tokens need. nil
// means every field (the member may read all and asked for all).
func (p *readPlan) upstreamFields(requested []string) []string {
	if len(requested) == 0 && p.readable.All {
		return nil
	}
	seen := map[string]bool{}
	out := []string{"$id"}
	seen["$id"] = true
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(requested) == 0 {
		add("$revision")
		for code := range p.form.props {
			if p.readable.readable(p.form, code) {
				add(code)
			}
		}
	}
	for _, c := range requested {
		if p.readable.readable(p.form, c) {
			if t, inner := p.form.table[c]; inner {
				c = t // kintone returns a subtable's fields with the table
			}
			add(c)
		}
	}
	for _, c := range p.fields {
		add(c)
	}
	// kintone's answer does not depend on the order of fields[], but the
	// read cache and the coalescing of identical reads are keyed on the
	// exact request: one order for one set lets every member whose reads
	// compile alike share one upstream answer.
	slices.Sort(out[1:])
	return out
}

// filter is the record filter for this plan and the fields asked for. Its
// re-check holds a record to every rule of the plan, evaluated in full
// under the plan's policy view.
func (g *Gateway) filter(ctx context.Context, p *readPlan, requested []string) *recordFilter {
	rule := make(map[string]bool, len(p.fields))
	for _, c := range p.fields {
		rule[c] = true
	}
	return &recordFilter{
		form: p.form, keep: p.keep(requested), masks: p.masks, rule: rule,
		include: func(vals kintone.Record) (bool, error) {
			rec := policy.Flatten(vals)
			for _, ar := range p.rules {
				in := ar.in
				in.Record = rec
				if ok, err := p.view.Include(ctx, in); err != nil || !ok {
					return false, err
				}
			}
			return true, nil
		},
		seal: func(recordID, field string, file fileRef) string {
			return g.files.seal(fileClaim{Issuer: p.id.Issuer, Subject: p.id.Subject, App: p.app.ID,
				Record: recordID, Field: field, Key: file.FileKey}, g.now())
		},
	}
}

// process runs a page of kintone's answer through the filter. A record the
// re-check withholds was let through by the compiled condition although
// the policy refuses it: answering without it would leave its slot empty
// and count it in totalCount, and either tells the member that a hidden
// record matched their query. So such a page is not answered at all: the
// member gets KGATE_PO02, the operator a log entry naming the records, the
// condition and the policy version.
func (g *Gateway) process(p *readPlan, f *recordFilter, body []byte) (*Page, error) {
	page, err := f.page(body)
	if err != nil {
		g.log.Error("kintone's answer could not be read", zap.String("app", p.app.Alias), zap.Error(err))
		return nil, upstreamError(err, p.id.Lang, nil)
	}
	if len(f.dropped) > 0 {
		g.reportMismatch(p, f)
		return nil, mismatchError(p.id.Lang)
	}
	return page, nil
}

// reportMismatch logs records the compiled condition let through and the
// policy refused: the translation of the row rule and kintone disagree, a
// fault to fix in kgate or to report.
func (g *Gateway) reportMismatch(p *readPlan, f *recordFilter) {
	cond := "(none)"
	if p.cond != nil {
		cond = kql.Format(p.cond)
	}
	g.log.Error("translation mismatch: kintone returned records the compiled row rule should have kept out and the policy refuses; the answer was withheld",
		zap.String("app", p.app.Alias), zap.Strings("record_ids", f.dropped), zap.String("condition", cond),
		zap.String("policy_version", p.view.Version()), zap.String("subject", p.id.Subject))
}

func mismatchError(lang string) *kintone.Error {
	return ownError(http.StatusInternalServerError, "KGATE_PO02", lang,
		"アクセスポリシーどおりの結果を正確に返せないため、応答を控えました。管理者に連絡してください。",
		"kgate cannot answer exactly as the access policy requires, so it does not answer. Please contact the administrator.")
}

// ListRequest is GET records.json.
type ListRequest struct {
	App        AppRef
	Fields     []string
	Query      string
	TotalCount bool
}

// ListRecords returns the records the member may see that match the query.
// totalCount counts only those, since it comes from the composed query.
func (g *Gateway) ListRecords(ctx context.Context, id *identity.Identity, req ListRequest) (*Page, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	page, err := g.listRecords(ctx, id, req, &ev)
	if page != nil {
		ev.Records = len(page.Records)
	}
	g.finish(ctx, id, &ev, start, err)
	return page, err
}

func (g *Gateway) listRecords(ctx context.Context, id *identity.Identity, req ListRequest, ev *audit.Event) (*Page, error) {
	a, err := g.resolve(id, req.App)
	if err != nil {
		return nil, err
	}
	ev.App = a.Alias
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, a)
	if err != nil {
		ev.Reasons = reasonsOf(err)
		return nil, err
	}
	q, err := g.userQuery(ctx, p, req.Query)
	if err != nil {
		return nil, err
	}
	composed, err := p.compose(q)
	if err != nil {
		return nil, err
	}
	if p.never {
		return emptyPage(req.TotalCount), nil
	}
	n := kintoneDefaultLimit
	if composed.Limit != nil {
		n = *composed.Limit
	}
	grant, err := g.takeRead(ctx, id, a, p.dec, n)
	if err != nil {
		return nil, err
	}
	page, err := g.readPage(ctx, p, req, composed, ev)
	returnUnread(grant, page)
	return page, err
}

func (g *Gateway) readPage(ctx context.Context, p *readPlan, req ListRequest, composed *kql.Query, ev *audit.Event) (*Page, error) {
	a, id := p.app, p.id
	params := url.Values{"app": {a.ID}, "query": {composed.String()}}
	for i, c := range p.upstreamFields(req.Fields) {
		params.Set("fields["+strconv.Itoa(i)+"]", c)
	}
	if req.TotalCount {
		params.Set("totalCount", "true")
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: params, Lang: id.Lang})
	if err != nil {
		ev.UpstreamStatus = statusOf(err)
		g.logUpstream(a, err)
		return nil, upstreamError(err, id.Lang, nil)
	}
	ev.UpstreamStatus = resp.Status
	return g.process(p, g.filter(ctx, p, req.Fields), resp.Body)
}

func emptyPage(withCount bool) *Page {
	p := &Page{Records: []json.RawMessage{}}
	if withCount {
		var zero int64
		p.TotalCount = &zero
	}
	return p
}

// logUpstream records kintone's refusal of a read: the member's part of
// the query was checked before, so kintone refusing it points at the row
// rule or at kgate. Refusals for load are not logged here: they come by
// the thousand in an overload, and the client logs them counted, one line
// per interval.
func (g *Gateway) logUpstream(a *app, err error) {
	if errors.Is(err, kintone.ErrBusy) {
		return
	}
	var ke *kintone.Error
	if errors.As(err, &ke) && ke.Status < 500 && ke.Status != http.StatusTooManyRequests {
		g.log.Error("kintone refused a read kgate composed", zap.String("app", a.Alias), zap.String("code", ke.Code), zap.Error(err))
		return
	}
	g.log.Warn("kintone read failed", zap.String("app", a.Alias), zap.Error(err))
}

func statusOf(err error) int {
	var ke *kintone.Error
	var ue *kintone.UpstreamError
	switch {
	case errors.As(err, &ke):
		return ke.Status
	case errors.As(err, &ue):
		return ue.Status
	}
	return 0
}

// finish completes and writes an audit event.
func (g *Gateway) finish(ctx context.Context, id *identity.Identity, ev *audit.Event, start time.Time, err error) {
	ev.Duration = g.now().Sub(start)
	var ke *kintone.Error
	switch {
	case err == nil:
		ev.Allowed, ev.Outcome = true, "ok"
	case errors.As(err, &ke) && ke.Code == "CB_NO02":
		ev.Outcome = "denied"
	default:
		ev.Allowed, ev.Outcome, ev.Error = true, "error", err.Error()
	}
	g.logEvent(audit.RequestFrom(ctx), id, *ev)
}

// GetRecord returns one record, or GAIA_RE01 — the same answer whether the
// record does not exist or the member may not see it.
func (g *Gateway) GetRecord(ctx context.Context, id *identity.Identity, ref AppRef, recordID string) (json.RawMessage, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	rec, err := g.getRecord(ctx, id, ref, recordID, &ev)
	if rec != nil {
		ev.Records, ev.RecordIDs = 1, []string{recordID}
	}
	g.finish(ctx, id, &ev, start, err)
	return rec, err
}

func (g *Gateway) getRecord(ctx context.Context, id *identity.Identity, ref AppRef, recordID string, ev *audit.Event) (json.RawMessage, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return nil, err
	}
	ev.App = a.Alias
	if !validID(recordID) {
		return nil, kintone.Invalid(id.Lang).With("id", invalidIDMessage(id.Lang))
	}
	view := g.view(ctx)
	ev.PolicyVersion = view.Version()
	p, err := g.planRead(ctx, view, id, a)
	if err != nil {
		ev.Reasons = reasonsOf(err)
		return nil, err
	}
	grant, err := g.takeRead(ctx, id, a, p.dec, 1)
	if err != nil {
		return nil, err
	}
	page, status, err := g.fetchByID(ctx, p, recordID, nil, g.filter(ctx, p, nil))
	ev.UpstreamStatus = status
	if err != nil {
		grant.Return(0)
		return nil, err
	}
	grant.Return(len(page.Records))
	if len(page.Records) == 0 {
		return nil, notFound(id.Lang, recordID)
	}
	return page.Records[0], nil
}

// fetchByID reads one record through the row rules: kintone itself leaves
// out a record the member may not see, and the re-check catches anything
// else — a record it withholds answers like a missing one (there is no
// page and no count to betray it) and is reported.
func (g *Gateway) fetchByID(ctx context.Context, p *readPlan, recordID string, fields []string, f *recordFilter) (*Page, int, error) {
	body, status, err := g.readByID(ctx, p, recordID, p.upstreamFields(fields))
	if err != nil {
		return nil, status, err
	}
	page, err := g.filterOne(p, f, body)
	return page, status, err
}

// readByID asks kintone for one record under the plan's row rules, with
// the fields upstream names (nil: every field). Its answer is nil, without
// a call, when the rules include no record.
func (g *Gateway) readByID(ctx context.Context, p *readPlan, recordID string, upstream []string) ([]byte, int, error) {
	one := 1
	return g.readWhere(ctx, p, &kql.Query{Where: &kql.Cond{Field: "$id", Op: kql.Eq, Values: []kql.Value{{Kind: kql.Number, Text: recordID}}}, Limit: &one}, upstream)
}

// readWhere is readByID for the records a query of kgate's own names.
func (g *Gateway) readWhere(ctx context.Context, p *readPlan, own *kql.Query, upstream []string) ([]byte, int, error) {
	if p.never {
		return nil, 0, nil
	}
	q, err := kql.Compose(p.cond, own, kql.ComposeOptions{})
	if err != nil {
		return nil, 0, queryError(err, p.id.Lang)
	}
	params := url.Values{"app": {p.app.ID}, "query": {q.String()}}
	for i, c := range upstream {
		params.Set("fields["+strconv.Itoa(i)+"]", c)
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", GuestSpace: p.app.GuestSpace,
		App: p.app.ID, Tokens: p.app.Tokens, Params: params, Lang: p.id.Lang})
	if err != nil {
		g.logUpstream(p.app, err)
		return nil, statusOf(err), upstreamError(err, p.id.Lang, nil)
	}
	return resp.Body, resp.Status, nil
}

// filterOne runs readByID's answer through f. A record the re-check
// withholds is left out, so it answers like a missing one, and reported.
func (g *Gateway) filterOne(p *readPlan, f *recordFilter, body []byte) (*Page, error) {
	if body == nil {
		return emptyPage(false), nil
	}
	page, err := f.page(body)
	if err != nil {
		g.log.Error("kintone's answer could not be read", zap.String("app", p.app.Alias), zap.Error(err))
		return nil, upstreamError(err, p.id.Lang, nil)
	}
	if len(f.dropped) > 0 {
		g.reportMismatch(p, f)
	}
	return page, nil
}

// reasonsOf returns the policy's reasons of a refusal.
func reasonsOf(err error) []string {
	var ke *kintone.Error
	if errors.As(err, &ke) && ke.Code == "CB_NO02" {
		return ke.Errors["policy"].Messages
	}
	return nil
}

// validID reports whether s is a record id kintone could have issued.
func validID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && n > 0 && strconv.FormatUint(n, 10) == s
}

func invalidIDMessage(lang string) string {
	if lang == "ja" {
		return "1以上の整数を指定してください。"
	}
	return "must be an integer of 1 or more."
}
