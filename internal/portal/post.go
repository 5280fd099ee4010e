package portal

import (
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"

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
	case !c.h.guard.check(c.r, c.author(), p.form.Get(tokenField)):
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
	p.key = c.author().Issuer + "\x00" + c.author().Subject + "\x00" + c.r.URL.Path + "\x00" + idem
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
	case ke.Code == readOnlyCode:
		c.errorPage(http.StatusForbidden, nil, []string{ke.Message})
		return nil
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
