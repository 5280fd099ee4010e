package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/mail/mailcatch"
)

// signUpOptions turn sign-up on, restricted to the domains of the demo's
// organizations app; member_recheck 1s lets a decision in kintone reach
// the login within a second.
var signUpOptions = e2eOptions{
	kgate:   "app orgs 11 {\n\t\t\t\ttoken demo-token-orgs\n\t\t\t}",
	members: "member_recheck 1s\n\t\t\t\tsignup {\n\t\t\t\t\torgs orgs\n\t\t\t\t}",
}

// enBrowser is a browser whose pages come in English (the language
// switch's cookie).
func (s *e2eSite) enBrowser() *browser {
	b := newBrowser(s.t)
	b.SetCookie(s.base, "kgate_lang", "en")
	return b
}

var formTokenRE = regexp.MustCompile(`name="_token" value="([^"]+)"`)

// signUpForm logs user in and expects the sign-up page; it returns the
// page's form token.
func (s *e2eSite) signUpForm(b *browser, user string) string {
	s.t.Helper()
	p := s.login(b, user, "/")
	m := formTokenRE.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || p.URL.Path != "/signup" || m == nil {
		s.t.Fatalf("%s after login: %d at %s, want the sign-up form: %.400s", user, p.Status, p.URL, p.Body)
	}
	return m[1]
}

