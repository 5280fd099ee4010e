package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/policy"
)

// readPlan is everything a read needs to know before it calls kintone:
// the decision, the form, and the row rule, for one identity and app.
type readPlan struct {
	id       *Identity
	app      *app
	in       policy.Input
	dec      *policy.Decision
	form     *form
	readable fieldSet
	rule     *policy.RowRule
	masks    map[string]json.RawMessage
}

func (g *Gateway) planRead(ctx context.Context, id *Identity, a *app) (*readPlan, error) {
	in := id.input(a, "read")
	dec, err := g.decide(ctx, id, a, in)
	if err != nil {
		return &readPlan{dec: dec}, err
	}
	f, err := a.forms.get(ctx, "")
	if err != nil {
		return nil, upstreamError(err, id.Lang, nil)
	}
	p := &readPlan{id: id, app: a, in: in, dec: dec, form: f, readable: newFieldSet(dec.Readable)}
	if p.masks, err = encodeMasks(dec.Masks); err != nil {
		g.log.Error("policy masks are not JSON values", zap.String("app", a.Alias), zap.Error(err))
		return nil, policyError(id.Lang)
	}
	if p.rule, err = g.policy.RowRule(ctx, in, f.fields); err != nil {
		g.log.Error("row rule did not compile", zap.String("app", a.Alias), zap.String("policy_version", dec.Version), zap.Error(err))
		return nil, policyError(id.Lang)
	}
	return p, nil
}

func encodeMasks(masks map[string]any) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(masks))
	for code, v := range masks {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[code] = b
	}
	return out, nil
}

