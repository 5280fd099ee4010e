package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
)

// Notifications: kgate learns of a change from kintone's webhook and tells
// the members who may read the record. The record is read once, whole, with
// the app's token (a Snapshot), and judged for each member in kgate by the
// same record filter every read surface runs — read's decision, the full
// policy evaluation of the row rules, readable fields, masks — so what a
// member is told is exactly what GetRecord would give them, at no kintone
// call per member.

// Snapshot is one record as kintone held it when kgate read it.
type Snapshot struct {
	app  *app
	id   string
	body []byte // kintone's records.json answer holding just this record
}

// App is the alias of the snapshot's app; Ref reaches the app; Record is
// the record's id.
func (s *Snapshot) App() string    { return s.app.Alias }
func (s *Snapshot) Ref() AppRef    { return AppRef{ID: s.app.ID, Space: s.app.GuestSpace} }
func (s *Snapshot) Record() string { return s.id }

// Notifies reports whether kgate opens the app with kintone id appID, and
// its alias.
func (g *Gateway) Notifies(appID string) (alias string, ok bool) {
	a := g.apps[appID]
	if a == nil {
		return "", false
	}
	return a.Alias, true
}

// ErrNoRecord is ReadSnapshot's answer for a record kintone does not have
// (deleted, or never there).
var ErrNoRecord = errors.New("gateway: no such record")

// ReadSnapshot reads record recordID of the app with kintone id appID,
// every field, with the app's token.
func (g *Gateway) ReadSnapshot(ctx context.Context, appID, recordID string) (*Snapshot, error) {
	a := g.apps[appID]
	if a == nil {
		return nil, kintone.NewError("GAIA_AP01", "en", appID)
	}
	if !validID(recordID) {
		return nil, kintone.Invalid("en").With("id", invalidIDMessage("en"))
	}
	one := 1
	q := &kql.Query{Where: &kql.Cond{Field: "$id", Op: kql.Eq, Values: []kql.Value{{Kind: kql.Number, Text: recordID}}}, Limit: &one}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "records.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: url.Values{"app": {a.ID}, "query": {q.String()}}})
	if err != nil {
		return nil, err
	}
	var page struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, errMalformed
	}
	if len(page.Records) == 0 {
		return nil, ErrNoRecord
	}
	return &Snapshot{app: a, id: recordID, body: resp.Body}, nil
}

// Notice is a snapshot's record as one member may read it.
type Notice struct {
	// Record is the record as GetRecord would return it to the member:
	// readable fields only, masks applied. nil when the member may not
	// read the record.
	Record json.RawMessage
	// Comments says whether the member may read the record's comments:
	// comment.read is allowed and its row rule holds on the record too.
	Comments bool
	// Reasons are the policy's reasons when read is refused.
	Reasons       []string
	PolicyVersion string
}

// NoticeFor judges s for the member id under ctx's policy view (pin ctx
// once to judge every member of one change under one version). A refusal
// by the policy is a Notice without a Record, not an error; errors are
// kgate's or kintone's (the app's form could not be read).
func (g *Gateway) NoticeFor(ctx context.Context, id *identity.Identity, s *Snapshot) (*Notice, error) {
	view := g.view(ctx)
	n := &Notice{PolicyVersion: view.Version()}
	rec, err := g.judge(ctx, id, s)
	if err != nil || rec == nil {
		n.Reasons = reasonsOf(err)
		if refused(err) {
			err = nil
		}
		return n, err
	}
	n.Record = rec
	rec, err = g.judge(ctx, id, s, "comment.read")
	if err != nil && !refused(err) {
		return nil, err
	}
	n.Comments = rec != nil
	return n, nil
}

// judge runs s's record through the filter of a plan for read and also:
// the record the member gets, or nil when the policy refuses it.
func (g *Gateway) judge(ctx context.Context, id *identity.Identity, s *Snapshot, also ...string) (json.RawMessage, error) {
	p, err := g.planRead(ctx, g.view(ctx), id, s.app, also...)
	if err != nil || p.never {
		return nil, err
	}
	page, err := g.filter(ctx, p, nil).page(s.body)
	if err != nil || len(page.Records) != 1 {
		return nil, err
	}
	return page.Records[0], nil
}

// refused reports whether err is the policy's refusal (CB_NO02).
func refused(err error) bool {
	var ke *kintone.Error
	return errors.As(err, &ke) && ke.Code == "CB_NO02"
}

// SnapshotComment re-reads comment commentID of s's record from kintone
// (among the record's newest 10, where a comment a webhook just announced
// is). nil when kintone does not have it there.
func (g *Gateway) SnapshotComment(ctx context.Context, s *Snapshot, commentID string) (*Comment, error) {
	if _, err := strconv.ParseUint(commentID, 10, 63); err != nil {
		return nil, nil
	}
	params := url.Values{"app": {s.app.ID}, "record": {s.id}, "order": {"desc"}, "limit": {"10"}}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "record/comments.json", GuestSpace: s.app.GuestSpace,
		App: s.app.ID, Tokens: s.app.Tokens, Params: params})
	if err != nil {
		return nil, err
	}
	var out Comments
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, errMalformed
	}
	for _, c := range out.Comments {
		if c.ID == commentID {
			return &c, nil
		}
	}
	return nil, nil
}

// FieldOrder returns the field codes of the app with kintone id appID in
// the order its form lays them out (a table's code stands for its
// columns), read with the app's token. A notification lists each member's
// readable fields in this order; the codes themselves are never shown.
func (g *Gateway) FieldOrder(ctx context.Context, appID string) ([]string, error) {
	a := g.apps[appID]
	if a == nil {
		return nil, kintone.NewError("GAIA_AP01", "en", appID)
	}
	resp, err := g.client.Do(ctx, kintone.Request{Method: "GET", API: "app/form/layout.json", GuestSpace: a.GuestSpace,
		App: a.ID, Tokens: a.Tokens, Params: url.Values{"app": {a.ID}}})
	if err != nil {
		return nil, err
	}
	var body struct {
		Layout []layoutItem `json:"layout"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, errMalformed
	}
	var out []string
	var walk func([]layoutItem)
	walk = func(items []layoutItem) {
		for _, it := range items {
			switch {
			case it.Type == "SUBTABLE":
				out = append(out, it.Code)
			case it.Type == "GROUP":
				walk(it.Layout)
			case it.Type == "ROW":
				walk(it.Fields)
			case it.Code != "":
				out = append(out, it.Code)
			}
		}
	}
	walk(body.Layout)
	return out, nil
}

// AppName returns the name kintone gives the app with id appID, read with
// the app's token; a notification names the app a member may read by it.
func (g *Gateway) AppName(ctx context.Context, appID string) (string, error) {
	a := g.apps[appID]
	if a == nil {
		return "", kintone.NewError("GAIA_AP01", "en", appID)
	}
	info, err := g.appInfo(ctx, &identity.Identity{}, a)
	if err != nil {
		return "", err
	}
	return info.Name, nil
}
