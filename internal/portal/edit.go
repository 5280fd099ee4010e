package portal

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// The create and edit forms (form.go builds them).

// inputsOf are the top-level fields of codes the form can offer as inputs.
func inputsOf(av *appView, codes []string) map[string]bool {
	out := map[string]bool{}
	for _, code := range codes {
		if p, ok := av.props[code]; ok && inputKind(p, false) != "" {
			out[code] = true
		}
	}
	return out
}

func setOf(codes []string) map[string]bool {
	out := make(map[string]bool, len(codes))
	for _, c := range codes {
		out[c] = true
	}
	return out
}

func codesOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// create answers the create form: GET shows it, POST submits it.
func (c *call) create(alias string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	if c.r.Method == http.MethodPost {
		c.createPost(av)
		return
	}
	ab, err := c.h.gw.CreateAbilities(c.ctx, c.id, av.ref)
	if err != nil {
		c.fail(err)
		return
	}
	if !ab.Create {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.create.refused")})
		return
	}
	inputs := inputsOf(av, ab.Writable)
	spec := &formSpec{av: av, inputs: inputs, writable: setOf(ab.Writable), upload: ab.Upload,
		data: c.dataFromDefaults(av, codesOf(inputs)), errs: newFormErrors()}
	c.renderForm(http.StatusOK, spec, &formBody{}, nil)
}

func (c *call) createPost(av *appView) {
	p := c.beginPost()
	if p == nil {
		return
	}
	defer p.done()
	d, present := c.dataFromForm(av, p.form)
	errs := newFormErrors()
	c.upload(av, p, d, present, errs)
	out := &outcome{status: http.StatusBadRequest, errs: errs}
	if errs.empty() {
		w, err := c.h.gw.AddRecord(c.ctx, c.id, gateway.AddRecordRequest{App: av.ref, Record: c.submitted(av, d, present)})
		if err == nil {
			c.succeed(p, recordPath(av.alias, w.ID)+"?notice=created")
			return
		}
		if out = c.refused(p, av, err); out == nil {
			return
		}
	} else {
		c.h.subs.fail(p.key, p.sub)
	}
	ab, err := c.h.gw.CreateAbilities(c.ctx, c.id, av.ref)
	if err != nil {
		c.fail(err)
		return
	}
	inputs := inputsOf(av, ab.Writable)
	for _, code := range present {
		inputs[code] = true // what the member sent is shown again, even if the policy changed meanwhile
	}
	spec := &formSpec{av: av, inputs: inputs, writable: setOf(append(ab.Writable, innerOf(av, present)...)), upload: ab.Upload, data: d, errs: out.errs}
	c.renderForm(out.status, spec, &formBody{Unknown: out.unknown, Idem: p.form.Get(idemField)}, nil)
}

// innerOf are the inner fields of the tables among codes, for showing a
// submission again as it was sent.
func innerOf(av *appView, codes []string) []string {
	var out []string
	for _, code := range codes {
		for ic := range av.props[code].Fields {
			out = append(out, ic)
		}
	}
	return out
}

