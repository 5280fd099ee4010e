package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
)

// Process management. A status action is the policy action "status" with
// input.status_action set to the action's name: allow decides whether the
// member may run it at all, include (with the existing record) whether on
// this record. Assignees are a field like any other: changing them is an
// "update" of the STATUS_ASSIGNEE field, which must be writable (evaluated
// with the existing record), and the record with its new assignees must
// still satisfy include.

// StatusUpdate is one record of a status change: the action's name, the
// next assignee when the action needs one, and the revision the client
// expects (0 or NoRevision: no check).
type StatusUpdate struct {
	ID       string
	Action   string
	Assignee string
	Revision int64
}

// UpdateStatusRequest is PUT record/status.json.
type UpdateStatusRequest struct {
	App AppRef
	StatusUpdate
}

// UpdateStatusesRequest is PUT records/status.json (at most 100 records).
type UpdateStatusesRequest struct {
	App     AppRef
	Records []StatusUpdate
}

// UpdateAssigneesRequest is PUT record/assignees.json.
type UpdateAssigneesRequest struct {
	App       AppRef
	ID        string
	Assignees []string // kintone login names; empty clears them
	Revision  int64
}

// UpdateStatus runs a process action on one record, pinned to the revision
// kgate checked. kintone moves the revision on by 2.
func (g *Gateway) UpdateStatus(ctx context.Context, id *identity.Identity, req UpdateStatusRequest) (*Written, error) {
	ws, err := g.run(ctx, id, &req)
	if err != nil {
		return nil, err
	}
	return &ws[0], nil
}

// UpdateStatuses runs process actions on up to 100 records, atomically.
func (g *Gateway) UpdateStatuses(ctx context.Context, id *identity.Identity, req UpdateStatusesRequest) ([]Written, error) {
	return g.run(ctx, id, &req)
}

// UpdateAssignees sets a record's assignees.
func (g *Gateway) UpdateAssignees(ctx context.Context, id *identity.Identity, req UpdateAssigneesRequest) (*Written, error) {
	ws, err := g.run(ctx, id, &req)
	if err != nil {
		return nil, err
	}
	return &ws[0], nil
}

func (r *UpdateStatusRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planStatus(ctx, r.App, []StatusUpdate{r.StatusUpdate}, false)
}

func (r *UpdateStatusesRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planStatus(ctx, r.App, r.Records, true)
}

func (r *UpdateAssigneesRequest) plan(ctx context.Context, w *writer) (*opPlan, error) {
	return w.planAssignees(ctx, r)
}

// planStatus checks status actions.
func (w *writer) planStatus(ctx context.Context, ref AppRef, items []StatusUpdate, bulk bool) (*opPlan, error) {
	lang := w.id.Lang
	ev := w.event("status")
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	ev.App = wa.Alias
	if wa.status == "" {
		return nil, kintone.NewError("GAIA_ST02", lang)
	}
	if len(items) > maxWriteRecords {
		return nil, kintone.Invalid(lang).With("records", kintone.Message(kintone.MsgMaxUpdate, lang))
	}
	ids := make([]string, len(items))
	for i, it := range items {
		switch {
		case !validID(it.ID):
			return nil, kintone.Invalid(lang).With(param(bulk, i, "id"), invalidIDMessage(lang))
		case it.Action == "":
			return nil, kintone.Invalid(lang).With(param(bulk, i, "action"), kintone.Message(kintone.MsgRequiredParam, lang))
		}
		if _, err := w.allowedFor(ctx, ev, wa, "status", it.Action, it.Assignee); err != nil {
			return nil, err
		}
		ids[i] = it.ID
	}
	if err := w.load(ctx, wa, ids, nil); err != nil {
		return nil, err
	}
	sends := make([]map[string]any, len(items))
	for i, it := range items {
		cur := w.records[recordKey{wa.ID, it.ID}]
		switch {
		case cur == nil || cur.rec == nil:
			return nil, notFound(lang, it.ID)
		case cur.opaque:
			return nil, opaqueError(lang, it.ID)
		case !w.includesFor(ctx, wa, "status", it.Action, it.Assignee, cur.rec):
			return nil, w.hidden(ctx, ev, wa, cur.rec, notFound(lang, it.ID))
		case it.Revision > 0 && it.Revision != cur.rev:
			return nil, kintone.NewError("GAIA_CO02", lang)
		}
		s := map[string]any{"id": it.ID, "action": it.Action, "revision": strconv.FormatInt(cur.rev, 10)}
		if it.Assignee != "" {
			s["assignee"] = it.Assignee
		}
		sends[i] = s
		cur.rev += 2
		cur.opaque = true
		ev.RecordIDs = append(ev.RecordIDs, it.ID)
	}
	ev.Fields, ev.Records = []string{wa.status}, len(items)
	p := &opPlan{app: wa, ev: ev}
	if !bulk {
		body := map[string]any{"app": wa.ID}
		for k, v := range sends[0] {
			body[k] = v
		}
		p.calls = []upCall{{http.MethodPut, "record/status.json", body}}
		p.reply = revisionReply(items[0].ID)
		return p, nil
	}
	p.calls = []upCall{{http.MethodPut, "records/status.json", map[string]any{"app": wa.ID, "records": sends}}}
	p.reply = func(results []json.RawMessage) (json.RawMessage, []Written, error) {
		var out struct {
			Records []Written `json:"records"`
		}
		if err := parseReply(results, 0, &out); err != nil || len(out.Records) != len(items) {
			return nil, nil, errMalformed
		}
		return results[0], out.Records, nil
	}
	return p, nil
}