// userQuery parses the member's query and applies the rules that keep it
// from reaching past what the member may see: only readable, unmasked
// fields in conditions and order by (a hidden field is "not found", as if
// it did not exist), then kintone's type rules.
func (p *readPlan) userQuery(text string) (*kql.Query, error) {
	q, err := kql.Parse(text)
	if err != nil {
		return nil, queryError(err, p.id.Lang)
	}
	for _, code := range queryFields(q) {
		if _, masked := p.masks[code]; masked && p.readable.readable(p.form, code) {
			return nil, kintone.Invalid(p.id.Lang).With("query", maskedFieldMessage(p.id.Lang, code))
		}
	}
	if err := kql.Check(q, visibleFields(p.form, p.readable, p.dec.Masks)); err != nil {
		return nil, queryError(err, p.id.Lang)
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

// compose joins the row rule and the member's query and caps limit and
// offset by the policy.
func (p *readPlan) compose(q *kql.Query) (*kql.Query, error) {
	out, err := kql.Compose(p.rule.Cond, q, kql.ComposeOptions{MaxLimit: p.dec.Limit})
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
	for _, c := range p.rule.Fields {
		add(c)
	}
	return out
}

// filter is the record filter for this plan and the fields asked for.
func (g *Gateway) filter(ctx context.Context, p *readPlan, requested []string) *recordFilter {
	rule := make(map[string]bool, len(p.rule.Fields))
	for _, c := range p.rule.Fields {
		rule[c] = true
	}
	return &recordFilter{
		form: p.form, keep: p.keep(requested), masks: p.masks, rule: rule,
		include: func(vals kintone.Record) (bool, error) {
			in := p.in
			in.Record = policy.Flatten(vals)
			return g.policy.Include(ctx, in)
		},
		seal: func(recordID, field, key string) string {
			return g.files.seal(fileClaim{Issuer: p.id.Issuer, Subject: p.id.Subject, App: p.app.ID,
				Record: recordID, Field: field, Key: key}, g.now())
		},
	}
}

// process runs kintone's answer through the filter and reports records the
// re-check refused: kintone returned what the row rule should have kept
// out, so the translation and the policy disagree. The member never sees
// them; the operator must.
func (g *Gateway) process(p *readPlan, f *recordFilter, body []byte) (*Page, error) {
	page, err := f.page(body)
	if err != nil {
		g.log.Error("kintone's answer could not be read", zap.String("app", p.app.Alias), zap.Error(err))
		return nil, upstreamError(err, p.id.Lang, nil)
	}
	g.reportDropped(p, f)
	return page, nil
}

func (g *Gateway) reportDropped(p *readPlan, f *recordFilter) {
	if len(f.dropped) > 0 {
		g.log.Error("records matched the compiled row rule but not the policy; they were withheld",
			zap.String("app", p.app.Alias), zap.Strings("record_ids", f.dropped),
			zap.String("policy_version", p.dec.Version), zap.String("subject", p.id.Subject))
	}
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
func (g *Gateway) ListRecords(ctx context.Context, id *Identity, req ListRequest) (*Page, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	page, err := g.listRecords(ctx, id, req, &ev)
	if page != nil {
		ev.Records = len(page.Records)
	}
	g.finish(id, &ev, start, err)
	return page, err
}

func (g *Gateway) listRecords(ctx context.Context, id *Identity, req ListRequest, ev *audit.Event) (*Page, error) {
	a, err := g.resolve(id, req.App)
	if err != nil {
		return nil, err
	}
	ev.App = a.Alias
	p, err := g.planRead(ctx, id, a)
	if p != nil && p.dec != nil {
		ev.PolicyVersion, ev.Reasons = p.dec.Version, p.dec.Reasons
	}
	if err != nil {
		return nil, err
	}
	q, err := p.userQuery(req.Query)
	if err != nil {
		return nil, err
	}
	composed, err := p.compose(q)
	if err != nil {
		return nil, err
	}
	if p.rule.Never {
		return emptyPage(req.TotalCount), nil
	}
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
// rule or at kgate.
func (g *Gateway) logUpstream(a *app, err error) {
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
func (g *Gateway) finish(id *Identity, ev *audit.Event, start time.Time, err error) {
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
	g.logEvent(id, *ev)
}

// GetRecord returns one record, or GAIA_RE01 — the same answer whether the
// record does not exist or the member may not see it.
func (g *Gateway) GetRecord(ctx context.Context, id *Identity, ref AppRef, recordID string) (json.RawMessage, error) {
	ev := audit.Event{Kind: "read", Action: "read"}
	start := g.now()
	rec, err := g.getRecord(ctx, id, ref, recordID, &ev)
	if rec != nil {
		ev.Records, ev.RecordIDs = 1, []string{recordID}
	}
	g.finish(id, &ev, start, err)
	return rec, err
}

func (g *Gateway) getRecord(ctx context.Context, id *Identity, ref AppRef, recordID string, ev *audit.Event) (json.RawMessage, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return nil, err
	}
	ev.App = a.Alias
	if !validID(recordID) {
		return nil, kintone.Invalid(id.Lang).With("id", invalidIDMessage(id.Lang))
	}
	p, err := g.planRead(ctx, id, a)
	if p != nil && p.dec != nil {
		ev.PolicyVersion = p.dec.Version
	}
	if err != nil {
		return nil, err
	}
	page, status, err := g.fetchByID(ctx, p, recordID, nil, g.filter(ctx, p, nil))
	ev.UpstreamStatus = status
	if err != nil {
		return nil, err
	}
	if len(page.Records) == 0 {
		return nil, notFound(id.Lang, recordID)
	}
	return page.Records[0], nil
}

// fetchByID reads one record through the row rule: kintone itself leaves
// out a record the member may not see, and the re-check catches anything
// else.
func (g *Gateway) fetchByID(ctx context.Context, p *readPlan, recordID string, fields []string, f *recordFilter) (*Page, int, error) {
	if p.rule.Never {
		return emptyPage(false), 0, nil
	}
	one := 1
	byID := &kql.Query{Where: &kql.Cond{Field: "$id", Op: kql.Eq, Values: []kql.Value{{Kind: kql.Number, Text: recordID}}}, Limit: &one}
	q, err := kql.Compose(p.rule.Cond, byID, kql.ComposeOptions{})
	if err != nil {
		return nil, 0, queryError(err, p.id.Lang)
	}
	params := url.Values{"app": {p.app.ID}, "query": {q.String()}}
	for i, c := range p.upstreamFields(fields) {
		params.Set("fields["+strconv.Itoa(i)+"]", c)
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", GuestSpace: p.app.GuestSpace,
		App: p.app.ID, Tokens: p.app.Tokens, Params: params, Lang: p.id.Lang})
	if err != nil {
		g.logUpstream(p.app, err)
		return nil, statusOf(err), upstreamError(err, p.id.Lang, nil)
	}
	page, err := g.process(p, f, resp.Body)
	return page, resp.Status, err
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
