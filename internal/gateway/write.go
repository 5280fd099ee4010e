package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/policy"
)

// The write path. Every write runs in three steps:
//
//  1. plan: decide, read what the write depends on fresh from kintone (one
//     query per app for all the records of a request), check every record
//     against the policy, and build the upstream request;
//  2. send it as one kintone call (one bulkRequest when it takes several),
//     pinned to the revisions kgate checked, so a change made in between
//     fails with kintone's 409 GAIA_CO02 instead of slipping past the check;
//  3. audit it, whatever happened.
//
// Nothing is sent unless every record of the request passed, and nothing
// is ever retried: when kintone's answer does not say whether a write was
// applied (a timeout, a 5xx or 429, a broken answer), the member is told
// exactly that (KGATE_WR01) and the audit log says outcome "unknown".

// Written is one record a write created or changed.
type Written struct {
	ID        string `json:"id"`
	Revision  string `json:"revision"`
	Operation string `json:"operation,omitempty"` // upserts: "INSERT" or "UPDATE"
}

// UpdateKey names a record by a field with unique values, as kintone's
// updateKey does.
type UpdateKey struct {
	Field string
	Value string
}

// NoRevision is the revision to send when the client expects none: kintone
// skips its check for -1.
const NoRevision int64 = -1

// writeState is what the write path keeps between requests.
type writeState struct {
	maxUpload        int64
	uploadTTL        time.Duration
	uploadsPerRecord int
	comments         CommentAuthors
	process          processCache
}

func newWriteState(cfg Config) *writeState {
	w := &writeState{maxUpload: cfg.MaxUploadSize, uploadTTL: cfg.UploadTokenTTL, uploadsPerRecord: cfg.MaxUploadsPerRecord,
		comments: cfg.CommentAuthors}
	if w.comments == nil {
		w.comments = NewMemoryCommentAuthors(MemoryCommentAuthorsSize)
	}
	if w.maxUpload <= 0 {
		w.maxUpload = 100 << 20
	}
	if w.uploadsPerRecord <= 0 {
		w.uploadsPerRecord = 10
	}
	w.process.ttl = cfg.SchemaTTL
	return w
}

// writer is one write request being checked: who asks, the decisions made
// so far, and every record the request reads or changes, as the request
// will have left it (so that a later part of a bulk request is checked
// against what an earlier part did).
type writer struct {
	g         *Gateway
	id        *identity.Identity
	view      policy.View // the one policy version the request is decided under
	now       time.Time
	decisions map[decisionKey]*policy.Decision
	records   map[recordKey]*current
	apps      map[string]*writeApp
	events    []*audit.Event // one per operation
	req       audit.Request  // the HTTP request the events carry
}

type decisionKey struct{ app, action, statusAction, assignee string }

type recordKey struct{ app, id string }

// current is a record as the request will have left it.
type current struct {
	rec kintone.Record // nil once an earlier part deleted it
	rev int64
	// opaque is set once an earlier part ran a process action on the
	// record: kgate cannot know the state it leads to, so it checks no
	// further write of that record in the same request.
	opaque bool
}

func (g *Gateway) newWriter(ctx context.Context, id *identity.Identity) *writer {
	return &writer{g: g, id: id, req: audit.RequestFrom(ctx), view: g.view(ctx), now: g.now(), decisions: map[decisionKey]*policy.Decision{},
		records: map[recordKey]*current{}, apps: map[string]*writeApp{}}
}

// writeApp is an app as the write path needs it.
type writeApp struct {
	*app
	form     *form
	mapped   map[string]bool     // fields a lookup fills: kintone ignores what clients write there
	sources  map[string][]string // fields kintone computes → the fields they are computed from
	status   string              // code of the STATUS field when process management is on
	assignee string              // code of the STATUS_ASSIGNEE field
}

func (w *writer) app(ctx context.Context, ref AppRef) (*writeApp, error) {
	a, err := w.g.resolve(w.id, ref)
	if err != nil {
		return nil, err
	}
	if wa := w.apps[a.ID]; wa != nil {
		return wa, nil
	}
	f, err := a.forms.get(ctx, "")
	if err != nil {
		return nil, upstreamError(err, w.id.Lang, nil)
	}
	wa := &writeApp{app: a, form: f, mapped: map[string]bool{}, sources: computedSources(f)}
	for code, p := range f.props {
		switch p.Type {
		case "STATUS":
			if p.Enabled == nil || *p.Enabled {
				wa.status = code
			}
		case "STATUS_ASSIGNEE":
			if p.Enabled == nil || *p.Enabled {
				wa.assignee = code
			}
		}
		if p.Lookup != nil {
			for _, m := range p.Lookup.FieldMappings {
				wa.mapped[m.Field] = true
			}
		}
	}
	w.apps[a.ID] = wa
	return wa, nil
}

