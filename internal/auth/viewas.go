package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kgate/kgate/identity"
	"github.com/kgate/kgate/internal/seal"
)

// ErrNoDirectory is MemberByEmail's answer when kgate has no members
// directory to find people in.
var ErrNoDirectory = errors.New("auth: no members directory is configured")

// SessionID returns the id of the browser session r's cookie names, ""
// without a valid one. The portal binds what it hands a session (staff
// viewing as a member) to it, so that it dies with the session and no other
// session can use it.
func (a *Auth) SessionID(r *http.Request) string {
	sc, err := a.readSessionCookie(r)
	if err != nil {
		return ""
	}
	return sc.SID
}

// MemberByEmail returns the identity the members directory gives the
// person with the e-mail address, as a login of theirs would establish it
// from the directory: for staff viewing the portal as that member. Someone
// the directory does not have, or has as inactive or pending, is a
// *ForbiddenError with the reason their own login would get.
func (a *Auth) MemberByEmail(ctx context.Context, email string) (*identity.Identity, error) {
	p := a.profiles
	if p.dir == nil {
		return nil, ErrNoDirectory
	}
	email = strings.TrimSpace(email)
	m, err := p.dir.Lookup(ctx, ByEmail, email)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDirectoryUnavailable, err)
	}
	forbid := func(reason string) error { return &ForbiddenError{Reason: reason, Email: email} }
	switch {
	case m == nil:
		return nil, forbid(ReasonUnknownMember)
	case m.State == MemberInactive:
		return nil, forbid(ReasonInactiveMember)
	case m.State == MemberPending:
		return nil, forbid(ReasonPendingMember)
	case m.State != MemberActive:
		return nil, forbid(ReasonDirectoryUnknown)
	}
	if m.Email == "" {
		m.Email = email
	}
	id, err := a.IdentityOf(m)
	if err != nil {
		return nil, forbid(ReasonNoLevel)
	}
	return id, nil
}

// IdentityOf returns the identity the members directory's record m gives
// its member, as their login would establish it: the level from the
// record, else from the groups, else the default level. A member with no
// level at all is a *ForbiddenError. The caller has checked that m is
// active.
func (a *Auth) IdentityOf(m *Member) (*identity.Identity, error) {
	p := a.profiles
	id := &identity.Identity{Subject: m.Subject, Email: m.Email, Name: m.Name, Level: m.Level, Org: m.Org,
		Groups: m.Groups, Attrs: m.Attrs, Via: "session"}
	if id.Level == "" {
		id.Level = p.levelFromGroups(id.Groups)
	}
	if id.Level == "" {
		id.Level = p.defaultLevel
	}
	if id.Level == "" {
		return nil, &ForbiddenError{Reason: ReasonNoLevel, Subject: m.Subject, Email: m.Email}
	}
	return id, nil
}

// SessionKeys returns keys derived from the session secrets for purpose,
// for values bound to a session that another part of kgate seals.
func (a *Auth) SessionKeys(purpose string) (*seal.Keys, error) {
	return seal.New(a.cfg.SessionKeys, purpose)
}
