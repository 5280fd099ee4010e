package portal

import (
	"encoding/json"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"go.uber.org/zap"

	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/kintone"
)

// Writes through the portal: create and edit forms, process actions,
// deletion (after a confirmation page) and comments. Every one is a POST
// that passes three checks before anything else happens (beginPost): the
// browser says it comes from this site, the form token is this member's
// for this browser session, and the form's key has not been submitted
// already. Every success answers with a redirect (POST-redirect-GET), so
// reloading the page that follows sends nothing again.

// post is a checked form submission.
type post struct {
	form url.Values
	mf   *multipart.Form // nil for an urlencoded form
	key  string          // the ledger key
	sub  *submission
}

// done forgets temporary files of an upload.
func (p *post) done() {
	if p.mf != nil {
		p.mf.RemoveAll()
	}
}

// beginPost reads and checks a submission. It answers the request itself
// and returns nil when the submission goes no further: refused, or a
// repeat of one already answered (it is then sent where that one was).
func (c *call) beginPost() *post {
	if !sameOrigin(c.r) {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.refused")})
		return nil
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, c.h.cfg.MaxFormSize)
	var err error
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		err = c.r.ParseMultipartForm(1 << 20)
	} else {
		err = c.r.ParseForm()
	}
	p := &post{form: c.r.PostForm, mf: c.r.MultipartForm}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		p.done()
		c.errorPage(http.StatusRequestEntityTooLarge, nil, []string{c.loc.T("form.too_large", c.loc.Size(c.h.cfg.MaxFormSize))})
		return nil
	case err != nil:
		p.done()
		c.badRequest(c.loc.T("form.bad"))
		return nil
	case !c.h.guard.check(c.r, c.me, p.form.Get(tokenField)):
		p.done()
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.refused")})
		return nil
	}
	idem := p.form.Get(idemField)
	if !validKey(idem) {
		p.done()
		c.badRequest(c.loc.T("form.bad"))
		return nil
	}
	p.key = c.me.Issuer + "\x00" + c.me.Subject + "\x00" + c.r.URL.Path + "\x00" + idem
	sub, first, err := c.h.subs.begin(c.ctx, p.key)
	if err != nil {
		p.done()
		c.errorPage(http.StatusServiceUnavailable, nil, nil)
		return nil
	}
	if !first {
		p.done()
		c.repeated(sub)
		return nil
	}
	p.sub = sub
	return p
}

