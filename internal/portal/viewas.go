package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/audit"
)

// ViewAs is what staff viewing the portal as a member need from the rest
// of kgate. The Caddy module provides it when the sessions are kgate's own
// (they bind the choice) and there is a members app (it names the member).
type ViewAs interface {
	// Session is the id of the browser session r carries, "" without one.
	Session(r *http.Request) string
	// May reports whether staff may view the portal as members: the
	// policy's view_as action on the members app.
	May(ctx context.Context, staff *identity.Identity) (bool, error)
	// Member is the identity of the member with the e-mail address, as
	// their own login would establish it; an error wrapping
	// ErrNoSuchMember when there is no active member with it, any other
	// when the members app cannot be asked.
	Member(ctx context.Context, email string) (*identity.Identity, error)
	// Explain is `kgate policy explain`'s text for member's action in the
	// app (and on the record, when record is not "").
	Explain(ctx context.Context, member *identity.Identity, alias, action, record string) (string, error)
	// Seal and Open protect the cookie that holds the choice.
	Seal(ad, plain []byte) string
	Open(ad []byte, value string) ([]byte, error)
	// Log writes an audit event.
	Log(ctx context.Context, e audit.Event)
}

// EnableViewAs lets staff view the portal as a member (viewAsPath). It is
// called once, while the module is provisioned, before any request.
func (h *Handler) EnableViewAs(v ViewAs) { h.viewAs = v }

// ErrNoSuchMember is ViewAs.Member's answer for an address no active
// member has.
var ErrNoSuchMember = errors.New("portal: no active member has this e-mail address")

const (
	// viewAsCookie holds the member staff view the portal as, sealed and
	// bound to the staff member and their browser session.
	viewAsCookie = "__Host-kgate-view-as"
	// viewAsPath is the page where staff choose the member, and stop.
	viewAsPath = "/view-as"
)

type viewAsChoice struct {
	Email string `json:"e"`
}

// viewAsAD binds a sealed choice to the cookie's name, the staff member and
// their session: a cookie copied to another session, or made for other
// staff, does not open.
func viewAsAD(staff *identity.Identity, session string) []byte {
	return []byte(viewAsCookie + "\x00" + staff.Issuer + "\x00" + staff.Subject + "\x00" + session)
}

func (h *Handler) viewAsCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: viewAsCookie, Value: value, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
}

