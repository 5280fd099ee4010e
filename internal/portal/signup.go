package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/membersconfig"
)

// SignUpPath is the sign-up page: a person the members app does not know
// arrives here from their refused login (see auth.Applicant).
const SignUpPath = "/signup"

// SignUp is what the sign-up page needs of kgate's members app.
type SignUp interface {
	// Form is the page's questions.
	Form() []membersconfig.FormField
	// Prefill is what the form shows first: the name the provider gave.
	Prefill(who auth.Applicant) map[string]string
	// Allowed reports whether sign-up is open to who's address (and
	// audits a refusal).
	Allowed(ctx context.Context, who auth.Applicant) (bool, error)
	// SignUp files the application; a refusal is an *auth.ForbiddenError.
	SignUp(ctx context.Context, who auth.Applicant, answers map[string]string) error
}

// SignUpGate gives the page the applicant of the request (kgate's auth).
// The offer outlives the application until it expires, so that a form
// sent twice is answered twice with the pending page.
type SignUpGate interface {
	Applicant(r *http.Request) (*auth.Applicant, bool)
	LoginURL(returnTo string) string
}

// maxSignUpForm bounds the sign-up form's body: ten questions of the
// longest answers fit.
const maxSignUpForm = 256 << 10

// signUpBody is the sign-up page.
type signUpBody struct {
	Action, Token, Email string
	Questions            []signUpQuestion
	Errors               []fieldError // for the summary, in the order of the questions
}

type signUpQuestion struct {
	ID, Name, Label, Value, Error string
	Required, Multiline           bool
	MaxLength                     int
}

type fieldError struct{ ID, Label, Message string }

// ServeSignUp answers SignUpPath: the form (GET) and the application
// (POST), for the applicant the gate names. Without one — no refused login
// before, or an offer that expired — a GET goes to login and a POST is
// refused.
func (h *Handler) ServeSignUp(w http.ResponseWriter, r *http.Request, s SignUp, gate SignUpGate) {
	who, ok := gate.Applicant(r)
	c := h.newCall(w, r, nil)
	switch {
	case !ok && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		http.Redirect(w, r, gate.LoginURL("/"), http.StatusFound)
	case !ok:
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("signup.expired")})
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		c.applicant = &identity.Identity{Issuer: who.Issuer, Subject: who.Subject}
		c.signUpPage(s, who)
	case r.Method == http.MethodPost:
		c.applicant = &identity.Identity{Issuer: who.Issuer, Subject: who.Subject}
		c.signUp(s, who)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		c.errorPage(http.StatusMethodNotAllowed, nil, nil)
	}
}

// signUpPage shows the form, or at once the page saying sign-up is not
// open to the person's address.
func (c *call) signUpPage(s SignUp, who *auth.Applicant) {
	ok, err := s.Allowed(c.ctx, *who)
	switch {
	case err != nil:
		c.h.log.Warn("sign-up: the organizations app could not be asked", zap.Error(err))
		c.errorPage(http.StatusServiceUnavailable, nil, nil)
	case !ok:
		c.memberNotice(http.StatusForbidden, auth.ReasonSignUpDomain)
	default:
		c.signUpForm(s, who, s.Prefill(*who), nil)
	}
}

func (c *call) signUp(s SignUp, who *auth.Applicant) {
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxSignUpForm)
	if c.r.ParseForm() != nil {
		c.errorPage(http.StatusRequestEntityTooLarge, nil, nil)
		return
	}
	if !sameOrigin(c.r) || !c.h.guard.check(c.r, c.applicant, c.r.PostForm.Get(tokenField)) {
		c.errorPage(http.StatusForbidden, nil, []string{c.loc.T("form.refused")})
		return
	}
	answers, problems := c.signUpAnswers(s.Form())
	if len(problems) > 0 {
		c.signUpForm(s, who, answers, problems)
		return
	}
	err := s.SignUp(c.ctx, *who, answers)
	var fe *auth.ForbiddenError
	switch {
	case errors.As(err, &fe) && memberNotices[fe.Reason] != "":
		c.memberNotice(http.StatusForbidden, fe.Reason)
	case errors.As(err, &fe):
		c.errorPage(http.StatusForbidden, []string{fe.Reason}, nil)
	case err != nil:
		c.h.log.Warn("sign-up could not be filed", zap.Error(err))
		c.errorPage(http.StatusServiceUnavailable, nil, nil)
	default:
		c.memberNotice(http.StatusOK, auth.ReasonPendingMember)
	}
}