// decision is the policy's answer for an action on the app without a
// record, asked once per request.
func (w *writer) decision(ctx context.Context, wa *writeApp, action, statusAction string) (*policy.Decision, error) {
	return w.decisionFor(ctx, wa, action, statusAction, "")
}

// decisionFor is decision for a status action that names its next
// assignee.
func (w *writer) decisionFor(ctx context.Context, wa *writeApp, action, statusAction, assignee string) (*policy.Decision, error) {
	k := decisionKey{wa.ID, action, statusAction, assignee}
	if d, ok := w.decisions[k]; ok {
		return d, nil
	}
	in := input(w.id, wa.app, action)
	in.StatusAction, in.Assignee = statusAction, assignee
	d, err := w.view.Decide(ctx, in)
	if err != nil {
		w.g.log.Error("policy decision failed", zap.String("app", wa.Alias), zap.String("action", action), zap.Error(err))
		return nil, policyError(w.id.Lang)
	}
	w.decisions[k] = d
	return d, nil
}

// allowed is decision, turning "no" into 403 CB_NO02 with the reasons.
func (w *writer) allowed(ctx context.Context, ev *audit.Event, wa *writeApp, action, statusAction string) (*policy.Decision, error) {
	return w.allowedFor(ctx, ev, wa, action, statusAction, "")
}

// allowedFor is allowed for a status action that names its next assignee.
func (w *writer) allowedFor(ctx context.Context, ev *audit.Event, wa *writeApp, action, statusAction, assignee string) (*policy.Decision, error) {
	if err := w.viewOnly(ev); err != nil {
		return nil, err
	}
	d, err := w.decisionFor(ctx, wa, action, statusAction, assignee)
	if err != nil {
		return nil, err
	}
	ev.PolicyVersion = d.Version
	if !d.Allow {
		ev.Reasons, ev.Outcome = d.Reasons, "denied"
		return nil, denied(w.id.Lang, d.ReasonsIn(w.id.Lang))
	}
	return d, nil
}

// recordDecision is the decision for an action on one existing record:
// writable and presets may depend on it.
func (w *writer) recordDecision(ctx context.Context, ev *audit.Event, wa *writeApp, action string, rec kintone.Record) (*policy.Decision, error) {
	if err := w.viewOnly(ev); err != nil {
		return nil, err
	}
	in := input(w.id, wa.app, action)
	in.Record = policy.Flatten(rec)
	d, err := w.view.Decide(ctx, in)
	if err != nil {
		return nil, policyError(w.id.Lang)
	}
	if !d.Allow {
		ev.Reasons, ev.Outcome = d.Reasons, "denied"
		return nil, denied(w.id.Lang, d.ReasonsIn(w.id.Lang))
	}
	return d, nil
}

// includes evaluates the row rule for action on a known record.
func (w *writer) includes(ctx context.Context, wa *writeApp, action, statusAction string, rec kintone.Record) bool {
	return w.includesFor(ctx, wa, action, statusAction, "", rec)
}

// includesFor is includes for a status action that names its next
// assignee.
func (w *writer) includesFor(ctx context.Context, wa *writeApp, action, statusAction, assignee string, rec kintone.Record) bool {
	in := input(w.id, wa.app, action)
	in.StatusAction, in.Assignee = statusAction, assignee
	in.Record = policy.Flatten(rec)
	ok, err := w.view.Include(ctx, in)
	return err == nil && ok
}

// readable is the set of fields the member may see in wa.
func (w *writer) readable(ctx context.Context, wa *writeApp) (fieldSet, error) {
	d, err := w.decision(ctx, wa, "read", "")
	if err != nil {
		return fieldSet{}, err
	}
	if !d.Allow {
		return fieldSet{}, nil
	}
	return newFieldSet(d.Readable), nil
}

// hidden answers for an existing record that fails the row rule of a
// write: exactly as for a record that does not exist, unless the member
// may read the record anyway — then 403, since "not found" would be a lie
// that hides nothing.
func (w *writer) hidden(ctx context.Context, ev *audit.Event, wa *writeApp, rec kintone.Record, missing error) error {
	ev.Outcome = "denied"
	if d, err := w.decision(ctx, wa, "read", ""); err == nil && d.Allow && w.includes(ctx, wa, "read", "", rec) {
		return denied(w.id.Lang, nil)
	}
	return missing
}

