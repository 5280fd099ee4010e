package members

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintone"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/kql"
	"github.com/kgate/kgate/internal/mail"
	"github.com/kgate/kgate/internal/portal"
	"github.com/kgate/kgate/membersconfig"
)

// memOutbox keeps what it is handed; fail makes the next Enqueue fail
// as an outbox that cannot store would.
type memOutbox struct {
	mu   sync.Mutex
	sent []mail.Message
	fail int
}

func (o *memOutbox) Enqueue(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail > 0 {
		o.fail--
		return errors.New("outbox: disk full")
	}
	o.sent = append(o.sent, m)
	return nil
}

func (o *memOutbox) take() []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.sent
	o.sent = nil
	return out
}

const testInviteKey = "an invite key of at least thirty-two characters"

type lifecycleWorld struct {
	l      *Lifecycle
	d      *Directory
	sim    *kintonesim.Server
	outbox *memOutbox
	now    time.Time
}

// newLifecycle runs sign-up (by the demo's organizations app unless
// open) and invitations over the demo's members app.
func newLifecycle(t *testing.T, open bool) *lifecycleWorld {
	t.Helper()
	d, sim := demoDirectory(t)
	d.fields.Lang = "lang"
	texts, err := portal.Texts("", "ja")
	if err != nil {
		t.Fatal(err)
	}
	w := &lifecycleWorld{d: d, sim: sim, outbox: &memOutbox{}, now: time.Now()}
	cfg := LifecycleConfig{Directory: d, SignUp: &membersconfig.SignUp{Open: open},
		Invite: &membersconfig.Invite{Keys: []string{testInviteKey}}, InviteTTL: time.Hour,
		Outbox: w.outbox, Texts: texts, SiteURL: "https://partners.example", LoginPath: "/kgate/login"}
	if !open {
		cfg.SignUp.Orgs = &membersconfig.Orgs{App: "orgs"}
		cfg.Orgs = NewOrgsApp(d.client, "11", "", []string{"demo-token-orgs"}, membersconfig.Orgs{App: "orgs"})
	}
	if w.l, err = NewLifecycle(cfg); err != nil {
		t.Fatal(err)
	}
	w.l.now = func() time.Time { return w.now }
	return w
}

