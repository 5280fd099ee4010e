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

	"github.com/kgate/kgate/internal/auditsink"
	"github.com/kgate/kgate/internal/auth"
	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/mail/mailcatch"
)

// The member lifecycle writes to the handler's one audit logger: its
// events reach the audit app like every other, and those made while
// serving a request carry the request's id and address.
func TestE2ELifecycleEventsReachTheAuditLog(t *testing.T) {
	catcher, err := mailcatch.Start(mailcatch.Options{TLS: mailcatch.NoTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	var fields []json.RawMessage
	for _, f := range auditsink.Fields {
		fields = append(fields, json.RawMessage(`{"type":"`+f.Type+`","code":"`+f.Code+`","label":"`+f.Code+`"}`))
	}
	o := signUpOptions
	o.seed = func(s *kintonesim.Seed) {
		s.Apps = append(s.Apps, kintonesim.SeedApp{ID: 31, Name: "audit", Fields: fields,
			Tokens: []kintonesim.SeedToken{{Token: "tok-audit", Add: true}}})
	}
	o.kgate += fmt.Sprintf("\n\t\t\tmail %s {\n\t\t\t\tfrom portal@operator.example\n\t\t\t\tstarttls none\n\t\t\t\tqueue_dir %s\n\t\t\t}", catcher.Addr, t.TempDir()) +
		"\n\t\t\taudit_app 31 {\n\t\t\t\ttoken tok-audit\n\t\t\t\tflush_every 100ms\n\t\t\t}"
	o.members = "member_recheck 1s\n\t\t\t\tpoll_interval 100ms\n\t\t\t\tsignup {\n\t\t\t\t\torgs orgs\n\t\t\t\t}\n\t\t\t\tinvite {\n\t\t\t\t\tkey an-invite-key-of-at-least-32-characters\n\t\t\t\t}"
	s := startE2E(t, startDevIDP, o)
	if _, err := s.sim.EditRecord(1, s.memberRow("grace@cosmo.example"), "", map[string]any{"invite": map[string]any{"value": "send"}}); err != nil {
		t.Fatal(err)
	}
	mails, err := catcher.Wait(1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`https?://\S+/kgate/login\?invite=\S+`).FindString(mails[0].Text)
	b := s.enBrowser()
	if p := b.Chase(b.Get(strings.Replace(link, "invite=", "invite=x", 1)), nil); p.Status != http.StatusForbidden {
		t.Fatalf("an altered link: %d", p.Status)
	}
	b = s.enBrowser()
	token := s.signUpForm(b, "u-henry")
	if p := b.PostForm(s.base+"/signup", url.Values{"_token": {token}, "name": {"Henry"}, "org_name": {"Acme"}}, "Origin", s.base); p.Status != http.StatusOK {
		t.Fatalf("sign-up: %d", p.Status)
	}
	if p := s.login(s.enBrowser(), "u-frank", "/"); p.Status != http.StatusForbidden {
		t.Fatalf("frank's sign-up page: %d", p.Status)
	}

	want := map[string]map[string]string{
		"invite_sent":    {"email": "grace@cosmo.example", "org": "cosmo", "outcome": "ok"},
		"invite_refused": {"reasons": auth.ReasonInviteInvalid, "outcome": "denied"},
		"signup henry":   {"subject": "u-henry", "email": "henry@acme.example", "org": "acme", "outcome": "ok"},
		"signup frank":   {"subject": "u-frank", "email": "frank@unknown.example", "outcome": "denied", "reasons": auth.ReasonSignUpDomain},
	}
	got := map[string]map[string]string{}
	for deadline := time.Now().Add(30 * time.Second); len(got) < len(want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the audit app has %v, want %v", got, want)
		}
		recs, err := s.sim.Select(31, "", "")
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]map[string]string{}
		for _, r := range recs {
			e := map[string]string{}
			for code, f := range r {
				var v string
				if json.Unmarshal(f.Value, &v) == nil && v != "" {
					e[code] = v
				}
			}
			name := e["kind"]
			if name == "signup" {
				name += " " + strings.TrimPrefix(e["subject"], "u-")
			}
			if want[name] != nil {
				got[name] = e
			}
		}
	}
	for name, keys := range want {
		for k, v := range keys {
			if got[name][k] != v {
				t.Errorf("%s: %s = %q, want %q (%v)", name, k, got[name][k], v, got[name])
			}
		}
	}
	for _, name := range []string{"invite_refused", "signup henry", "signup frank"} {
		if got[name]["request_id"] == "" || got[name]["remote_ip"] == "" {
			t.Errorf("%s, made serving a request, lacks its id or address: %v", name, got[name])
		}
	}
}