// viewOnly refuses every write of an identity staff are viewing the portal
// as: allowedFor and recordDecision are where every write asks for its
// permission, so no handler can write around it.
func (w *writer) viewOnly(ev *audit.Event) error {
	if w.id.ViewedBy == "" {
		return nil
	}
	ev.Outcome = "denied"
	ev.Reasons = []string{"viewing as a member is read-only"}
	return ownError(http.StatusForbidden, "KGATE_VA01", w.id.Lang,
		"メンバーとして表示中は閲覧のみです。変更はできません。",
		"You are viewing as a member: nothing can be changed.")
}

func denied(lang string, reasons []string) *kintone.Error {
	e := kintone.NewError("CB_NO02", lang)
	if len(reasons) > 0 {
		e.With("policy", reasons...)
	}
	return e
}

// event starts the audit event of one operation of the request.
func (w *writer) event(action string) *audit.Event {
	ev := &audit.Event{Kind: "write", Action: action, PolicyVersion: w.view.Version()}
	w.events = append(w.events, ev)
	return ev
}

// finish writes the request's audit events, one per operation, each with
// the request's outcome: "denied" when the policy refused any part of it,
// "unknown" when kintone may have applied it without kgate learning so,
// "error" for any other failure, "ok" otherwise.
func (w *writer) finish(err error, upstream int) {
	outcome := "ok"
	var uk *unknownOutcome
	switch {
	case err == nil:
	case w.denied():
		outcome = "denied"
	case errors.As(err, &uk):
		outcome = "unknown"
	default:
		outcome = "error"
	}
	for _, ev := range w.events {
		ev.UpstreamStatus, ev.Outcome = upstream, outcome
		ev.Allowed = outcome != "denied"
		ev.Duration = w.g.now().Sub(w.now)
		if err != nil {
			ev.Error = err.Error()
		}
		sort.Strings(ev.Fields)
		ev.Fields = compactStrings(ev.Fields)
		w.g.logEvent(w.req, w.id, *ev)
	}
}

func (w *writer) denied() bool {
	for _, ev := range w.events {
		if ev.Outcome == "denied" {
			return true
		}
	}
	return false
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// unknownOutcome is the failure of a write whose effect kgate could not
// learn. It unwraps to the error the member gets.
type unknownOutcome struct {
	member *kintone.Error
	cause  error
}

func (u *unknownOutcome) Error() string { return "outcome unknown: " + u.cause.Error() }
func (u *unknownOutcome) Unwrap() error { return u.member }

// mayBeApplied reports whether a failed write may have taken effect: no
// answer (a timeout, a broken connection), or an answer kintone gives when
// it may have stopped half-way or under load (5xx, 429). kintone's own 4xx
// errors mean nothing was applied.
func mayBeApplied(err error) bool {
	var ke *kintone.Error
	var ue *kintone.UpstreamError
	switch {
	case errors.Is(err, kintone.ErrBusy):
		return false // kgate's own queue was full: never sent
	case errors.As(err, &ke):
		return ke.Status >= 500 || ke.Status == http.StatusTooManyRequests
	case errors.As(err, &ue):
		return ue.Status >= 500 || ue.Status == http.StatusTooManyRequests
	}
	return true
}

// unknown is what the member gets when a write's outcome is unknown. It is
// never 503: clients retry those, and a retried write could apply twice.
func (w *writer) unknown(cause error) error {
	status := http.StatusBadGateway
	if errors.Is(cause, context.DeadlineExceeded) || isTimeout(cause) {
		status = http.StatusGatewayTimeout
	}
	return &unknownOutcome{cause: cause, member: ownError(status, "KGATE_WR01", w.id.Lang,
		"kintone から書き込みの結果を受け取れませんでした。書き込みが反映されたかどうかは不明です。再実行する前に、レコードの状態を確認してください。",
		"kintone did not confirm this write, so it may or may not have been applied. Check the records before you try again.")}
}

func revisionOf(rec kintone.Record) int64 {
	n, _ := strconv.ParseInt(stringValue(rec["$revision"]), 10, 64)
	return n
}

func idOf(rec kintone.Record) string { return stringValue(rec["$id"]) }

// stringValue reads a field whose value is a string ("" otherwise).
func stringValue(fv kintone.FieldValue) string {
	var s string
	json.Unmarshal(fv.Value, &s)
	return s
}

// processCache keeps each app's initial process state.
type processCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]processEntry
}

// processEntry is an app's process settings as kgate uses them: the state
// a new record starts in and the actions, read together from one
// app/status.json and kept as long as the form.
type processEntry struct {
	initial string
	actions []processAction
	fetched time.Time
}