// edit answers the edit form of a record.
func (c *call) edit(alias, recordID string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	if c.r.Method == http.MethodPost {
		c.editPost(av, recordID)
		return
	}
	rec, ab, err := c.readRecord(av, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	if !ab.Update {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.edit.refused")})
		return
	}
	inputs := inputsOf(av, ab.Writable)
	spec := &formSpec{av: av, inputs: inputs, writable: setOf(ab.Writable), readonly: true, upload: ab.Upload,
		data: c.dataFromRecord(av, rec, codesOf(inputs)), errs: newFormErrors(), record: rec}
	c.renderForm(http.StatusOK, spec, &formBody{Revision: stringValue(rec["$revision"])}, rec)
}

func (c *call) editPost(av *appView, recordID string) {
	p := c.beginPost()
	if p == nil {
		return
	}
	defer p.done()
	rev, err := strconv.ParseInt(p.form.Get("revision"), 10, 64)
	if err != nil || rev < 1 {
		c.h.subs.fail(p.key, p.sub)
		c.badRequest(c.loc.T("form.bad"))
		return
	}
	d, present := c.dataFromForm(av, p.form)
	errs := newFormErrors()
	c.upload(av, p, d, present, errs)
	out := &outcome{status: http.StatusBadRequest, errs: errs}
	if errs.empty() {
		_, err := c.h.gw.UpdateRecord(c.ctx, c.id, gateway.UpdateRecordRequest{App: av.ref,
			RecordUpdate: gateway.RecordUpdate{ID: recordID, Revision: rev, Record: c.submitted(av, d, present)}})
		if err == nil {
			c.succeed(p, recordPath(av.alias, recordID)+"?notice=saved")
			return
		}
		if out = c.refused(p, av, err); out == nil {
			return
		}
	} else {
		c.h.subs.fail(p.key, p.sub)
	}
	// Shown again with what the member sent, beside the record as it is
	// now; the revision stays the one the member edited, so a record that
	// changed meanwhile is never overwritten by sending this form again.
	rec, ab, _ := c.readRecord(av, recordID)
	spec := &formSpec{av: av, inputs: setOf(present), writable: setOf(append(present, innerOf(av, present)...)), readonly: true,
		data: d, errs: out.errs, record: rec}
	if ab != nil {
		spec.upload = ab.Upload
	}
	body := &formBody{Revision: strconv.FormatInt(rev, 10), Unknown: out.unknown, Idem: p.form.Get(idemField)}
	if out.conflict {
		body.Conflict = recordPath(av.alias, recordID)
	}
	c.renderForm(out.status, spec, body, rec)
}

// readRecord reads a record as the member sees it, with what they may do
// to it, in one read.
func (c *call) readRecord(av *appView, recordID string) (kintone.Record, *gateway.Abilities, error) {
	page, err := c.h.gw.RecordPage(c.ctx, c.id, gateway.RecordPageRequest{App: av.ref, Record: recordID})
	if err != nil {
		return nil, nil, err
	}
	var rec kintone.Record
	if err := json.Unmarshal(page.Record, &rec); err != nil {
		return nil, nil, err
	}
	return rec, &page.Abilities, nil
}

// renderForm shows a create form (rec nil) or the edit form of rec.
func (c *call) renderForm(status int, spec *formSpec, body *formBody, rec kintone.Record) {
	av := spec.av
	name, desc := c.appName(av)
	body.App = c.appHeader(av, name, desc, "")
	body.Token = c.formToken()
	if body.Idem == "" || body.Unknown {
		body.Idem = newKey()
	}
	body.Sections = c.formSections(spec)
	body.Errors = summary(c.loc, av, body.Sections, spec.errs)
	body.Summary = c.errorSummary(body.Errors)
	for code := range spec.inputs {
		p := av.props[code]
		body.Multipart = body.Multipart || p.Type == "FILE"
		body.Required = body.Required || p.Required
	}
	crumbs := []crumb{{Label: name, Href: appPath(av.alias)}}
	if rec == nil {
		body.Heading, body.Submit = c.loc.T("form.create.title"), c.loc.T("form.create.submit")
		body.Action, body.Cancel = appPath(av.alias)+"/new", appPath(av.alias)
		crumbs = append(crumbs, crumb{Label: body.Heading})
	} else {
		id := stringValue(rec["$id"])
		title := c.recordTitle(av, c.renderer(av), rec)
		body.Heading, body.Submit = c.loc.T("form.edit.title", title), c.loc.T("form.edit.submit")
		body.Action, body.Cancel = recordPath(av.alias, id)+"/edit", recordPath(av.alias, id)
		crumbs = append(crumbs, crumb{Label: title, Href: body.Cancel}, crumb{Label: c.loc.T("form.edit.crumb")})
	}
	title := body.Heading
	if len(body.Errors) > 0 || body.Conflict != "" {
		title = c.loc.T("form.error.title", title)
	}
	c.render(status, "form", c.newPage(title, body, crumbs...))
}