// records returns the members app's records whose field equals value.
func (w *lifecycleWorld) records(t *testing.T, field, value string) []kintone.Record {
	t.Helper()
	rs, err := w.d.query(t.Context(), textCond(field, kql.Eq, value))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (w *lifecycleWorld) one(t *testing.T, email string) kintone.Record {
	t.Helper()
	rs := w.records(t, "email", email)
	if len(rs) != 1 {
		t.Fatalf("%s has %d records in the members app, want 1", email, len(rs))
	}
	return rs[0]
}

func (w *lifecycleWorld) set(t *testing.T, email string, values map[string]string) {
	t.Helper()
	rec := map[string]any{}
	for k, v := range values {
		rec[k] = map[string]any{"value": v}
	}
	id := w.one(t, email)["$id"]
	var n int64
	for _, c := range strings.Trim(string(id.Value), `"`) {
		n = n*10 + int64(c-'0')
	}
	if _, err := w.sim.EditRecord(1, n, "", rec); err != nil {
		t.Fatal(err)
	}
}

var henry = auth.Applicant{Issuer: "https://idp.example", Subject: "u-henry", Email: "henry@acme.example", Name: "Henry Ono", Lang: "en"}

func TestSignUpFilesOnePendingRecordFromTheVerifiedIdentity(t *testing.T) {
	w := newLifecycle(t, false)
	answers := map[string]string{"name": "Henry Ono", "org_name": "Acme", "reason": "We resell Acme's goods.",
		// Not questions of the form: never written.
		"email": "mallory@acme.example", "sub": "u-mallory", "state": "active", "level": "gold"}
	for range 2 {
		if err := w.l.SignUp(t.Context(), henry, answers); err != nil {
			t.Fatal(err)
		}
	}
	r := w.one(t, "henry@acme.example")
	want := map[string]string{"sub": "u-henry", "state": "pending", "org": "acme", "level": "", "name": "Henry Ono",
		"org_name": "Acme", "reason": "We resell Acme's goods.", "notified": "signup", "lang": "en"}
	for code, v := range want {
		if got := text(r[code]); got != v {
			t.Errorf("%s = %q, want %q", code, got, v)
		}
	}
	for _, who := range []struct{ field, value string }{{"sub", "u-henry"}, {"email", "mallory@acme.example"}, {"sub", "u-mallory"}} {
		if n := len(w.records(t, who.field, who.value)); n != map[string]int{"u-henry": 1}[who.value] {
			t.Errorf("%d records with %s %s", n, who.field, who.value)
		}
	}
	// The same account under a new address is still the one applicant.
	again := henry
	again.Email = "henry.ono@acme.example"
	if err := w.l.SignUp(t.Context(), again, answers); err != nil {
		t.Fatal(err)
	}
	if n := len(w.records(t, "sub", "u-henry")); n != 1 {
		t.Errorf("a second address of the same account filed %d records, want 1", n)
	}
}

func TestSignUpIsOpenOnlyToTheDomainsAnOrganizationLists(t *testing.T) {
	tests := []struct {
		name, email string
		open        bool
		wantOrg     string // "" with wantRefused
		wantRefused bool
	}{
		{"a domain acme lists", "ivy@acme.example", false, "acme", false},
		{"bluebird's second domain, in capitals", "Ivy@Bluebird-Logistics.Example", false, "bluebird", false},
		{"a domain no organization lists", "ivy@unknown.example", false, "", true},
		{"a subdomain of a listed one", "ivy@mail.acme.example", false, "", true},
		{"open sign-up takes any domain, without an organization", "ivy@unknown.example", true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLifecycle(t, tt.open)
			who := auth.Applicant{Subject: "u-ivy", Email: strings.ToLower(tt.email)}
			allowed, err := w.l.Allowed(t.Context(), who)
			if err != nil || allowed == tt.wantRefused {
				t.Fatalf("Allowed = %v, %v; want %v", allowed, err, !tt.wantRefused)
			}
			err = w.l.SignUp(t.Context(), who, map[string]string{"name": "Ivy", "org_name": "X"})
			var fe *auth.ForbiddenError
			if tt.wantRefused {
				if !errors.As(err, &fe) || fe.Reason != auth.ReasonSignUpDomain {
					t.Fatalf("SignUp = %v, want the domain refusal", err)
				}
				if n := len(w.records(t, "sub", "u-ivy")); n != 0 {
					t.Fatalf("a refused sign-up filed %d records", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := text(w.one(t, who.Email)["org"]); got != tt.wantOrg {
				t.Errorf("org %q, want %q", got, tt.wantOrg)
			}
		})
	}
}

func TestSignUpIsNeverOpenByDefault(t *testing.T) {
	d, _ := demoDirectory(t)
	_, err := NewLifecycle(LifecycleConfig{Directory: d, SignUp: &membersconfig.SignUp{}, Texts: func(string, string, ...any) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "never open by default") {
		t.Fatalf("a sign-up with neither orgs nor open: %v, want refused", err)
	}
}

// The staff decide in kintone; the poller mails each person once, in the
// language they signed up in, and marks the record after the outbox has
// the message.
func TestDecisionsAreMailedOnceInThePersonsLanguage(t *testing.T) {
	w := newLifecycle(t, false)
	kai := auth.Applicant{Subject: "u-kai", Email: "kai@bluebird.example", Name: "Kai", Lang: "ja"}
	for _, who := range []auth.Applicant{henry, kai} {
		if err := w.l.SignUp(t.Context(), who, map[string]string{"name": who.Name, "org_name": "X"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.l.pollDecisions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sent := w.outbox.take(); len(sent) != 0 {
		t.Fatalf("mailed %d people before the staff decided", len(sent))
	}
	w.set(t, "henry@acme.example", map[string]string{"state": "active", "level": "silver"})
	w.set(t, "kai@bluebird.example", map[string]string{"state": "refused"})

	w.outbox.fail = 1 // the first hand-over fails: that person's marker stays
	if err := w.l.pollDecisions(t.Context()); err == nil {
		t.Fatal("a failed hand-over to the outbox is not reported")
	}
	first := w.outbox.take()
	if err := w.l.pollDecisions(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := append(first, w.outbox.take()...)
	if err := w.l.pollDecisions(t.Context()); err != nil {
		t.Fatal(err)
	}
	if again := w.outbox.take(); len(again) != 0 {
		t.Fatalf("a third round mailed again: %+v", again)
	}
	want := map[string]struct{ lang, subject, notified string }{
		"henry@acme.example":   {"en", "Your membership is approved", "active"},
		"kai@bluebird.example": {"ja", "ご申請の結果について", "refused"},
	}
	if len(sent) != len(want) {
		t.Fatalf("mailed %+v, want one message to each of %d people", sent, len(want))
	}
	for _, m := range sent {
		wm := want[m.To]
		if m.Lang != wm.lang || m.Subject != wm.subject || m.Kind != "signup" {
			t.Errorf("to %s: %s %q (%s), want %s %q", m.To, m.Lang, m.Subject, m.Kind, wm.lang, wm.subject)
		}
		if wm.notified == "active" && !strings.Contains(m.Text, "https://partners.example/") {
			t.Errorf("the approval does not link to the site: %q", m.Text)
		}
		if got := text(w.one(t, m.To)["notified"]); got != wm.notified {
			t.Errorf("%s: notified %q, want %q", m.To, got, wm.notified)
		}
	}
}

// inviteToken polls and returns the token of the one invitation mailed.
func (w *lifecycleWorld) inviteToken(t *testing.T, to string) string {
	t.Helper()
	if err := w.l.pollInvites(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := w.outbox.take()
	if len(sent) != 1 || sent[0].To != to || sent[0].Kind != "invite" || sent[0].Lang != "en" {
		t.Fatalf("invitations mailed: %+v, want one to %s in English", sent, to)
	}
	i := strings.Index(sent[0].Text, "https://partners.example/kgate/login?invite=")
	if i < 0 {
		t.Fatalf("no invite link in %q", sent[0].Text)
	}
	link, _, _ := strings.Cut(sent[0].Text[i:], "\n")
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("invite")
}

// Grace is in the demo's members app, pending; the staff set her invite
// field to "send".
func TestAnInviteLinkBindsTheFirstAccountAndWorksOnce(t *testing.T) {
	w := newLifecycle(t, false)
	w.set(t, "grace@cosmo.example", map[string]string{"invite": "send"})
	w.outbox.fail = 1 // the hand-over fails after the one-time value is written
	if err := w.l.pollInvites(t.Context()); err == nil {
		t.Fatal("a failed hand-over is not reported")
	}
	nonce := text(w.one(t, "grace@cosmo.example")["invite_nonce"])
	token := w.inviteToken(t, "grace@cosmo.example")
	if inv, err := w.l.parse(token); err != nil || inv.nonce != nonce {
		t.Fatalf("the retried invitation carries %+v, %v; want the value written before, %q", inv, err, nonce)
	}
	if err := w.l.pollInvites(t.Context()); err != nil || len(w.outbox.take()) != 0 {
		t.Fatalf("an invitation marked sent went again (%v)", err)
	}
	if err := w.l.Accept(t.Context(), token, "u-grace", "grace@cosmo.example"); err != nil {
		t.Fatal(err)
	}
	r := w.one(t, "grace@cosmo.example")
	for code, v := range map[string]string{"sub": "u-grace", "state": "active", "invite": "accepted", "invite_nonce": ""} {
		if got := text(r[code]); got != v {
			t.Errorf("after the first use: %s = %q, want %q", code, got, v)
		}
	}
	var fe *auth.ForbiddenError
	if err := w.l.Accept(t.Context(), token, "u-mallory", "mallory@cosmo.example"); !errors.As(err, &fe) || fe.Reason != auth.ReasonInviteUsed {
		t.Fatalf("second use: %v, want %q", err, auth.ReasonInviteUsed)
	}
	if got := text(w.one(t, "grace@cosmo.example")["sub"]); got != "u-grace" {
		t.Errorf("the second use rebound the member to %q", got)
	}
}

func TestInviteLinksThatAreForgedAlteredExpiredOrReplacedAreRefused(t *testing.T) {
	w := newLifecycle(t, false)
	w.set(t, "grace@cosmo.example", map[string]string{"invite": "send"})
	token := w.inviteToken(t, "grace@cosmo.example")
	payload, mac, _ := strings.Cut(token, ".")
	other := newLifecycle(t, false)
	other.l.keys = [][]byte{[]byte("another key, also thirty-two characters")}
	forged := other.l.token(invitation{record: "8", nonce: "x", exp: w.now.Add(time.Hour)})
	flip := func(s string) string {
		b := []byte(s)
		b[len(b)/2] ^= 1
		return string(b)
	}
	tests := []struct {
		name, token string
		later       time.Duration
		reason      string
	}{
		{"signed with another key", forged, 0, auth.ReasonInviteInvalid},
		{"payload altered", flip(payload) + "." + mac, 0, auth.ReasonInviteInvalid},
		{"signature altered", payload + "." + flip(mac), 0, auth.ReasonInviteInvalid},
		{"no signature", payload, 0, auth.ReasonInviteInvalid},
		{"empty", "", 0, auth.ReasonInviteInvalid},
		{"expired", token, time.Hour, auth.ReasonInviteExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.now = time.Now().Add(tt.later)
			defer func() { w.now = time.Now() }()
			var fe *auth.ForbiddenError
			if err := w.l.Check(t.Context(), tt.token); !errors.As(err, &fe) || fe.Reason != tt.reason {
				t.Fatalf("Check: %v, want %q", err, tt.reason)
			}
			if err := w.l.Accept(t.Context(), tt.token, "u-mallory", ""); !errors.As(err, &fe) || fe.Reason != tt.reason {
				t.Fatalf("Accept: %v, want %q", err, tt.reason)
			}
		})
	}
	if got := text(w.one(t, "grace@cosmo.example")["sub"]); got != "" {
		t.Fatalf("a refused link bound the member to %q", got)
	}
	t.Run("replaced by a new invitation", func(t *testing.T) {
		w.set(t, "grace@cosmo.example", map[string]string{"invite": "send", "invite_nonce": ""})
		newer := w.inviteToken(t, "grace@cosmo.example")
		var fe *auth.ForbiddenError
		if err := w.l.Accept(t.Context(), token, "u-grace", ""); !errors.As(err, &fe) || fe.Reason != auth.ReasonInviteUsed {
			t.Fatalf("the old link: %v, want %q", err, auth.ReasonInviteUsed)
		}
		if err := w.l.Accept(t.Context(), newer, "u-grace", ""); err != nil {
			t.Fatalf("the new link: %v", err)
		}
	})
	t.Run("a rotated key still opens the links it signed", func(t *testing.T) {
		w.set(t, "grace@cosmo.example", map[string]string{"invite": "send", "invite_nonce": ""})
		old := w.inviteToken(t, "grace@cosmo.example")
		w.l.keys = append([][]byte{[]byte("the next key, thirty-two characters long")}, w.l.keys...)
		if err := w.l.Check(t.Context(), old); err != nil {
			t.Fatalf("a link signed with the previous key: %v", err)
		}
		w.l.keys = w.l.keys[:1]
		var fe *auth.ForbiddenError
		if err := w.l.Check(t.Context(), old); !errors.As(err, &fe) || fe.Reason != auth.ReasonInviteInvalid {
			t.Fatalf("a link of a dropped key: %v, want invalid", err)
		}
	})
}