// memberRecord returns the members app's record for email, or nil.
func (s *e2eSite) memberRecord(email string) map[string]string {
	s.t.Helper()
	q := url.Values{"app": {"1"}, "query": {fmt.Sprintf(`email = %q`, email)}}
	req, _ := http.NewRequest("GET", s.simURL+"/k/v1/records.json?"+q.Encode(), nil)
	req.Header.Set("X-Cybozu-API-Token", "demo-token-members")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Records []map[string]struct {
			Value any `json:"value"`
		} `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		s.t.Fatal(err)
	}
	if len(body.Records) > 1 {
		s.t.Fatalf("%d records for %s", len(body.Records), email)
	}
	if len(body.Records) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range body.Records[0] {
		out[k] = fmt.Sprint(v.Value)
	}
	return out
}

// untilLogin logs in as user until the page kgate shows is not the
// pending one (the members app's answer is cached up to member_recheck).
func (s *e2eSite) untilLogin(user string) (*browser, page) {
	s.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b := s.enBrowser()
		p := s.login(b, user, "/")
		if !strings.Contains(p.Body, "awaiting approval") || time.Now().After(deadline) {
			return b, p
		}
	}
}

// Henry (acme.example, which the organizations app lists for acme) is not
// in the members app: his login leads to the sign-up page, his
// application becomes one pending record with the ID token's address and
// subject, and the staff's decision in kintone decides his next login.
func TestE2ESignUpPendingThenTheStaffsDecision(t *testing.T) {
	tests := []struct {
		decision, level string
		want            func(t *testing.T, s *e2eSite, b *browser, p page)
	}{
		{"active", "silver", func(t *testing.T, s *e2eSite, b *browser, p page) {
			if p.Status != http.StatusOK {
				t.Fatalf("approved: %d %.300s", p.Status, p.Body)
			}
			s.checkBudget(s.budget(b), "acme", true) // acme's data, as a silver member sees it
		}},
		{"refused", "", func(t *testing.T, s *e2eSite, b *browser, p page) {
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Your application was not approved") {
				t.Fatalf("refused: %d %.600s", p.Status, p.Body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.decision, func(t *testing.T) {
			s := startE2E(t, startDevIDP, signUpOptions)
			b := s.enBrowser()
			token := s.signUpForm(b, "u-henry")
			form := url.Values{"_token": {token}, "name": {"Henry Ono"}, "org_name": {"Acme Trading"},
				"reason": {"We resell Acme's goods."}, "email": {"mallory@acme.example"}, "state": {"active"}}
			for range 2 { // sent twice, filed once
				p := b.PostForm(s.base+"/signup", form, "Origin", s.base)
				if p.Status != http.StatusOK || !strings.Contains(p.Body, "Your application is awaiting approval") {
					t.Fatalf("sign-up: %d %.400s", p.Status, p.Body)
				}
			}
			r := s.memberRecord("henry@acme.example")
			if r == nil || r["sub"] != "u-henry" || r["state"] != "pending" || r["org"] != "acme" || r["org_name"] != "Acme Trading" {
				t.Fatalf("the pending record: %v", r)
			}
			if m := s.memberRecord("mallory@acme.example"); m != nil {
				t.Fatalf("the form's e-mail was filed: %v", m)
			}
			if p := s.login(s.enBrowser(), "u-henry", "/"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "awaiting approval") {
				t.Fatalf("pending: %d %.300s", p.Status, p.Body)
			}
			if _, err := s.sim.EditRecord(1, s.memberRow("henry@acme.example"), "", map[string]any{
				"state": map[string]any{"value": tt.decision}, "level": map[string]any{"value": tt.level}}); err != nil {
				t.Fatal(err)
			}
			b, p := s.untilLogin("u-henry")
			tt.want(t, s, b, p)
		})
	}
}

// The sign-up page is only for the person a refused login sent there,
// only from kgate's own pages, with answers within their bounds; a
// domain no organization lists gets a clear page at once.
func TestE2ESignUpRefusesWhatItMustNot(t *testing.T) {
	s := startE2E(t, startDevIDP, signUpOptions)
	b := s.enBrowser()
	token := s.signUpForm(b, "u-henry")
	good := url.Values{"_token": {token}, "name": {"Henry"}, "org_name": {"Acme"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name       string
		b          *browser
		form       url.Values
		origin     string
		wantStatus int
		wantText   string
	}{
		{"no form token", b, with("_token", ""), s.base, http.StatusForbidden, ""},
		{"a token for another browser", s.enBrowser(), good, s.base, http.StatusForbidden, "timed out"},
		{"from another site", b, good, "https://evil.example", http.StatusForbidden, ""},
		{"a required answer missing", b, with("org_name", " "), s.base, http.StatusBadRequest, "Enter this."},
		{"an answer too long", b, with("name", strings.Repeat("あ", 101)), s.base, http.StatusBadRequest, "Use at most 100 characters."},
		{"a control character", b, with("name", "Hen\x00ry"), s.base, http.StatusBadRequest, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.b.PostForm(s.base+"/signup", tt.form, "Origin", tt.origin)
			if p.Status != tt.wantStatus || !strings.Contains(p.Body, tt.wantText) {
				t.Fatalf("%d, want %d with %q: %.500s", p.Status, tt.wantStatus, tt.wantText, p.Body)
			}
			if r := s.memberRecord("henry@acme.example"); r != nil {
				t.Fatalf("filed anyway: %v", r)
			}
		})
	}
	t.Run("a domain no organization lists", func(t *testing.T) {
		p := s.login(s.enBrowser(), "u-frank", "/")
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Sign-up is not open to your e-mail address") {
			t.Fatalf("frank: %d at %s %.400s", p.Status, p.URL, p.Body)
		}
	})
	t.Run("without sign-up, an unknown person is refused as before", func(t *testing.T) {
		s := startE2E(t, startDevIDP, e2eOptions{})
		p := s.login(s.enBrowser(), "u-henry", "/")
		if p.Status != http.StatusForbidden || p.URL.Path == "/signup" || !strings.Contains(p.Body, "not registered") {
			t.Fatalf("henry without sign-up: %d at %s %.400s", p.Status, p.URL, p.Body)
		}
	})
}

// With a mail block, the poller mails the staff's decisions and the
// invitations they asked for; the mails are read back from a real SMTP
// server. Grace (pending in the demo's members app; the staff set invite
// to "send") gets
// a link that lets her first login in, binds her account and then works
// no more.
func TestE2EDecisionsAndInvitationsAreMailedAndTheLinkWorksOnce(t *testing.T) {
	catcher, err := mailcatch.Start(mailcatch.Options{TLS: mailcatch.NoTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	o := signUpOptions
	o.kgate += fmt.Sprintf("\n\t\t\tmail %s {\n\t\t\t\tfrom portal@operator.example\n\t\t\t\tstarttls none\n\t\t\t\tqueue_dir %s\n\t\t\t}", catcher.Addr, t.TempDir())
	o.members = "member_recheck 1s\n\t\t\t\tfield lang lang\n\t\t\t\tpoll_interval 100ms\n\t\t\t\tsignup {\n\t\t\t\t\torgs orgs\n\t\t\t\t}\n\t\t\t\tinvite {\n\t\t\t\t\tkey an-invite-key-of-at-least-32-characters\n\t\t\t\t}"
	s := startE2E(t, startDevIDP, o)
	if _, err := s.sim.EditRecord(1, s.memberRow("grace@cosmo.example"), "", map[string]any{"invite": map[string]any{"value": "send"}}); err != nil {
		t.Fatal(err)
	}
	mailTo := func(to string) mailcatch.Mail {
		t.Helper()
		for n := 1; ; n++ {
			mails, err := catcher.Wait(n, 30*time.Second)
			if err != nil {
				t.Fatalf("no mail to %s: %v", to, err)
			}
			if m := mails[n-1]; m.To[0] == to {
				return m
			}
		}
	}

	invitation := mailTo("grace@cosmo.example")
	link := regexp.MustCompile(`https?://\S+/kgate/login\?invite=\S+`).FindString(invitation.Text)
	if invitation.Subject != "You are invited to the member site" || !strings.HasPrefix(link, s.base+"/") {
		t.Fatalf("the invitation: %q with link %q in %q", invitation.Subject, link, invitation.Text)
	}
	b := s.enBrowser()
	p := b.Chase(b.Get(link), nil)
	p = b.Chase(s.op.signIn(b, p, "u-grace"), nil)
	if p.Status != http.StatusOK || p.URL.Path != "/" {
		t.Fatalf("grace through the link: %d at %s %.400s", p.Status, p.URL, p.Body)
	}
	if r := s.memberRecord("grace@cosmo.example"); r["sub"] != "u-grace" || r["state"] != "active" || r["invite"] != "accepted" || r["invite_nonce"] != "" {
		t.Fatalf("grace's record after the link: %v", r)
	}
	for _, tt := range []struct{ name, link, want string }{
		{"used", link, "This invitation link has already been used"},
		{"altered", strings.Replace(link, "invite=", "invite=x", 1), "This invitation link is not valid"},
	} {
		b := s.enBrowser()
		p := b.Chase(b.Get(tt.link), nil)
		if tt.name == "used" {
			p = b.Chase(s.op.signIn(b, p, "u-frank"), nil)
		}
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, tt.want) {
			t.Fatalf("a link %s: %d %.400s", tt.name, p.Status, p.Body)
		}
	}
	if r := s.memberRecord("grace@cosmo.example"); r["sub"] != "u-grace" {
		t.Fatalf("the used link rebound grace to %q", r["sub"])
	}

	b = s.enBrowser()
	token := s.signUpForm(b, "u-henry")
	if p := b.PostForm(s.base+"/signup", url.Values{"_token": {token}, "name": {"Henry"}, "org_name": {"Acme"}}, "Origin", s.base); p.Status != http.StatusOK {
		t.Fatalf("sign-up: %d", p.Status)
	}
	if _, err := s.sim.EditRecord(1, s.memberRow("henry@acme.example"), "", map[string]any{
		"state": map[string]any{"value": "active"}, "level": map[string]any{"value": "silver"}}); err != nil {
		t.Fatal(err)
	}
	approval := mailTo("henry@acme.example")
	if approval.Subject != "Your membership is approved" || !strings.Contains(approval.Text, s.base+"/") || approval.From != "portal@operator.example" {
		t.Fatalf("the approval: from %q %q %q", approval.From, approval.Subject, approval.Text)
	}
	// The marker is written once the outbox has the mail, so just after.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := s.memberRecord("henry@acme.example")
		if r["notified"] == "active" && r["lang"] == "en" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("henry's record after the mail: %v", r)
		}
	}
	if n := len(catcher.Mails()); n != 2 {
		t.Errorf("%d mails, want the invitation and the approval", n)
	}
}
