package members

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/membersconfig"
)

// Bounds on the sign-up form's answers.
const (
	defaultMaxLength   = 100
	defaultMaxMultiple = 1000
	maxMaxLength       = 10000
)

// signUpDefaults fills the form and field codes left empty, and refuses
// a sign-up that is neither restricted to organizations nor opened.
func signUpDefaults(s membersconfig.SignUp, f Fields) (membersconfig.SignUp, error) {
	if s.Orgs == nil && !s.Open {
		return s, errors.New("members: sign-up needs either an organizations app (orgs) or `open`: it is never open by default")
	}
	if s.Orgs != nil {
		o := *s.Orgs
		if o.App == "" {
			return s, errors.New("members: sign-up: orgs needs the alias of the organizations app")
		}
		if o.Code == "" {
			o.Code = "code"
		}
		if o.Domains == "" {
			o.Domains = "domains"
		}
		s.Orgs = &o
	}
	if len(s.Form) == 0 {
		s.Form = []membersconfig.FormField{
			{Field: f.Name, LabelJa: "氏名", LabelEn: "Name", Required: true},
			{Field: "org_name", LabelJa: "組織名", LabelEn: "Organization", Required: true},
			{Field: "reason", LabelJa: "申請の理由", LabelEn: "Reason for applying", Multiline: true},
		}
	}
	form := make([]membersconfig.FormField, len(s.Form))
	reserved := map[string]bool{f.Email: true, f.Subject: true, f.State: true, f.Level: true, f.Org: true, s.Notified: true}
	for _, code := range []string{f.Groups, f.Lang, f.NotifyOff, f.Digest} {
		if code != "" {
			reserved[code] = true
		}
	}
	for i, q := range s.Form {
		if q.Field == "" || reserved[q.Field] {
			return s, fmt.Errorf("members: sign-up question %d: field %q is empty or one kgate fills itself", i+1, q.Field)
		}
		if q.LabelJa == "" || q.LabelEn == "" {
			return s, fmt.Errorf("members: sign-up question %q needs a label in Japanese and in English", q.Field)
		}
		if q.MaxLength == 0 {
			q.MaxLength = defaultMaxLength
			if q.Multiline {
				q.MaxLength = defaultMaxMultiple
			}
		}
		if q.MaxLength < 1 || q.MaxLength > maxMaxLength {
			return s, fmt.Errorf("members: sign-up question %q: max_length %d is not within 1–%d", q.Field, q.MaxLength, maxMaxLength)
		}
		form[i] = q
	}
	s.Form = form
	return s, nil
}

// SignUp files who's application, with the answers to the form (already
// checked against its bounds), as a pending record: e-mail and subject
// from the verified ID token, the organization from the e-mail's domain
// when sign-up is restricted to organizations. A person who already has
// a record gets no second one: SignUp then does nothing. Every attempt is
// audited as a signup event with its outcome.
func (l *Lifecycle) SignUp(ctx context.Context, who auth.Applicant, answers map[string]string) error {
	if !l.SignUpOn() || who.Email == "" || who.Subject == "" {
		return errors.New("members: sign-up is off, or the applicant has no verified address")
	}
	ev := audit.Event{Kind: "signup", Subject: who.Subject, Email: who.Email, Outcome: "ok"}
	org, err := l.file(ctx, who, answers)
	var fe *auth.ForbiddenError
	switch {
	case errors.As(err, &fe):
		ev.Outcome, ev.Reasons = "denied", []string{fe.Reason}
	case errors.Is(err, errAlreadyKnown):
		ev.Outcome, ev.Reasons, err = "denied", []string{reasonAlreadyKnown}, nil
	case err != nil:
		ev.Outcome, ev.Error = "error", "the sign-up could not be filed in the members app"
	}
	ev.Org = org
	l.cfg.Audit.LogContext(ctx, ev)
	return err
}

// errAlreadyKnown is file's answer for a person with a record.
var errAlreadyKnown = errors.New("members: the applicant already has a record")

// file writes the pending record and returns the organization it names.
func (l *Lifecycle) file(ctx context.Context, who auth.Applicant, answers map[string]string) (string, error) {
	org, err := l.orgOf(ctx, who.Email)
	if err != nil {
		return "", err
	}
	if l.cfg.Orgs != nil && org == "" {
		return "", &auth.ForbiddenError{Reason: auth.ReasonSignUpDomain, Subject: who.Subject, Email: who.Email}
	}
	unlock := l.locks.lock(who.Email)
	defer unlock()
	if known, err := l.known(ctx, who); err != nil || known {
		return org, cmp.Or(err, errAlreadyKnown)
	}
	f := l.dir.fields
	values := map[string]string{f.Email: who.Email, f.Subject: who.Subject, f.State: auth.MemberPending,
		l.signUp.Notified: awaitingDecision}
	if f.Lang != "" {
		values[f.Lang] = langOr(who.Lang, l.cfg.DefaultLang)
	}
	if org != "" {
		values[f.Org] = org
	}
	for _, q := range l.signUp.Form {
		values[q.Field] = answers[q.Field]
	}
	err = l.dir.add(ctx, values)
	var ke *kintone.Error
	if errors.As(err, &ke) && ke.Status == 400 {
		// Another instance filed it first: the e-mail field is unique.
		if known, kerr := l.known(ctx, who); kerr == nil && known {
			return org, errAlreadyKnown
		}
	}
	if err != nil {
		return org, fmt.Errorf("members app: filing the sign-up of %s: %w", who.Email, err)
	}
	l.cfg.Forget(who.Email, who.Subject)
	return org, nil
}

// Prefill gives the form the name the provider gave, in the members
// app's name field when the form asks for it.
func (l *Lifecycle) Prefill(who auth.Applicant) map[string]string {
	return map[string]string{l.dir.fields.Name: who.Name}
}

// Allowed reports whether sign-up is open to who: with an organizations
// app, whether an organization lists the domain of their address. The
// sign-up page asks it first, so a refusal is audited here as the
// person's signup attempt.
func (l *Lifecycle) Allowed(ctx context.Context, who auth.Applicant) (bool, error) {
	if l.cfg.Orgs == nil {
		return true, nil
	}
	org, err := l.orgOf(ctx, who.Email)
	if err == nil && org == "" {
		l.cfg.Audit.LogContext(ctx, audit.Event{Kind: "signup", Subject: who.Subject, Email: who.Email,
			Outcome: "denied", Reasons: []string{auth.ReasonSignUpDomain}})
	}
	return org != "", err
}

// orgOf is the organization listing email's domain, "" without an
// organizations app.
func (l *Lifecycle) orgOf(ctx context.Context, email string) (string, error) {
	if l.cfg.Orgs == nil {
		return "", nil
	}
	return l.cfg.Orgs.orgOf(ctx, domainOf(email))
}

// known reports whether the members app has a record for who's address
// or subject.
func (l *Lifecycle) known(ctx context.Context, who auth.Applicant) (bool, error) {
	for _, by := range []struct{ key, value string }{{auth.ByEmail, who.Email}, {auth.BySubject, who.Subject}} {
		m, err := l.dir.Lookup(ctx, by.key, by.value)
		if err != nil {
			return false, err
		}
		if m != nil {
			return true, nil
		}
	}
	return false, nil
}

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return strings.ToLower(d)
}

func langOr(lang, def string) string {
	if lang == "ja" || lang == "en" {
		return lang
	}
	return def
}
