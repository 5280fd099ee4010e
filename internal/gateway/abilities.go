package gateway

import (
	"context"
	"slices"
	"sort"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/policy"
)

// Abilities is what the policy lets a member do in an app, or to one
// record, so that a user interface offers exactly that: no button the
// write path would refuse, no input for a field the member may not set, no
// link to a file the download would refuse. It grants nothing: every write
// and every download is checked again when it is made.
type Abilities struct {
	Create  bool // may add records (CreateAbilities)
	Update  bool // may change some field of this record
	Delete  bool // may delete this record
	Comment bool // may comment on this record
	Upload  bool // may upload files to attach
	// ReadComments: may read this record's comments (comment.read).
	ReadComments bool
	// Download: may download this record's files (file.read).
	Download bool
	// Writable are the fields the member may set, on create or on this
	// record, sorted: top-level codes and, for a subtable, its inner codes
	// too. Only fields the member may read are named, never a masked one
	// (a form could not show its value), a preset or a lookup-filled one.
	Writable []string
	// Presets are the fields the policy sets itself on this write, sorted.
	// Only readable ones are named.
	Presets []string
	// Actions are the process-management actions the member may run on
	// this record in its current state, in the app's order.
	Actions []string
}

// CreateAbilities reports whether the member may add records to the app,
// which fields they may fill in, and whether they may attach files.
func (g *Gateway) CreateAbilities(ctx context.Context, id *identity.Identity, ref AppRef) (*Abilities, error) {
	w := g.newWriter(ctx, id)
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	vis, err := w.visibility(ctx, wa)
	if err != nil {
		return nil, err
	}
	ab := &Abilities{}
	d, err := w.decision(ctx, wa, "create", "")
	if err != nil {
		return nil, err
	}
	if d.Allow {
		ab.Create = true
		ab.Writable, ab.Presets = vis.fields(d.Writable.Has, d.Presets)
	}
	if ab.Upload, err = w.may(ctx, wa, "file.write", "", nil); err != nil {
		return nil, err
	}
	return ab, nil
}

// offer is what a record page could offer, decided before the record is
// read: the decisions without a record say which actions could hold on it
// at all, and so which fields the one read of the record must bring for
// the policy to judge them on it.
type offer struct {
	w  *writer
	wa *writeApp
	p  *readPlan
	// comment.read and file.read are allowed and their rules include some
	// record; rules are the fields those rules read.
	comments, files bool
	rules           []string
	// writes: some write could hold. Their decisions may read any field of
	// the record (update's writable and presets do), so the read brings
	// every field, as the write path's own reads do.
	writes  bool
	actions []processAction // the process actions the member may run from some state
}

// pageOffer makes the decisions without a record under p's policy view.
// Whatever the policy cannot decide is not offered.
func (g *Gateway) pageOffer(ctx context.Context, id *identity.Identity, p *readPlan) (*offer, error) {
	w := g.newWriter(ctx, id)
	w.view = p.view
	wa, err := w.app(ctx, AppRef{ID: p.app.ID, Space: p.app.GuestSpace})
	if err != nil {
		return nil, err
	}
	o := &offer{w: w, wa: wa, p: p}
	for _, r := range []struct {
		action string
		to     *bool
	}{{"comment.read", &o.comments}, {"file.read", &o.files}} {
		if !o.allowed(ctx, r.action, "") {
			continue
		}
		rr, err := g.rowRule(ctx, p, input(id, p.app, r.action))
		if err != nil || rr.Never {
			continue
		}
		*r.to = true
		o.rules = append(o.rules, rr.Fields...)
	}
	for _, action := range []string{"update", "delete", "comment.write"} {
		o.writes = o.writes || o.allowed(ctx, action, "")
	}
	if wa.status != "" {
		for _, a := range g.processActions(ctx, wa) {
			if o.allowed(ctx, "status", a.Name) {
				o.actions = append(o.actions, a)
				o.writes = true
			}
		}
	}
	return o, nil
}

// allowed is the decision without a record; a decision that fails (and is
// logged) allows nothing.
func (o *offer) allowed(ctx context.Context, action, statusAction string) bool {
	d, err := o.w.decision(ctx, o.wa, action, statusAction)
	return err == nil && d.Allow
}

// upstream is the fields to ask kintone for (nil: every field): what the
// member may read and read's rule reads, and what the other rules judged
// on the record read.
func (o *offer) upstream() []string {
	if o.writes {
		return nil
	}
	fields := o.p.upstreamFields(nil)
	if fields == nil {
		return nil
	}
	for _, c := range o.rules {
		if !slices.Contains(fields, c) {
			fields = append(fields, c)
		}
	}
	slices.Sort(fields[1:]) // upstreamFields' canonical order: $id, then sorted
	return fields
}

// abilities judges the offer on rec, the record as kintone holds it (with
// the fields upstream asked for). Every row rule is evaluated in full; a
// decision that fails allows nothing.
func (o *offer) abilities(ctx context.Context, rec kintone.Record) Abilities {
	w, wa := o.w, o.wa
	holds := func(action, statusAction string) bool {
		return o.allowed(ctx, action, statusAction) && w.includes(ctx, wa, action, statusAction, rec)
	}
	ab := Abilities{
		ReadComments: o.comments && w.includes(ctx, wa, "comment.read", "", rec),
		Download:     o.files && w.includes(ctx, wa, "file.read", "", rec),
		Upload:       o.allowed(ctx, "file.write", ""),
	}
	if !o.writes {
		return ab
	}
	if holds("update", "") {
		if d, err := w.decideOn(ctx, wa, "update", rec); err != nil {
			w.g.log.Error("policy decision failed", zap.String("app", wa.Alias), zap.String("action", "update"), zap.Error(err))
		} else if d.Allow {
			vis := &visibility{wa: wa, readable: o.p.readable, masks: o.p.dec.Masks}
			if writable, presets := vis.fields(d.Writable.Has, d.Presets); len(writable) > 0 {
				ab.Update, ab.Writable, ab.Presets = true, writable, presets
			}
		}
	}
	ab.Delete = holds("delete", "")
	ab.Comment = holds("comment.write", "")
	if wa.status != "" {
		state := stringValue(rec[wa.status])
		for _, a := range o.actions {
			if a.From == state && w.includes(ctx, wa, "status", a.Name, rec) {
				ab.Actions = append(ab.Actions, a.Name)
			}
		}
	}
	return ab
}