// viewing returns the member staff view the portal as, or nil: without
// the cookie, with one that does not open for this staff member's session
// (forged, tampered with, another session's), or when the policy no
// longer lets them. Such a cookie is cleared. The member's identity is the
// members app's, asked on every page, with ViewedBy set.
func (h *Handler) viewing(w http.ResponseWriter, r *http.Request, staff *identity.Identity) (*identity.Identity, error) {
	ck, err := r.Cookie(viewAsCookie)
	if err != nil || h.viewAs == nil {
		return nil, nil
	}
	choice, ok := h.openChoice(r, staff, ck.Value)
	if !ok {
		http.SetCookie(w, h.viewAsCookie("", -1))
		return nil, nil
	}
	if may, err := h.viewAs.May(r.Context(), staff); err != nil || !may {
		http.SetCookie(w, h.viewAsCookie("", -1))
		return nil, err
	}
	m, err := h.viewAs.Member(r.Context(), choice.Email)
	if errors.Is(err, ErrNoSuchMember) { // no longer an active member
		http.SetCookie(w, h.viewAsCookie("", -1))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.Issuer, m.ViewedBy, m.Lang = staff.Issuer, staff.Email, staff.Lang
	return m, nil
}

func (h *Handler) openChoice(r *http.Request, staff *identity.Identity, value string) (*viewAsChoice, bool) {
	if staff.Via != "session" || staff.Email == "" {
		return nil, false // the API and bearer tokens never view as anyone
	}
	session := h.viewAs.Session(r)
	if session == "" {
		return nil, false
	}
	plain, err := h.viewAs.Open(viewAsAD(staff, session), value)
	if err != nil {
		return nil, false
	}
	var c viewAsChoice
	if json.Unmarshal(plain, &c) != nil || c.Email == "" {
		return nil, false
	}
	return &c, true
}

// viewAsBody is the page where staff choose a member.
type viewAsBody struct {
	Action, Token, Email, Error string
	Current                     string // the member viewed now, if any
}

// viewAsBanner is on every page while staff view as a member.
type viewAsBanner struct {
	Member, Action, Token string
}

// viewAsPage serves viewAsPath for c.me, the staff member themselves.
func (c *call) viewAsPage() {
	v := c.h.viewAs
	if v == nil {
		c.errorPage(http.StatusNotFound, nil, nil)
		return
	}
	if c.me.Via != "session" {
		c.errorPage(http.StatusForbidden, nil, nil)
		return
	}
	may, err := v.May(c.ctx, c.me)
	if err != nil {
		c.fail(err)
		return
	}
	switch c.r.Method {
	case http.MethodGet, http.MethodHead:
		if !may {
			c.errorPage(http.StatusForbidden, []string{c.loc.T("viewas.refused")}, nil)
			return
		}
		c.viewAsForm("", "")
	case http.MethodPost:
		c.r.Body = http.MaxBytesReader(c.w, c.r.Body, 1<<16)
		if !sameOrigin(c.r) || c.r.ParseForm() != nil || !c.h.guard.check(c.r, c.me, c.r.PostForm.Get(tokenField)) {
			c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.refused")})
			return
		}
		if c.r.PostForm.Get("do") == "stop" {
			c.stopViewing()
			return
		}
		c.startViewing(may, strings.TrimSpace(c.r.PostForm.Get("email")))
	default:
		c.w.Header().Set("Allow", "GET, HEAD, POST")
		c.errorPage(http.StatusMethodNotAllowed, nil, nil)
	}
}

func (c *call) viewAsForm(email, problem string) {
	body := &viewAsBody{Action: viewAsPath, Token: c.formToken(), Email: email, Error: problem}
	if ck, err := c.r.Cookie(viewAsCookie); err == nil {
		if choice, ok := c.h.openChoice(c.r, c.me, ck.Value); ok {
			body.Current = choice.Email
		}
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	c.render(status, "viewas", c.newPage(c.loc.T("viewas.title"), body, crumb{Label: c.loc.T("viewas.title")}))
}

// startViewing checks that staff may, finds the member and sets the
// cookie; the start, allowed or refused, is audited.
func (c *call) startViewing(may bool, email string) {
	ev := audit.Event{Kind: "view_as_start", Action: "view_as", Email: email, ViewedBy: c.me.Email, Via: c.me.Via}
	if !may {
		ev.Outcome, ev.Reasons = "denied", []string{"the policy does not allow view_as"}
		c.h.viewAs.Log(c.ctx, ev)
		c.errorPage(http.StatusForbidden, []string{c.loc.T("viewas.refused")}, nil)
		return
	}
	if email == "" {
		c.viewAsForm(email, c.loc.T("viewas.email_missing"))
		return
	}
	m, err := c.h.viewAs.Member(c.ctx, email)
	if err != nil {
		ev.Outcome, ev.Error = "error", err.Error()
		c.h.viewAs.Log(c.ctx, ev)
		if errors.Is(err, ErrNoSuchMember) {
			c.viewAsForm(email, c.loc.T("viewas.no_member", email))
			return
		}
		c.h.log.Warn("view as: the member could not be looked up", zap.Error(err))
		c.errorPage(http.StatusServiceUnavailable, nil, nil)
		return
	}
	ev.Allowed, ev.Outcome = true, "ok"
	ev.Subject, ev.Email, ev.Org, ev.Level = m.Subject, m.Email, m.Org, m.Level
	c.h.viewAs.Log(c.ctx, ev)
	plain, _ := json.Marshal(viewAsChoice{Email: m.Email})
	http.SetCookie(c.w, c.h.viewAsCookie(c.h.viewAs.Seal(viewAsAD(c.me, c.h.viewAs.Session(c.r)), plain), 0))
	http.Redirect(c.w, c.r, "/", http.StatusSeeOther)
}

// stopViewing clears the cookie and audits the stop.
func (c *call) stopViewing() {
	ev := audit.Event{Kind: "view_as_stop", ViewedBy: c.me.Email, Via: c.me.Via, Outcome: "ok"}
	if ck, err := c.r.Cookie(viewAsCookie); err == nil {
		if choice, ok := c.h.openChoice(c.r, c.me, ck.Value); ok {
			ev.Email = choice.Email
		}
	}
	c.h.viewAs.Log(c.ctx, ev)
	http.SetCookie(c.w, c.h.viewAsCookie("", -1))
	http.Redirect(c.w, c.r, "/", http.StatusSeeOther)
}

// explanation is, for staff viewing as a member who is refused a page of
// an app, `kgate policy explain`'s text for the member's read of the app
// (and of the record the page names). Members themselves never get it.
func (c *call) explanation() string {
	if c.viewer == nil || c.h.viewAs == nil {
		return ""
	}
	parts := strings.Split(strings.Trim(c.r.URL.EscapedPath(), "/"), "/")
	if len(parts) < 2 || parts[0] != "apps" {
		return ""
	}
	alias, _ := url.PathUnescape(parts[1])
	record := ""
	if len(parts) >= 4 && parts[2] == "records" {
		record, _ = url.PathUnescape(parts[3])
	}
	text, err := c.h.viewAs.Explain(c.ctx, c.id, alias, "read", record)
	if err != nil {
		c.h.log.Warn("view as: the refusal could not be explained", zap.String("app", alias), zap.Error(err))
		return ""
	}
	return text
}

// banner is the view-as banner of the page, nil when staff are not
// viewing as anyone.
func (c *call) banner() *viewAsBanner {
	if c.viewer == nil {
		return nil
	}
	name := c.me.Email
	if c.me.Name != "" {
		name = c.me.Name + " <" + c.me.Email + ">"
	}
	return &viewAsBanner{Member: name, Action: viewAsPath, Token: c.formToken()}
}

// author is who signs the page's forms: the staff member while they view
// as someone, since they are the one sending them.
func (c *call) author() *identity.Identity {
	if c.viewer != nil {
		return c.viewer
	}
	if c.applicant != nil {
		return c.applicant
	}
	return c.me
}
