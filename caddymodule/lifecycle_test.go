package caddymodule

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/kgate/kgate/membersconfig"
)

func adaptMembers(t *testing.T, block string) (*Members, error) {
	t.Helper()
	var h Handler
	d := caddyfile.NewTestDispenser("kgate {\n members members {\n" + block + "\n }\n}")
	err := h.UnmarshalCaddyfile(d)
	return h.Members, err
}

func TestCaddyfileReadsSignUpAndInvitations(t *testing.T) {
	m, err := adaptMembers(t, `
		signup {
			orgs organizations org_code mail_domains
			question full_name 氏名 "Full name" required max 80
			question why 理由 Reason multiline
			notified_field told
		}
		invite {
			key {env.KGATE_INVITE_KEY} {env.KGATE_INVITE_KEY_OLD}
			ttl 72h
			field invitation
			nonce_field invitation_nonce
		}
		poll_interval 30s`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Members{App: "members",
		SignUp: &membersconfig.SignUp{
			Orgs: &membersconfig.Orgs{App: "organizations", Code: "org_code", Domains: "mail_domains"},
			Form: []membersconfig.FormField{
				{Field: "full_name", LabelJa: "氏名", LabelEn: "Full name", Required: true, MaxLength: 80},
				{Field: "why", LabelJa: "理由", LabelEn: "Reason", Multiline: true},
			},
			Notified: "told"},
		Invite:    &membersconfig.Invite{Keys: []string{"{env.KGATE_INVITE_KEY}", "{env.KGATE_INVITE_KEY_OLD}"}, Field: "invitation", Nonce: "invitation_nonce"},
		InviteTTL: caddy.Duration(72 * 3600e9), PollInterval: caddy.Duration(30e9)}
	if !reflect.DeepEqual(m, want) {
		g, _ := json.Marshal(m)
		w, _ := json.Marshal(want)
		t.Fatalf("adapted\n%s\nwant\n%s", g, w)
	}
	if m, err = adaptMembers(t, "signup {\n open\n }"); err != nil || !m.SignUp.Open || m.SignUp.Orgs != nil {
		t.Fatalf("open sign-up: %+v, %v", m.SignUp, err)
	}
}

func TestCaddyfileSignUpAndInviteErrors(t *testing.T) {
	tests := []struct{ name, block, want string }{
		{"sign-up neither restricted nor open", "signup {\n}", "never open by default"},
		{"a question without labels", "signup {\n open\n question why 理由\n }", "labels in Japanese and English"},
		{"a question too long", "signup {\n open\n question why 理由 Why max 20000\n }", "want 1 to 10000"},
		{"an unknown question option", "signup {\n open\n question why 理由 Why optional\n }", `unknown option "optional"`},
		{"an unknown sign-up setting", "signup {\n opne\n }", `unknown signup setting "opne"`},
		{"an invitation without a key", "invite {\n ttl 1h\n }", "invite needs `key <secret>`"},
		{"a bad invitation ttl", "invite {\n key k\n ttl soon\n }", `ttl "soon"`},
		{"a bad poll interval", "poll_interval often", `poll_interval "often"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := adaptMembers(t, tt.block); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// Adapted, the settings keep their JSON names.
	cfg := ":8080 {\n\troute {\n\t\tkgate {\n\t\t\tmembers members {\n\t\t\t\tsignup {\n\t\t\t\t\topen\n\t\t\t\t}\n\t\t\t}\n\t\t}\n\t}\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil || !strings.Contains(string(out), `"signup":{"open":true}`) {
		t.Fatalf("adapted: %s, %v", out, err)
	}
}