// may reports whether the policy allows action (and, with a record, whether
// the record satisfies the row rule for it).
func (w *writer) may(ctx context.Context, wa *writeApp, action, statusAction string, rec kintone.Record) (bool, error) {
	d, err := w.decision(ctx, wa, action, statusAction)
	if err != nil || !d.Allow {
		return false, err
	}
	return rec == nil || w.includes(ctx, wa, action, statusAction, rec), nil
}

// decideOn is the decision for action on a known record, as the write
// path makes it: writable and presets may depend on the record.
func (w *writer) decideOn(ctx context.Context, wa *writeApp, action string, rec kintone.Record) (*policy.Decision, error) {
	in := input(w.id, wa.app, action)
	in.Record = policy.Flatten(rec)
	d, err := w.view.Decide(ctx, in)
	if err != nil {
		return nil, policyError(w.id.Lang)
	}
	return d, nil
}

// visibility is what a member sees of an app's form: the readable fields
// and the masked ones.
type visibility struct {
	wa       *writeApp
	readable fieldSet
	masks    map[string]any
}

func (w *writer) visibility(ctx context.Context, wa *writeApp) (*visibility, error) {
	d, err := w.decision(ctx, wa, "read", "")
	if err != nil {
		return nil, err
	}
	v := &visibility{wa: wa}
	if d.Allow {
		v.readable, v.masks = newFieldSet(d.Readable), d.Masks
	}
	return v, nil
}

// fields lists the writable and preset fields a member may be told about.
func (v *visibility) fields(writable func(string) bool, presets map[string]any) (codes, preset []string) {
	form := v.wa.form
	shown := func(code string) bool {
		_, masked := v.masks[code]
		return v.readable.readable(form, code) && !masked
	}
	for code := range presets {
		if shown(code) {
			preset = append(preset, code)
		}
	}
	for code, p := range form.props {
		if _, preset := presets[code]; preset || !writableType(p.Type) || !shown(code) || v.wa.mapped[code] {
			continue
		}
		if p.Type == "SUBTABLE" {
			inner := 0
			for ic, ip := range p.Fields {
				if writableType(ip.Type) && (writable(code) || writable(ic)) && shown(ic) {
					codes = append(codes, ic)
					inner++
				}
			}
			if writable(code) || inner > 0 {
				codes = append(codes, code)
			}
			continue
		}
		if writable(code) {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	sort.Strings(preset)
	return codes, preset
}

// processAction is one action of an app's process (app/status.json).
type processAction struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// FilesReadable reports which of the records named the member may
// download files of, deciding as DownloadFile and StatFile do: read's and
// file.read's row rules compiled under one policy view, kintone asked (once
// for all the records) for those the rules include, and each answer
// re-checked in full. It is for pages that link each record's files (the
// portal's gallery): the records are ones the member was just shown, so
// when file.read's rule includes every record read's does, they all are,
// without a read. It grants nothing: each download is checked again.
func (g *Gateway) FilesReadable(ctx context.Context, id *identity.Identity, ref AppRef, recordIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	var ids []kql.Value
	for _, r := range recordIDs {
		if validID(r) {
			ids = append(ids, kql.Value{Kind: kql.Number, Text: r})
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	p, err := g.filePlan(ctx, id, ref)
	if err != nil || p == nil || p.never {
		return out, err
	}
	if p.filesAsRead() {
		for _, v := range ids {
			out[v.Text] = true
		}
		return out, nil
	}
	n := len(ids)
	body, _, err := g.readWhere(ctx, p, &kql.Query{Where: &kql.Cond{Field: "$id", Op: kql.In, Values: ids}, Limit: &n}, p.upstreamFields([]string{"$id"}))
	if err != nil {
		return nil, err
	}
	page, err := g.filterOne(p, g.filter(ctx, p, []string{"$id"}), body)
	if err != nil {
		return nil, err
	}
	recs, err := page.Decode()
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		out[stringValue(rec["$id"])] = true
	}
	return out, nil
}

// filesAsRead reports whether file.read's row rule includes every record
// read's does: it includes every record, or compiles to read's condition.
func (p *readPlan) filesAsRead() bool {
	read, files := p.rules[0].rule.Cond, p.rules[len(p.rules)-1].rule.Cond
	return files == nil || read != nil && kql.Format(read) == kql.Format(files)
}

// filePlan is DownloadFile's read plan for the app; nil when file.read
// is refused without a record.
func (g *Gateway) filePlan(ctx context.Context, id *identity.Identity, ref AppRef) (*readPlan, error) {
	a, err := g.resolve(id, ref)
	if err != nil {
		return nil, err
	}
	view := g.view(ctx)
	w := g.newWriter(ctx, id)
	w.view = view
	wa, err := w.app(ctx, ref)
	if err != nil {
		return nil, err
	}
	if ok, err := w.may(ctx, wa, "file.read", "", nil); err != nil || !ok {
		return nil, err
	}
	return g.planRead(ctx, view, id, a, "file.read")
}