// signUpAnswers reads the form's answers: trimmed, within their length,
// without control characters (line breaks only in a text area).
func (c *call) signUpAnswers(form []membersconfig.FormField) (map[string]string, map[string]string) {
	answers, problems := map[string]string{}, map[string]string{}
	for _, q := range form {
		v := strings.TrimSpace(strings.ReplaceAll(c.r.PostForm.Get(q.Field), "\r\n", "\n"))
		answers[q.Field] = v
		switch {
		case q.Required && v == "":
			problems[q.Field] = c.loc.T("signup.required")
		case utf8.RuneCountInString(v) > q.MaxLength:
			problems[q.Field] = c.loc.T("signup.too_long", q.MaxLength)
		case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
			return unicode.IsControl(r) && !(q.Multiline && (r == '\n' || r == '\t'))
		}):
			problems[q.Field] = c.loc.T("signup.invalid")
		}
	}
	return answers, problems
}

func (c *call) signUpForm(s SignUp, who *auth.Applicant, answers, problems map[string]string) {
	body := &signUpBody{Action: SignUpPath, Token: c.formToken(), Email: who.Email}
	for i, q := range s.Form() {
		label := q.LabelEn
		if c.loc.Lang == "ja" {
			label = q.LabelJa
		}
		sq := signUpQuestion{ID: "signup-" + strconv.Itoa(i), Name: q.Field, Label: label, Value: answers[q.Field],
			Error: problems[q.Field], Required: q.Required, Multiline: q.Multiline, MaxLength: q.MaxLength}
		if sq.Error != "" {
			body.Errors = append(body.Errors, fieldError{ID: sq.ID, Label: label, Message: sq.Error})
		}
		body.Questions = append(body.Questions, sq)
	}
	status := http.StatusOK
	if len(problems) > 0 {
		status = http.StatusBadRequest
	}
	c.render(status, "signup", c.newPage(c.loc.T("signup.title"), body))
}

// memberNotices are the refusals at login that have a page of their own
// rather than the error page: where a sign-up or an invitation stands.
var memberNotices = map[string]string{
	auth.ReasonPendingMember: "signup.pending",
	auth.ReasonRefusedMember: "signup.refused",
	auth.ReasonSignUpDomain:  "signup.domain",
	auth.ReasonInviteInvalid: "invite.invalid",
	auth.ReasonInviteExpired: "invite.expired",
	auth.ReasonInviteUsed:    "invite.used",
}

// memberNotice renders the page for one of memberNotices.
func (c *call) memberNotice(status int, reason string) {
	key := memberNotices[reason]
	body := &errorBody{Status: status, Heading: c.loc.T(key + ".title"), Message: c.loc.T(key + ".text")}
	if status == http.StatusForbidden {
		body.SwitchAccount = c.h.cfg.SwitchAccountURL
	}
	c.render(status, "error", c.newPage(body.Heading, body))
}

// Text is the message key in lang ("ja" or "en", else the default
// language), from the same catalogues as the pages, the operator's
// messages included: e-mails to members are written with it.
func (h *Handler) Text(lang, key string, args ...any) string {
	return textIn(h.cats, h.cfg.DefaultLang, lang, key, args...)
}

// Texts returns Handler.Text's catalogues without a portal: the embedded
// ones with the operator's from dir laid over them.
func Texts(dir, defaultLang string) (func(lang, key string, args ...any) string, error) {
	cats, err := loadCatalogs(dir)
	if err != nil {
		return nil, err
	}
	return func(lang, key string, args ...any) string { return textIn(cats, defaultLang, lang, key, args...) }, nil
}

func textIn(cats map[string]catalog, def, lang, key string, args ...any) string {
	if supported(lang) == "" {
		lang = def
	}
	l := &locale{Lang: supported(lang), cat: cats[supported(lang)]}
	return l.T(key, args...)
}
