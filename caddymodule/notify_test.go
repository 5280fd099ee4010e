package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/kgate/kgate/internal/kintonesim"
	"github.com/kgate/kgate/internal/mail/mailcatch"
	"github.com/kgate/kgate/internal/notify"
)

func TestCaddyfileNotifyAdapts(t *testing.T) {
	caddytest.AssertAdapt(t, `
:8080 {
	kgate {
		kintone https://example.cybozu.com
		policy ./policies
		identity testing
		members members {
			field lang language
			field notify_off no_mail
			field digest digest
		}
		notify {
			secret {env.KGATE_WEBHOOK_SECRET}
			portal_url https://partners.example.com
			apps budget documents
			rate 5
			digest_every 30m
		}
	}
}
`, "caddyfile", `{
	"apps": {
		"http": {
			"servers": {
				"srv0": {
					"listen": [
						":8080"
					],
					"routes": [
						{
							"handle": [
								{
									"handler": "kgate",
									"identity": {
										"source": "testing"
									},
									"kintone": {
										"url": "https://example.cybozu.com"
									},
									"members": {
										"app": "members",
										"fields": {
											"digest": "digest",
											"lang": "language",
											"notify_off": "no_mail"
										}
									},
									"notify": {
										"apps": [
											"budget",
											"documents"
										],
										"digest_every": 1800000000000,
										"portal_url": "https://partners.example.com",
										"rate": 5,
										"secret": "{env.KGATE_WEBHOOK_SECRET}"
									},
									"policy": {
										"dir": "./policies"
									}
								}
							]
						}
					]
				}
			}
		}
	}
}`)
}

