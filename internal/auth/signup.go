package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/kgate/kgate/identity"
)

// Applicant is a person the provider vouched for but the members app does
// not know, as the ID token named them. Sign-up writes these values, never
// ones a form sends.
type Applicant struct {
	Issuer  string `json:"i"`
	Subject string `json:"s"`
	Email   string `json:"e"`
	Name    string `json:"n,omitempty"`
	Lang    string `json:"l,omitempty"`
	Exp     int64  `json:"x"`
}

func applicantOf(id *identity.Identity) *Applicant {
	return &Applicant{Issuer: id.Issuer, Subject: id.Subject, Email: id.Email, Name: id.Name, Lang: id.Lang}
}

// SignUpCookie carries the Applicant from the refused login to the
// sign-up page. Sealed with the session keys, it is the only way to the
// page: without it nobody can apply in someone else's name.
const SignUpCookie = "__Host-kgate-signup"

// signUpWindow is how long after the refused login the sign-up form may
// be sent.
const signUpWindow = 30 * time.Minute

// Invitations checks and takes invite links (kgate's members app
// implements it). Their refusals are *ForbiddenError with one of the
// ReasonInvite reasons.
type Invitations interface {
	// Check refuses a link kgate did not sign, or that has expired,
	// before the person is sent to the provider.
	Check(ctx context.Context, token string) error
	// Accept uses the link up for the account that logged in through it
	// (sub, and email when the provider vouches for one): the invited
	// member is bound to that account. A link is accepted once.
	Accept(ctx context.Context, token, sub, email string) error
}

// offerSignUp answers a callback refused for an unknown member, when
// sign-up is on, with the sign-up page rather than the refusal.
func (a *Auth) offerSignUp(w http.ResponseWriter, r *http.Request, err error) bool {
	var fe *ForbiddenError
	if a.cfg.SignUpURL == "" || !errors.As(err, &fe) || fe.Reason != ReasonUnknownMember || fe.who == nil || fe.who.Email == "" {
		return false
	}
	who := *fe.who
	who.Exp = a.now().Add(signUpWindow).Unix()
	plain, _ := json.Marshal(who)
	http.SetCookie(w, a.cookie(SignUpCookie, a.signUpSeal.seal(SignUpCookie, plain), signUpWindow))
	http.Redirect(w, r, a.cfg.SignUpURL, http.StatusSeeOther)
	return true
}

// Applicant returns the person a refused login offered sign-up to, while
// the offer lasts.
func (a *Auth) Applicant(r *http.Request) (*Applicant, bool) {
	c, err := r.Cookie(SignUpCookie)
	if err != nil {
		return nil, false
	}
	plain, err := a.signUpSeal.open(SignUpCookie, c.Value)
	if err != nil {
		return nil, false
	}
	var who Applicant
	if json.Unmarshal(plain, &who) != nil || who.Subject == "" || who.Email == "" || a.now().Unix() >= who.Exp {
		return nil, false
	}
	return &who, true
}

// ForgetMember drops what the member cache holds for a person the members
// app has just changed, so that their next request asks it again.
func (a *Auth) ForgetMember(email, sub string) {
	for _, k := range []string{email, sub} {
		if k != "" {
			a.profiles.cache.drop(k)
		}
	}
}

// acceptInvite takes the invite link a login started with, for the
// account the ID token names, before the member is looked up.
func (a *Auth) acceptInvite(ctx context.Context, token, sub string, claims map[string]any) error {
	if token == "" {
		return nil
	}
	if a.cfg.Invitations == nil {
		return &ForbiddenError{Reason: ReasonInviteInvalid, Subject: sub}
	}
	email := verifiedEmail(claims, a.cfg.Claims.Email, a.cfg.TrustUnverifiedEmail)
	if err := a.cfg.Invitations.Accept(ctx, token, sub, email); err != nil {
		return err
	}
	a.ForgetMember(email, sub)
	return nil
}

// checkInvite refuses, before the provider is asked, a link that is forged
// or expired; the page says which.
func (a *Auth) checkInvite(ctx context.Context, token string) error {
	if a.cfg.Invitations == nil || len(token) > maxInviteToken {
		return &ForbiddenError{Reason: ReasonInviteInvalid}
	}
	return a.cfg.Invitations.Check(ctx, token)
}

// maxInviteToken bounds the token kept in the login cookie.
const maxInviteToken = 512
