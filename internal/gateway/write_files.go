package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kintone"
)

// Uploads. kintone's upload key works for anyone who holds it, in any app,
// for three days; kgate never hands it out. The member gets an upload
// token instead: kintone's key sealed (tokenKeys, as file tokens are)
// together with the identity, the app (or, for clients that name no app as
// kintone's API does, the guest space), the file's name, type and size,
// and an expiry. A create or update may carry in its FILE fields only
// upload tokens sealed for this identity and app, or the file tokens kgate
// issued to this identity for the files already in that field of that
// record (to keep them); kgate swaps them for kintone's keys before it
// sends the write.

// uploadClaim is what an upload token carries.
type uploadClaim struct {
	Issuer      string `json:"i"`
	Subject     string `json:"s"`
	App         string `json:"a,omitempty"`  // "" when the upload named no app
	Space       string `json:"sp,omitempty"` // the guest space of the path it came through
	Key         string `json:"k"`            // kintone's upload key
	Name        string `json:"n"`
	ContentType string `json:"t"`
	Size        int64  `json:"z"`
	Expires     int64  `json:"e"`
}

// uploadTokenAD keeps upload tokens and file tokens apart: neither opens as
// the other.
var uploadTokenAD = []byte("kgate upload token v1")

func (g *Gateway) sealUpload(c uploadClaim) string {
	c.Expires = g.now().Add(g.writes.uploadTTL).Unix()
	plain, _ := json.Marshal(c)
	return g.files.keys.seal(uploadTokenAD, plain)
}

func (g *Gateway) openUpload(token string) (*uploadClaim, bool) {
	plain, ok := g.files.keys.open(uploadTokenAD, token)
	if !ok {
		return nil, false
	}
	var c uploadClaim
	if json.Unmarshal(plain, &c) != nil || g.now().Unix() > c.Expires {
		return nil, false
	}
	return &c, true
}

// UploadRequest is POST file.json: one file. App is optional, as in
// kintone's API (which takes none); without it the token is good for any
// app behind the same path (normal or the guest space) where the member
// may write files.
type UploadRequest struct {
	App         AppRef // ID "" when the client named no app; Space is the path's guest space
	Name        string
	ContentType string
	Body        io.Reader
}

// UploadFile stores one file in kintone for the member and returns the
// upload token that a create or update may attach. The policy must allow
// file.write on the app (without an app: on some app behind the path).
func (g *Gateway) UploadFile(ctx context.Context, id *identity.Identity, req UploadRequest) (string, error) {
	w := g.newWriter(ctx, id)
	ev := w.event("file.write")
	token, status, err := w.upload(ctx, ev, req)
	w.finish(err, status)
	return token, err
}

func (w *writer) upload(ctx context.Context, ev *audit.Event, req UploadRequest) (string, int, error) {
	lang := w.id.Lang
	if req.Name == "" {
		return "", 0, kintone.NewError("CB_IL02", lang)
	}
	wa, err := w.uploadTarget(ctx, ev, req.App)
	if err != nil {
		return "", 0, err
	}
	ev.App = wa.Alias
	body := bufio.NewReaderSize(req.Body, 512)
	ctype := req.ContentType
	if ctype == "" {
		head, _ := body.Peek(512)
		ctype = http.DetectContentType(head)
	}
	content := &uploadLimit{r: body, max: w.g.writes.maxUpload}
	key, err := w.g.client.Upload(ctx, kintone.Request{GuestSpace: wa.GuestSpace, App: wa.ID, Tokens: wa.Tokens, Lang: lang},
		req.Name, ctype, content)
	switch {
	case content.over:
		e := kintone.NewError("CB_IL02", lang)
		e.Status = http.StatusRequestEntityTooLarge // above the configured MaxUploadSize
		return "", 0, e
	case content.err != nil:
		return "", 0, kintone.NewError("CB_IL02", lang) // the member's body broke off
	case err != nil:
		// An upload that may have reached kintone only leaves an orphan
		// temporary file, which kintone drops after three days.
		return "", statusOf(err), upstreamError(err, lang, nil)
	}
	claim := uploadClaim{Issuer: w.id.Issuer, Subject: w.id.Subject, App: req.App.ID, Space: req.App.Space,
		Key: key, Name: req.Name, ContentType: ctype, Size: content.n}
	return w.g.sealUpload(claim), http.StatusOK, nil
}

// uploadLimit passes an upload through, counting it, and fails it once it
// grows past max: the file streams to kintone and is never held whole.
type uploadLimit struct {
	r    io.Reader
	n    int64
	max  int64
	over bool
	err  error // the member's body failed
}

