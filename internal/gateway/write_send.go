package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// WriteOp is one write a bulkRequest may carry: *AddRecordRequest,
// *AddRecordsRequest, *UpdateRecordRequest, *UpdateRecordsRequest,
// *DeleteRecordsRequest, *UpdateStatusRequest, *UpdateStatusesRequest or
// *UpdateAssigneesRequest.
type WriteOp interface {
	plan(ctx context.Context, w *writer) (*opPlan, error)
}

// opPlan is one checked operation, ready to send.
type opPlan struct {
	app   *writeApp
	ev    *audit.Event
	calls []upCall
	// clientKey maps an error key kintone gives for calls[i] to where the
	// value sits in the member's request; nil keeps keys as they are.
	clientKey func(call int, key string) string
	// sent holds the codes of fields the member wrote: errors about them
	// are the member's to see even when they cannot read the field.
	sent map[string]bool
	// reply turns kintone's answers to calls into the answer kintone gives
	// for the member's operation, and the records it wrote.
	reply func(results []json.RawMessage) (json.RawMessage, []Written, error)
}

// upCall is one kintone API call of a plan.
type upCall struct {
	method, api string
	body        any
}

// maxBulkRequests is how many requests kintone takes in one bulkRequest.
const maxBulkRequests = 20

// run plans op and sends it: the whole of a write with one operation.
func (g *Gateway) run(ctx context.Context, id *identity.Identity, op WriteOp) ([]Written, error) {
	w := g.newWriter(ctx, id)
	p, err := op.plan(ctx, w)
	if err != nil {
		w.finish(err, 0)
		return nil, err
	}
	_, written, status, err := w.send(ctx, []*opPlan{p}, p.app.GuestSpace, false)
	w.finish(err, status)
	if err != nil {
		return nil, err
	}
	return written[0], nil
}

// Bulk is bulkRequest.json: every operation is checked as if it came
// alone (each against the records as the earlier ones leave them), and
// only if all pass are they sent as one kintone bulkRequest, which kintone
// applies entirely or not at all. space is the guest space of the path the
// client called: through a guest-space path every operation must stay in
// that space, as kintone requires. A refused operation refuses the whole
// request before anything is sent; the error is a *kintone.BulkError
// naming its index. The answer holds kintone's result of each operation.
func (g *Gateway) Bulk(ctx context.Context, id *identity.Identity, space string, ops []WriteOp) ([]json.RawMessage, error) {
	w := g.newWriter(ctx, id)
	if len(ops) == 0 || len(ops) > maxBulkRequests {
		err := kintone.Invalid(id.Lang).With("requests", kintone.Message(kintone.MsgMaxItems, id.Lang, maxBulkRequests))
		w.finish(err, 0)
		return nil, err
	}
	plans := make([]*opPlan, len(ops))
	for i, op := range ops {
		p, err := op.plan(ctx, w)
		if err == nil && space != "" && p.app.GuestSpace != space {
			err = kintone.NewError("CB_NO02", id.Lang)
		}
		if err != nil {
			err = bulkError(i, err)
			w.finish(err, 0)
			return nil, err
		}
		plans[i] = p
	}
	replies, _, status, err := w.send(ctx, plans, space, true)
	w.finish(err, status)
	return replies, err
}

// bulkError places err at index i of a bulkRequest, unless it concerns
// the request as a whole (kgate could not decide, kintone's answer is
// unknown).
func bulkError(i int, err error) error {
	var ke *kintone.Error
	var uk *unknownOutcome
	if errors.As(err, &uk) || !errors.As(err, &ke) || ke.Status >= 500 {
		return err
	}
	return &kintone.BulkError{Index: i, Err: ke}
}

type callRef struct{ plan, call int }

