package portal

import (
	"net/http"
	"strconv"

	"github.com/kgate/kgate/internal/gateway"
)

// Writes from the record page: process actions, deletion after a
// confirmation page, comments.

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
	rec, ab, err := c.readRecord(av, recordID)
	if err != nil {
		c.fail(err)
		return
	}
	if !ab.Delete {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("delete.refused")})
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