// The whole path, with nothing faked: staff edit an Acme budget request in
// kintone (the simulator), its webhook reaches kgate, and the SMTP server
// (an in-process catcher) receives one mail for each active member the
// shipped policies let read it — Acme's partners and the staff — in their
// language, linking to the record, without the internal note for partners
// and with the approved amount hidden from silver ones.
func TestAnEditInKintoneMailsTheMembersWhoMayReadItOverSMTP(t *testing.T) {
	c, err := mailcatch.Start(mailcatch.Options{TLS: mailcatch.NoTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const secret = "e2e-webhook-secret-0123456789abcdef"
	t.Setenv("KGATE_TEST_WEBHOOK_SECRET", secret)
	langs := map[string]string{"alice@acme.example": "en", "bob@acme.example": "ja", "sam@operator.example": "en"}
	s := startE2E(t, startDevIDP, e2eOptions{
		members: "field lang language",
		kgate: `mail ` + c.Addr + ` {
				from "Partner Portal <portal@operator.example>"
				starttls none
				queue_dir ` + t.TempDir() + `
			}
			notify {
				secret {env.KGATE_TEST_WEBHOOK_SECRET}
			}`,
		seed: func(seed *kintonesim.Seed) {
			for i := range seed.Apps {
				a := &seed.Apps[i]
				if a.ID != 1 {
					continue
				}
				a.Fields = append(a.Fields, json.RawMessage(`{"type":"DROP_DOWN","code":"language","label":"Language","options":["ja","en"]}`))
				for _, r := range a.Records {
					var email struct{ Value string }
					json.Unmarshal(r["email"], &email)
					if l := langs[email.Value]; l != "" {
						r["language"] = json.RawMessage(`{"value":"` + l + `"}`)
					}
				}
			}
		},
	})
	// Unload kgate before the queue's directory goes: its outbox and
	// digest loop stop at Cleanup.
	t.Cleanup(func() {
		caddy.Load([]byte(fmt.Sprintf(`{"admin":{"listen":"localhost:%d"}}`, adminPort)), true)
	})
	s.sim.SetWebhook(2, s.base+webhookPrefix+secret)
	// A forged webhook first: refused, and nothing is sent for it (the
	// mails counted below are exactly the edit's).
	body := `{"type":"UPDATE_RECORD","app":{"id":"2"},"record":{"$id":{"value":"3"}}}`
	resp, err := http.Post(s.base+webhookPrefix+"forged-secret-0123456789abcdef0123", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a forged webhook: %s", resp.Status)
	}
	if _, err := s.sim.EditRecord(2, 3, "", map[string]any{"purpose": map[string]any{"value": "Updated plan"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ // recipient → language; the members app's default is ja
		"alice@acme.example": "en", "bob@acme.example": "ja", "nora@acme.example": "ja",
		"sam@operator.example": "en", "lena@operator.example": "ja",
	}
	mails, err := c.Wait(len(want), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var to []string
	for _, m := range mails {
		to = append(to, m.To...)
		lang, ok := want[m.To[0]]
		if !ok || m.Err != "" {
			t.Errorf("a mail to %v (%s)", m.To, m.Err)
			continue
		}
		staff := strings.HasSuffix(m.To[0], "@operator.example")
		text := m.Subject + "\n" + m.Text
		if got := m.Header.Get("Content-Language"); got != lang {
			t.Errorf("%s: Content-Language %q, want %q", m.To[0], got, lang)
		}
		for _, s := range []string{s.base + "/apps/budget/records/3", "Updated plan", "kintone training for sales"} {
			if !strings.Contains(text, s) {
				t.Errorf("%s: the mail lacks %q:\n%s", m.To[0], s, text)
			}
		}
		if note := "Approved within the quarterly budget"; strings.Contains(text, note) != staff {
			t.Errorf("%s: internal note shown %v, want %v:\n%s", m.To[0], !staff, staff, text)
		}
		if m.To[0] == "bob@acme.example" && (strings.Contains(text, "135000") || strings.Contains(text, "135,000")) {
			t.Errorf("bob sees the approved amount:\n%s", text)
		}
	}
	slices.Sort(to)
	var wantTo []string
	for k := range want {
		wantTo = append(wantTo, k)
	}
	slices.Sort(wantTo)
	if !slices.Equal(to, wantTo) {
		t.Fatalf("mailed %v, want %v", to, wantTo)
	}
}

func TestCaddyfileNotifyErrorsSayWhatIsMissing(t *testing.T) {
	tests := []struct{ block, want string }{
		{"notify", "notify needs a secret"},
		{"notify {\n secret\n}", "secret needs a value"},
		{"notify {\n secret s\n apps\n}", "apps needs at least one app alias"},
		{"notify {\n secret s\n rate 0\n}", `rate "0"`},
		{"notify {\n secret s\n digest_every soon\n}", `digest_every "soon"`},
		{"notify {\n secret s\n events all\n}", `unknown notify setting "events"`},
	}
	for _, tt := range tests {
		t.Run(tt.block, func(t *testing.T) {
			cfg := ":8080 {\n\tkgate {\n\t\t" + tt.block + "\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// Notifications need somewhere to send e-mail: without a mail block the
// configuration is refused at load, saying so.
func TestNotifyWithoutMailIsRefused(t *testing.T) {
	h := &Handler{Notify: &Notify{Secret: strings.Repeat("s", 40)}}
	if err := h.startNotify(caddy.NewReplacer(), nil, nil); err == nil || !strings.Contains(err.Error(), "needs a mail block") {
		t.Fatalf("err %v", err)
	}
}

// The changes waiting for digests are kept where the mail queue is: in
// the Redis of session_store, else beside queue_dir.
func TestDigestsWaitWhereTheMailQueueIs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		oidc      *OIDC
		mail      *Mail
		wantDir   string
		wantRedis bool
	}{
		{"beside queue_dir", nil, &Mail{QueueDir: "/var/lib/kgate/mail"}, "/var/lib/kgate/mail-digests", false},
		{"beside the default queue", nil, &Mail{}, filepath.Join(caddy.AppDataDir(), "kgate", "mail-digests"), false},
		{"in Redis", &OIDC{SessionStore: "redis://127.0.0.1:1/0"}, &Mail{}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{OIDC: tt.oidc, Mail: tt.mail}
			var cfg notify.Config
			if err := h.digestStore(caddy.NewReplacer(), &cfg); err != nil {
				t.Fatal(err)
			}
			if h.redis != nil {
				defer h.redis.Close()
			}
			if cfg.DigestDir != tt.wantDir || (cfg.Redis != nil) != tt.wantRedis {
				t.Fatalf("digests in dir %q, Redis %v; want %q, %v", cfg.DigestDir, cfg.Redis != nil, tt.wantDir, tt.wantRedis)
			}
		})
	}
}