// send sends the plans' calls: a lone call as itself, several as one
// bulkRequest. It returns each plan's answer and records.
func (w *writer) send(ctx context.Context, plans []*opPlan, space string, clientBulk bool) ([]json.RawMessage, [][]Written, int, error) {
	var refs []callRef
	for pi, p := range plans {
		for ci := range p.calls {
			refs = append(refs, callRef{pi, ci})
		}
	}
	results := make([][]json.RawMessage, len(plans))
	status := 0
	switch {
	case len(refs) > maxBulkRequests:
		return nil, nil, 0, kintone.Invalid(w.id.Lang).With("requests", tooManyAfterSplit(w.id.Lang))
	case len(refs) == 1 && !clientBulk:
		p, c := plans[0], plans[0].calls[0]
		resp, err := w.g.client.Do(ctx, kintone.Request{Method: c.method, API: c.api, GuestSpace: p.app.GuestSpace,
			App: p.app.ID, Tokens: p.app.Tokens, Body: c.body, Lang: w.id.Lang})
		if err != nil {
			return nil, nil, statusOf(err), w.upstream(ctx, err, plans, refs, false)
		}
		status = resp.Status
		results[0] = []json.RawMessage{resp.Body}
	case len(refs) > 0:
		body, err := w.bulk(ctx, plans, refs, space)
		if err != nil {
			return nil, nil, statusOf(err), w.upstream(ctx, err, plans, refs, clientBulk)
		}
		status = http.StatusOK
		var out struct {
			Results []json.RawMessage `json:"results"`
		}
		if json.Unmarshal(body, &out) != nil || len(out.Results) != len(refs) {
			return nil, nil, status, w.unknown(errMalformed)
		}
		for i, r := range refs {
			results[r.plan] = append(results[r.plan], out.Results[i])
		}
	}
	replies := make([]json.RawMessage, len(plans))
	written := make([][]Written, len(plans))
	for i, p := range plans {
		var err error
		if replies[i], written[i], err = p.reply(results[i]); err != nil {
			w.g.log.Error("kintone applied a write but its answer could not be read", zap.String("app", p.app.Alias), zap.Error(err))
			return nil, nil, status, w.unknown(err)
		}
	}
	return replies, written, status, nil
}