var errUploadTooLarge = errors.New("the file is larger than allowed")

func (u *uploadLimit) Read(p []byte) (int, error) {
	if u.over {
		return 0, errUploadTooLarge
	}
	n, err := u.r.Read(p)
	u.n += int64(n)
	if u.n > u.max {
		u.over = true
		return n, errUploadTooLarge
	}
	if err != nil && err != io.EOF {
		u.err = err
	}
	return n, err
}

// uploadTarget is the app an upload is for: the one named, or the first
// app behind the path where the member may write files.
func (w *writer) uploadTarget(ctx context.Context, ev *audit.Event, ref AppRef) (*writeApp, error) {
	if ref.ID != "" {
		wa, err := w.app(ctx, ref)
		if err != nil {
			return nil, err
		}
		if _, err := w.allowed(ctx, ev, wa, "file.write", ""); err != nil {
			return nil, err
		}
		return wa, nil
	}
	for _, a := range w.g.order {
		if a.GuestSpace != ref.Space {
			continue
		}
		wa, err := w.app(ctx, AppRef{ID: a.ID, Space: a.GuestSpace})
		if err != nil {
			continue
		}
		if d, err := w.decision(ctx, wa, "file.write", ""); err == nil && d.Allow {
			ev.PolicyVersion = d.Version
			return wa, nil
		}
	}
	ev.Outcome = "denied"
	return nil, denied(w.id.Lang, nil)
}

// fileValue checks a FILE value: every fileKey must be an upload token for
// this identity and app, or a file token issued to this identity for a
// file already in this field of this record. It returns the value to send
// (kintone's keys), the value the field will hold, and whether it differs
// from the files there now.
func (w *writer) fileValue(ctx context.Context, c *recordCheck, probs *fieldProblems, field, key string, raw json.RawMessage, have []fileRef) (send, merged json.RawMessage, changed bool, err error) {
	lang := w.id.Lang
	var items []struct {
		FileKey json.RawMessage `json:"fileKey"`
	}
	if string(raw) != "null" && len(raw) > 0 {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, nil, false, kintone.NewError("CB_IJ01", lang)
		}
	}
	type key_ struct {
		FileKey string `json:"fileKey"`
	}
	out := make([]key_, 0, len(items))
	refs := make([]fileRef, 0, len(items))
	uploads := 0
	for _, it := range items {
		token := scalarID(it.FileKey)
		ref, upload, ok := w.resolveFile(c, field, token, have)
		if !ok {
			probs.invalid(key, badFileMessage(lang))
			continue
		}
		if upload {
			uploads++
		}
		out = append(out, key_{ref.FileKey})
		refs = append(refs, ref)
	}
	if uploads > 0 {
		d, err := w.decision(ctx, c.wa, "file.write", "")
		if err != nil {
			return nil, nil, false, err
		}
		if !d.Allow {
			c.ev.Outcome = "denied"
			return nil, nil, false, denied(lang, d.ReasonsIn(lang))
		}
		c.uploads += uploads
	}
	changed = len(refs) != len(have)
	for i := 0; !changed && i < len(refs); i++ {
		changed = refs[i].FileKey != have[i].FileKey
	}
	send, _ = json.Marshal(out)
	merged, _ = json.Marshal(refs)
	return send, merged, changed, nil
}

// resolveFile turns one token of a FILE value into the file it stands for.
func (w *writer) resolveFile(c *recordCheck, field, token string, have []fileRef) (ref fileRef, upload, ok bool) {
	if u, good := w.g.openUpload(token); good {
		mine := u.Issuer == w.id.Issuer && u.Subject == w.id.Subject
		here := u.App == c.wa.ID || (u.App == "" && u.Space == c.wa.GuestSpace)
		if !mine || !here {
			return ref, false, false
		}
		return fileRef{ContentType: u.ContentType, FileKey: u.Key, Name: u.Name, Size: strconv.FormatInt(u.Size, 10)}, true, true
	}
	f, err := w.g.files.open(token, w.now)
	if err != nil || c.recordID == "" || f.Issuer != w.id.Issuer || f.Subject != w.id.Subject ||
		f.App != c.wa.ID || f.Record != c.recordID || f.Field != field {
		return ref, false, false
	}
	for _, h := range have {
		if h.FileKey == f.Key {
			return h, false, true
		}
	}
	return ref, false, false
}

// uploadTTL is the longest an upload token stays valid: as long as kintone
// keeps an unattached upload.
const uploadTTL = 3 * 24 * time.Hour