// validKey reports whether s is a form key as newKey makes them.
func validKey(s string) bool {
	if len(s) != 22 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// newKey is a fresh form key.
func newKey() string { return randomKey(16) }

// repeated answers a submission of a form already submitted: where the
// first one led, or that its outcome is unknown.
func (c *call) repeated(sub *submission) {
	if sub.location != "" {
		http.Redirect(c.w, c.r, sub.location, http.StatusSeeOther)
		return
	}
	c.errorPage(http.StatusConflict, nil, []string{c.loc.T("form.unknown")})
}

// succeed records a submission's result and redirects to it.
func (c *call) succeed(p *post, location string) {
	c.h.subs.succeed(p.sub, location)
	http.Redirect(c.w, c.r, location, http.StatusSeeOther)
}

// outcome is what a refused write means for the form.
type outcome struct {
	status   int
	errs     *formErrors
	conflict bool // the record changed since the form was rendered
	unknown  bool // kintone did not confirm the write
}

// refused sorts a failed write. When the form cannot help (the member may
// not write here at all, the record is gone, kintone is down) it answers
// with an error page and returns nil; otherwise the form is shown again
// with what the outcome says. Either way the ledger learns the result.
func (c *call) refused(p *post, av *appView, err error) *outcome {
	var ke *kintone.Error
	if !errors.As(err, &ke) {
		c.h.subs.fail(p.key, p.sub)
		c.fail(err)
		return nil
	}
	if ke.Code == "KGATE_WR01" {
		c.h.subs.unconfirmed(p.sub)
		return &outcome{status: ke.Status, errs: newFormErrors(), unknown: true}
	}
	c.h.subs.fail(p.key, p.sub)
	switch {
	case ke.Code == "GAIA_CO02":
		return &outcome{status: http.StatusConflict, errs: newFormErrors(), conflict: true}
	case ke.Code == "CB_NO02" && !namesFields(ke):
		c.errorPage(http.StatusForbidden, ke.Errors["policy"].Messages, nil)
		return nil
	case ke.Status == http.StatusNotFound:
		c.errorPage(http.StatusNotFound, nil, nil)
		return nil
	case ke.Status == http.StatusBadRequest || ke.Status == http.StatusForbidden || ke.Status == http.StatusRequestEntityTooLarge:
		return &outcome{status: ke.Status, errs: placeErrors(ke, av, c.loc)}
	}
	c.fail(err)
	return nil
}

// namesFields reports whether a refusal concerns particular fields (the
// form can show it) rather than the write as a whole.
func namesFields(ke *kintone.Error) bool {
	for k := range ke.Errors {
		if _, _, _, ok := errorTarget(k); ok {
			return true
		}
	}
	return false
}

// upload stores the files chosen in the submission's FILE inputs through
// the gateway and lists their upload tokens with the field's files, so
// the record refers to them and a form shown again still holds them.
func (c *call) upload(av *appView, p *post, d *formData, present []string, errs *formErrors) {
	if p.mf == nil {
		return
	}
	for _, code := range present {
		if av.props[code].Type != "FILE" {
			continue
		}
		for _, fh := range p.mf.File["f."+code] {
			if fh.Filename == "" && fh.Size == 0 {
				continue // an empty file input
			}
			token, err := c.uploadOne(av, fh)
			if err != nil {
				var ke *kintone.Error
				if !errors.As(err, &ke) {
					c.h.log.Error("portal upload failed", zap.Error(err))
					ke = kintone.NewError("CB_IL02", c.loc.Lang)
				}
				msg := c.loc.T("form.upload.failed", fh.Filename, ke.Message)
				if ke.Status == http.StatusRequestEntityTooLarge {
					msg = c.loc.T("form.upload.too_large", fh.Filename)
				}
				errs.field[code] = append(errs.field[code], msg)
				continue
			}
			d.files[code] = append(d.files[code], &fileEntry{Token: token, Name: fh.Filename, Size: c.loc.Size(fh.Size), Kept: true})
		}
	}
}

func (c *call) uploadOne(av *appView, fh *multipart.FileHeader) (string, error) {
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	return c.h.gw.UploadFile(c.ctx, c.id, gateway.UploadRequest{App: av.ref, Name: fh.Filename,
		ContentType: fh.Header.Get("Content-Type"), Body: f})
}

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

func keys(m map[string]bool) []string {
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
		data: c.dataFromDefaults(av, keys(inputs)), errs: newFormErrors()}
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
	ab, err := c.h.gw.RecordAbilities(c.ctx, c.id, av.ref, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	if !ab.Update {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.edit.refused")})
		return
	}
	rec, err := c.readRecord(av, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	inputs := inputsOf(av, ab.Writable)
	spec := &formSpec{av: av, inputs: inputs, writable: setOf(ab.Writable), readonly: true, upload: ab.Upload,
		data: c.dataFromRecord(av, rec, keys(inputs)), errs: newFormErrors(), record: rec}
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
	rec, _ := c.readRecord(av, recordID)
	spec := &formSpec{av: av, inputs: setOf(present), writable: setOf(append(present, innerOf(av, present)...)), readonly: true,
		data: d, errs: out.errs, record: rec}
	if ab, err := c.h.gw.RecordAbilities(c.ctx, c.id, av.ref, recordID); err == nil {
		spec.upload = ab.Upload
	}
	body := &formBody{Revision: strconv.FormatInt(rev, 10), Unknown: out.unknown, Idem: p.form.Get(idemField)}
	if out.conflict {
		body.Conflict = recordPath(av.alias, recordID)
	}
	c.renderForm(out.status, spec, body, rec)
}

// readRecord reads a record as the member sees it.
func (c *call) readRecord(av *appView, recordID string) (kintone.Record, error) {
	raw, err := c.h.gw.GetRecord(c.ctx, c.id, av.ref, recordID)
	if err != nil {
		return nil, err
	}
	var rec kintone.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	return rec, nil
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

// statusAction runs a process action from the record page.
func (c *call) statusAction(alias, recordID string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	p := c.beginPost()
	if p == nil {
		return
	}
	defer p.done()
	rev, err := strconv.ParseInt(p.form.Get("revision"), 10, 64)
	action := p.form.Get("action")
	if err != nil || rev < 1 || action == "" {
		c.h.subs.fail(p.key, p.sub)
		c.badRequest(c.loc.T("form.bad"))
		return
	}
	_, err = c.h.gw.UpdateStatus(c.ctx, c.id, gateway.UpdateStatusRequest{App: av.ref,
		StatusUpdate: gateway.StatusUpdate{ID: recordID, Action: action, Revision: rev}})
	c.afterRecordWrite(p, av, recordID, err, "status")
}

// afterRecordWrite answers a status change or a deletion that failed or
// not: success and a record that changed meanwhile lead back to the
// record with a notice; anything else is an error page.
func (c *call) afterRecordWrite(p *post, av *appView, recordID string, err error, notice string) {
	if err == nil {
		if notice == "deleted" {
			c.succeed(p, appPath(av.alias)+"?notice=deleted")
			return
		}
		c.succeed(p, recordPath(av.alias, recordID)+"?notice="+notice)
		return
	}
	out := c.refused(p, av, err)
	switch {
	case out == nil:
	case out.conflict:
		http.Redirect(c.w, c.r, recordPath(av.alias, recordID)+"?notice=stale", http.StatusSeeOther)
	case out.unknown:
		c.errorPage(out.status, nil, []string{c.loc.T("form.unknown")})
	default:
		var details []string
		for _, e := range summary(c.loc, av, nil, out.errs) {
			details = append(details, e.Text)
		}
		c.errorPage(out.status, nil, details)
	}
}

// confirmBody is the page that asks before a record is deleted.
type confirmBody struct {
	App             appHeader
	Heading         string
	Message         string
	Action, Cancel  string
	Token, Idem     string
	Revision        string
	Submit, Dismiss string
}

// remove answers the deletion of a record: GET asks, POST with the
// confirmation deletes, at the revision the member confirmed.
func (c *call) remove(alias, recordID string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	if c.r.Method == http.MethodPost {
		p := c.beginPost()
		if p == nil {
			return
		}
		defer p.done()
		rev, err := strconv.ParseInt(p.form.Get("revision"), 10, 64)
		if p.form.Get("confirm") != "yes" || err != nil || rev < 1 {
			c.h.subs.fail(p.key, p.sub)
			c.confirmDelete(av, recordID)
			return
		}
		err = c.h.gw.DeleteRecords(c.ctx, c.id, gateway.DeleteRecordsRequest{App: av.ref, IDs: []string{recordID}, Revisions: []int64{rev}})
		c.afterRecordWrite(p, av, recordID, err, "deleted")
		return
	}
	c.confirmDelete(av, recordID)
}

func (c *call) confirmDelete(av *appView, recordID string) {
	ab, err := c.h.gw.RecordAbilities(c.ctx, c.id, av.ref, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	if !ab.Delete {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("delete.refused")})
		return
	}
	rec, err := c.readRecord(av, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	name, desc := c.appName(av)
	title := c.recordTitle(av, c.renderer(av), rec)
	body := &confirmBody{App: c.appHeader(av, name, desc, ""), Heading: c.loc.T("delete.title"),
		Message: c.loc.T("delete.text", title), Action: recordPath(av.alias, recordID) + "/delete",
		Cancel: recordPath(av.alias, recordID), Token: c.formToken(), Idem: newKey(),
		Revision: stringValue(rec["$revision"]), Submit: c.loc.T("delete.submit"), Dismiss: c.loc.T("delete.cancel")}
	c.render(http.StatusOK, "confirm", c.newPage(body.Heading, body,
		crumb{Label: name, Href: appPath(av.alias)}, crumb{Label: title, Href: body.Cancel}, crumb{Label: body.Heading}))
}

// comment posts a comment from the record page.
func (c *call) comment(alias, recordID string) {
	av, err := c.loadApp(alias)
	if err != nil {
		c.fail(err)
		return
	}
	p := c.beginPost()
	if p == nil {
		return
	}
	defer p.done()
	text := lf(p.form.Get("text"))
	_, err = c.h.gw.AddComment(c.ctx, c.id, gateway.AddCommentRequest{App: av.ref, Record: recordID, Text: text})
	if err == nil {
		c.succeed(p, recordPath(alias, recordID)+"?notice=commented#comments")
		return
	}
	out := c.refused(p, av, err)
	if out == nil {
		return
	}
	msgs := out.errs.general
	if out.unknown {
		msgs = []string{c.loc.T("form.unknown")}
	}
	c.recordPage(alias, recordID, &commentDraft{Text: text, Errors: msgs, Idem: p.form.Get(idemField), Unknown: out.unknown}, out.status)
}