// bulk sends the calls as one bulkRequest through the path of space, with
// the tokens of every app involved.
func (w *writer) bulk(ctx context.Context, plans []*opPlan, refs []callRef, space string) ([]byte, error) {
	type request struct {
		Method  string `json:"method"`
		API     string `json:"api"`
		Payload any    `json:"payload"`
	}
	reqs := make([]request, len(refs))
	var tokens []string
	seen := map[string]bool{}
	var apps []string
	for i, r := range refs {
		p := plans[r.plan]
		c := p.calls[r.call]
		path := (&kintone.Request{API: c.api, GuestSpace: p.app.GuestSpace}).Path()
		reqs[i] = request{Method: c.method, API: path, Payload: c.body}
		if !seen[p.app.ID] {
			seen[p.app.ID] = true
			apps = append(apps, p.app.ID)
			tokens = append(tokens, p.app.Tokens...)
		}
	}
	resp, err := w.g.client.Do(ctx, kintone.Request{Method: http.MethodPost, API: "bulkRequest.json", GuestSpace: space,
		App: apps[0], Tokens: dedupe(tokens), Body: map[string]any{"requests": reqs}, Lang: w.id.Lang})
	for _, a := range apps[1:] {
		w.g.client.Invalidate(a)
	}
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func tooManyAfterSplit(lang string) string {
	if lang == "ja" {
		return "kgate が分割した後のリクエストが20件を超えます。リクエストを分けて送信してください。"
	}
	return "After kgate splits upserts into updates and inserts, the request holds more than 20 requests. Send it in parts."
}

// upstream turns kintone's refusal of a write into what the member may
// see: kintone's code and status, and its field errors only under keys of
// fields the member may read or wrote themselves (the others become one
// generic entry). A failure that may have been applied becomes
// KGATE_WR01. In the member's bulkRequest the error is placed at the index
// of the operation kintone refused.
func (w *writer) upstream(ctx context.Context, err error, plans []*opPlan, refs []callRef, clientBulk bool) error {
	if mayBeApplied(err) {
		w.g.log.Warn("a write's outcome is unknown", zap.Error(err))
		return w.unknown(err)
	}
	var ke *kintone.Error
	if !errors.As(err, &ke) {
		return upstreamError(err, w.id.Lang, nil)
	}
	var be *kintone.BulkError
	if !errors.As(err, &be) || be.Index < 0 || be.Index >= len(refs) {
		if len(refs) == 1 {
			return w.memberError(ctx, ke, plans[0], 0)
		}
		return w.memberError(ctx, ke, nil, 0) // about the request as a whole
	}
	ref := refs[be.Index]
	out := w.memberError(ctx, ke, plans[ref.plan], ref.call)
	if clientBulk {
		return &kintone.BulkError{Index: ref.plan, Err: out}
	}
	return out
}

// memberError filters one kintone error for the member; p is the plan it
// concerns (nil: none, and no field may be named).
func (w *writer) memberError(ctx context.Context, ke *kintone.Error, p *opPlan, call int) *kintone.Error {
	lang := w.id.Lang
	out := kintone.NewError(ke.Code, lang)
	out.Status, out.Message = ke.Status, catalogueMessage(ke.Code, lang)
	var readable fieldSet
	if p != nil {
		readable, _ = w.readable(ctx, p.app)
	}
	hidden := map[string]bool{}
	for key, m := range ke.Errors {
		if p != nil && p.clientKey != nil {
			key = p.clientKey(call, key)
		}
		code, inner, prefix, isField := fieldOfKey(key)
		visible := !isField || (p != nil && (readable.readable(p.app.form, code) || p.sent[code]) &&
			(inner == "" || readable.readable(p.app.form, inner) || p.sent[inner]))
		if visible {
			out.With(key, m.Messages...)
		} else {
			hidden[prefix] = true
		}
	}
	for prefix := range hidden {
		out.With(prefix, hiddenFieldMessage(lang))
	}
	return out
}

func hiddenFieldMessage(lang string) string {
	if lang == "ja" {
		return "表示できないフィールドの値が kintone に受け付けられませんでした。管理者に連絡してください。"
	}
	return "kintone refused the value of a field you cannot see. Please contact the administrator."
}

var verb = regexp.MustCompile(`%(\[\d+\])?v`)

// catalogueMessage is kgate's text for a kintone code, with the values
// kintone would name left out: they may be the upstream's (a file key) or
// a hidden field's.
func catalogueMessage(code, lang string) string {
	return verb.ReplaceAllString(kintone.NewError(code, lang).Message, "-")
}

// fieldOfKey reads the record field an error key names: "record.title.value"
// → title; "records[2].record.items.value[0].value.cost.value" → items and
// cost; "record[amount].value" → amount. prefix is where the record sits
// ("record", "records[2].record"); isField is false for keys of request
// parameters ("id", "records[0].revision").
func fieldOfKey(key string) (code, inner, prefix string, isField bool) {
	rest := key
	switch {
	case strings.HasPrefix(rest, "records["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", "", false
		}
		prefix, rest = rest[:end+1], rest[end+1:]
		if strings.HasPrefix(rest, ".record.") || strings.HasPrefix(rest, ".record[") {
			prefix, rest = prefix+".record", rest[len(".record"):]
		}
	case strings.HasPrefix(rest, "record.") || strings.HasPrefix(rest, "record["):
		prefix, rest = "record", rest[len("record"):]
	default:
		return "", "", "", false
	}
	switch {
	case strings.HasPrefix(rest, "["):
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", "", false
		}
		code, rest = rest[1:end], rest[end+1:]
	case strings.HasPrefix(rest, "."):
		rest = rest[1:]
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			return "", "", "", false
		}
		code, rest = rest[:end], rest[end:]
	default:
		return "", "", "", false
	}
	if !strings.HasPrefix(rest, ".value") {
		return "", "", "", false
	}
	// A subtable's inner field: .value[N].value.<inner>.value
	if strings.HasPrefix(rest, ".value[") {
		after := rest[len(".value["):]
		if end := strings.IndexByte(after, ']'); end >= 0 {
			if _, err := strconv.Atoi(after[:end]); err == nil {
				tail := after[end+1:]
				if t, ok := strings.CutPrefix(tail, ".value."); ok {
					if e := strings.IndexAny(t, ".["); e > 0 {
						inner = t[:e]
					}
				}
			}
		}
	}
	return code, inner, prefix, true
}

// parseReply decodes kintone's answer to one call.
func parseReply(results []json.RawMessage, i int, v any) error {
	if i >= len(results) {
		return errMalformed
	}
	if err := json.Unmarshal(results[i], v); err != nil {
		return errMalformed
	}
	return nil
}