// revisionReply reads {revision} for record id.
func revisionReply(id string) func([]json.RawMessage) (json.RawMessage, []Written, error) {
	return func(results []json.RawMessage) (json.RawMessage, []Written, error) {
		var out struct {
			Revision string `json:"revision"`
		}
		if err := parseReply(results, 0, &out); err != nil || out.Revision == "" {
			return nil, nil, errMalformed
		}
		return results[0], []Written{{ID: id, Revision: out.Revision}}, nil
	}
}

// planAssignees checks a change of assignees.
func (w *writer) planAssignees(ctx context.Context, r *UpdateAssigneesRequest) (*opPlan, error) {
	lang := w.id.Lang
	ev := w.event("update")
	wa, err := w.app(ctx, r.App)
	if err != nil {
		return nil, err
	}
	ev.App = wa.Alias
	if wa.assignee == "" {
		return nil, kintone.NewError("GAIA_ST02", lang)
	}
	if !validID(r.ID) {
		return nil, kintone.Invalid(lang).With("id", invalidIDMessage(lang))
	}
	if len(r.Assignees) > maxWriteRecords {
		return nil, kintone.Invalid(lang).With("assignees", kintone.Message(kintone.MsgMaxItems, lang, maxWriteRecords))
	}
	if _, err := w.allowed(ctx, ev, wa, "update", ""); err != nil {
		return nil, err
	}
	if err := w.load(ctx, wa, []string{r.ID}, nil); err != nil {
		return nil, err
	}
	cur := w.records[recordKey{wa.ID, r.ID}]
	switch {
	case cur == nil || cur.rec == nil:
		return nil, notFound(lang, r.ID)
	case cur.opaque:
		return nil, opaqueError(lang, r.ID)
	case !w.includes(ctx, wa, "update", "", cur.rec):
		return nil, w.hidden(ctx, ev, wa, cur.rec, notFound(lang, r.ID))
	case r.Revision > 0 && r.Revision != cur.rev:
		return nil, kintone.NewError("GAIA_CO02", lang)
	}
	dec, err := w.recordDecision(ctx, ev, wa, "update", cur.rec)
	if err != nil {
		return nil, err
	}
	if !dec.Writable.Has(wa.assignee) {
		ev.Outcome = "denied"
		return nil, denied(lang, nil).With("assignees", notWritableMessage(lang))
	}
	merged := cloneRecord(cur.rec)
	merged[wa.assignee] = kintone.FieldValue{Type: "STATUS_ASSIGNEE", Value: entityValue(r.Assignees)}
	if !w.includes(ctx, wa, "update", "", merged) {
		ev.Outcome = "denied"
		return nil, denied(lang, nil).With("assignees", invisibleMessage(lang, true))
	}
	assignees := r.Assignees
	if assignees == nil {
		assignees = []string{}
	}
	body := map[string]any{"app": wa.ID, "id": r.ID, "assignees": assignees, "revision": strconv.FormatInt(cur.rev, 10)}
	cur.rec, cur.rev = merged, cur.rev+1
	ev.RecordIDs, ev.Fields, ev.Records = []string{r.ID}, []string{wa.assignee}, 1
	p := &opPlan{app: wa, ev: ev, calls: []upCall{{http.MethodPut, "record/assignees.json", body}}}
	p.reply = revisionReply(r.ID)
	return p, nil
}

// initialState is the state a new record of wa starts in.
func (g *Gateway) initialState(ctx context.Context, wa *writeApp) (string, bool) {
	e, ok := g.processSettings(ctx, wa)
	return e.initial, ok && e.initial != ""
}

// processActions are wa's process actions; none when kintone cannot be
// asked (the record page then offers no action, and says nothing wrong).
func (g *Gateway) processActions(ctx context.Context, wa *writeApp) []processAction {
	e, _ := g.processSettings(ctx, wa)
	return e.actions
}

// processSettings returns wa's process settings, from kintone at most
// once per form lifetime: a record page would otherwise cost an extra
// kintone call on every view of an app with process management.
func (g *Gateway) processSettings(ctx context.Context, wa *writeApp) (processEntry, bool) {
	pc := &g.writes.process
	pc.mu.Lock()
	e, ok := pc.m[wa.ID]
	pc.mu.Unlock()
	if ok && g.now().Sub(e.fetched) < pc.ttl {
		return e, true
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: http.MethodGet, API: "app/status.json", GuestSpace: wa.GuestSpace,
		App: wa.ID, Tokens: wa.Tokens, Params: url.Values{"app": {wa.ID}}})
	if err != nil {
		return processEntry{}, false
	}
	var body struct {
		Enable bool `json:"enable"`
		States map[string]struct {
			Name  string `json:"name"`
			Index string `json:"index"`
		} `json:"states"`
		Actions []processAction `json:"actions"`
	}
	if json.Unmarshal(resp.Body, &body) != nil {
		return processEntry{}, false
	}
	e = processEntry{fetched: g.now()}
	if body.Enable {
		best := -1
		for _, st := range body.States {
			if i, err := strconv.Atoi(st.Index); err == nil && (best < 0 || i < best) {
				e.initial, best = st.Name, i
			}
		}
		e.actions = body.Actions
	}
	pc.mu.Lock()
	if pc.m == nil {
		pc.m = map[string]processEntry{}
	}
	pc.m[wa.ID] = e
	pc.mu.Unlock()
	return e, true
}
