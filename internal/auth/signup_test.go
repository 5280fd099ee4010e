package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeInvitations takes the tokens "good" (once), refuses "expired" as
// expired and anything else as not signed; Accept makes the invited
// member (the directory's pending frank) active under the account.
type fakeInvitations struct {
	mu       sync.Mutex
	dir      *fakeDirectory
	used     map[string]bool
	accepted []string // sub and email of each use
}

func (f *fakeInvitations) Check(_ context.Context, token string) error {
	switch token {
	case "good":
		return nil
	case "expired":
		return &ForbiddenError{Reason: ReasonInviteExpired}
	}
	return &ForbiddenError{Reason: ReasonInviteInvalid}
}

func (f *fakeInvitations) Accept(ctx context.Context, token, sub, email string) error {
	if err := f.Check(ctx, token); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used[token] {
		return &ForbiddenError{Reason: ReasonInviteUsed}
	}
	f.used[token] = true
	f.accepted = append(f.accepted, sub+" "+email)
	f.dir.mu.Lock()
	defer f.dir.mu.Unlock()
	f.dir.members["email:"+email] = Member{Email: email, Subject: sub, Org: "cosmo", Level: "silver", State: MemberActive}
	return nil
}

// Frank is invited (pending in the directory): the first login through
// the link binds his account and lets him in at once, past the cached
// "pending"; the link then works no more, and a forged or expired one is
// refused before the provider is even asked.
func TestAnInviteLinkLetsTheFirstLoginThroughOnce(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	dir := demoDirectory()
	dir.members["email:frank@unknown.example"] = Member{Email: "frank@unknown.example", Org: "cosmo", Level: "silver", State: MemberPending}
	inv := &fakeInvitations{dir: dir, used: map[string]bool{}}
	cfg := devConfig(op)
	cfg.Directory, cfg.Invitations = dir, inv
	k := startKgate(t, srv, cfg)

	b := newBrowser(t, k)
	if p := b.Get(b.devLoginToCallback(k, op, "u-frank", "/")); p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonPendingMember) {
		t.Fatalf("frank before the invitation: %d %q", p.Status, p.Body)
	}
	tests := []struct {
		name, token string
		status      int
		want        string
	}{
		{"the first use", "good", 200, "hello u-frank silver cosmo session"},
		{"the second use", "good", http.StatusForbidden, ReasonInviteUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, k)
			p := b.Get(b.devLoginToCallback(k, op, "u-frank", "/kgate/login?return=%2F&invite="+url.QueryEscape(tt.token)))
			if tt.status == 200 {
				p = b.Chase(p, nil)
			}
			if p.Status != tt.status || !strings.Contains(p.Body, tt.want) {
				t.Fatalf("%d %q, want %d %q", p.Status, p.Body, tt.status, tt.want)
			}
		})
	}
	if len(inv.accepted) != 1 || inv.accepted[0] != "u-frank frank@unknown.example" {
		t.Fatalf("accepted for %q, want frank's account and verified address once", inv.accepted)
	}
	for token, reason := range map[string]string{"forged": ReasonInviteInvalid, "expired": ReasonInviteExpired, strings.Repeat("x", 600): ReasonInviteInvalid} {
		p := newBrowser(t, k).Get(k.url("/kgate/login?invite=" + url.QueryEscape(token)))
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, reason) {
			t.Errorf("invite %.10q: %d %q, want 403 %q before the provider", token, p.Status, p.Body, reason)
		}
	}
	t.Run("without invitations configured, a link is refused", func(t *testing.T) {
		srv := listenTLS(t)
		op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
		cfg := devConfig(op)
		cfg.Directory = demoDirectory()
		k := startKgate(t, srv, cfg)
		if p := newBrowser(t, k).Get(k.url("/kgate/login?invite=good")); p.Status != http.StatusForbidden || !strings.Contains(p.Body, ReasonInviteInvalid) {
			t.Fatalf("%d %q", p.Status, p.Body)
		}
	})
}

// With sign-up on, a person the directory does not know is sent to the
// sign-up page with their verified profile sealed in a cookie; the cookie
// names nobody once altered or past its window.
func TestAnUnknownPersonIsOfferedSignUpWithTheirVerifiedProfile(t *testing.T) {
	srv := listenTLS(t)
	op := startDevIDP(t, serverURL(srv)+"/kgate/callback")
	cfg := devConfig(op)
	cfg.Directory, cfg.SignUpURL = demoDirectory(), "/signup"
	k := startKgate(t, srv, cfg)
	tests := []struct {
		sub      string
		toSignUp bool
	}{
		{"u-frank", true},
		{"u-erin", false}, // inactive: refused, not offered sign-up
		{"u-alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.sub, func(t *testing.T) {
			b := newBrowser(t, k)
			p := b.Get(b.devLoginToCallback(k, op, tt.sub, "/"))
			cookie := b.Cookie(k.url("/"), SignUpCookie)
			if got := p.Status == http.StatusSeeOther && p.Location == "/signup"; got != tt.toSignUp || (cookie != "") != tt.toSignUp {
				t.Fatalf("%d → %q, cookie %v; want sign-up %v", p.Status, p.Location, cookie != "", tt.toSignUp)
			}
			if !tt.toSignUp {
				return
			}
			r, _ := http.NewRequest("GET", k.url("/signup"), nil)
			r.AddCookie(&http.Cookie{Name: SignUpCookie, Value: cookie})
			who, ok := k.a.Applicant(r)
			if !ok || who.Subject != "u-frank" || who.Email != "frank@unknown.example" || who.Issuer != op.p.Issuer() {
				t.Fatalf("applicant %+v, %v", who, ok)
			}
			altered := []byte(cookie)
			altered[len(altered)/2] ^= 1
			r, _ = http.NewRequest("GET", k.url("/signup"), nil)
			r.AddCookie(&http.Cookie{Name: SignUpCookie, Value: string(altered)})
			if who, ok := k.a.Applicant(r); ok {
				t.Fatalf("an altered cookie names %+v", who)
			}
			k.clock.advance(signUpWindow + time.Second)
			defer k.clock.advance(-signUpWindow - time.Second)
			r, _ = http.NewRequest("GET", k.url("/signup"), nil)
			r.AddCookie(&http.Cookie{Name: SignUpCookie, Value: cookie})
			if who, ok := k.a.Applicant(r); ok {
				t.Fatalf("an expired offer names %+v", who)
			}
		})
	}
}
